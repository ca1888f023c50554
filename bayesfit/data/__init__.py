"""Example data shipped inside the package (CMS Open Data, CC0; see ``README.md`` here).

Use :func:`example_path` to locate a file, or :func:`bayesfit.core.io.read_masses` to load it.
"""

from importlib import resources
from pathlib import Path

EXAMPLES = {
    "upsilon": "cms_upsilon_2011A.csv",
    "zmumu": "cms_zmumu_2011A.csv",
    "zee": "cms_zee_2011A.csv",
    "4lepton": "cms_4lepton_2011_2012.csv",
}

CITATION = (
    "CMS Open Data (CC0), DoubleMu primary dataset, RunA 2011, "
    "DOI 10.7483/OPENDATA.CMS.RZ34.QR6N"
)


#: The citation of the Z→ee sample (``"zee"``).
CITATION_ZEE = (
    "CMS Open Data (CC0), DoubleElectron primary dataset, RunA 2011, "
    "as redistributed by opendata-education/en_Physics"
)


#: The citation of the four-lepton candidates (``"4lepton"``).
CITATION_4LEPTON = (
    "CMS Open Data (CC0), CERN Open Data record 5500: N. Jomhari, A. Geiser, A. A. Bin Anuar (2017), "
    "Higgs-to-four-lepton analysis example using 2011-2012 data, as redistributed by opendata-education/en_Physics"
)


def example_path(name: str) -> Path:
    """Return the path of a shipped example file.

    Parameters
    ----------
    name : str
        One of the keys of ``EXAMPLES`` (``"upsilon"``, ``"zmumu"``, ``"zee"``, ``"4lepton"``).

    Returns
    -------
    pathlib.Path
        Location of the CSV file inside the installed package.
    """
    try:
        filename = EXAMPLES[name]
    except KeyError:
        raise ValueError(
            f"unknown example {name!r}; choose one of {', '.join(EXAMPLES)}"
        ) from None
    return Path(str(resources.files(__name__).joinpath(filename)))
