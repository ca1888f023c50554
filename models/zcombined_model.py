"""The Z boson in two decay channels at once: CMS 2011 Z→μμ and Z→ee, one mass and one width.

A simultaneous fit of three categories, each a relativistic Breit–Wigner ⊗ Gaussian on an
exponential background in 60–120 GeV (the line shape of :mod:`zpeak_model`):

- ``mumu``: the Z→μμ sample of ``zpeak``;
- ``ee_barrel``: Z→ee with both electrons in the barrel calorimeter (EB);
- ``ee_endcap``: Z→ee with at least one electron in an endcap (EE).

The Z mass M0 and width Γ are shared by all three (one bf.Parameter object each); the
detector resolution, background slope and background fraction are each category's own. The
electrons' masses come from their transverse momenta, pseudorapidities and azimuths
(:func:`dielectron_masses`); same-charge pairs are left out.

What to expect: the three categories pull M0 and Γ together, and the table says how well.
Neither channel's resolution is exactly Gaussian (final-state radiation and, for electrons,
bremsstrahlung give a low-mass tail), so Γ comes out above the world average in both the
μμ-only and the combined fit; the per-category χ² shows where the line shape fits worst.
Compare with PDG: M_Z = 91.1876 ± 0.0021 GeV, Γ_Z = 2.4955 ± 0.0023 GeV.
"""

from __future__ import annotations

import numpy as np

import bayesfit as bf
from bayesfit.data import CITATION, CITATION_ZEE, example_path

COMMAND = "zcombined"
HELP = "Z mass and width from CMS Z->mumu and Z->ee together: a simultaneous fit of three categories"

WINDOW = (60.0, 120.0)
NBINS = 60
PDG = {"M0": 91.1876, "Gamma": 2.4955}
PDG_ERRORS = {"M0": 0.0021, "Gamma": 0.0023}
UNIT = "GeV"
CATEGORIES = ("mumu", "ee_barrel", "ee_endcap")
TITLES = {"mumu": "Z → μμ", "ee_barrel": "Z → ee, both electrons in the barrel",
          "ee_endcap": "Z → ee, an electron in an endcap"}
LABELS = {"mumu": r"$m(\mu^+\mu^-)$", "ee_barrel": r"$m(e^+e^-)$", "ee_endcap": r"$m(e^+e^-)$"}
#: Subscripts of each category's parameters in plot labels.
SUBSCRIPTS = {"mumu": r"\mu\mu", "ee_barrel": r"ee,\,\mathrm{EB}", "ee_endcap": r"ee,\,\mathrm{EE}"}


def dielectron_masses(path=None):
    """Return the Z→ee masses by category from the shipped CSV (or a file with its columns).

    M² = 2 pt₁ pt₂ (cosh(η₁ − η₂) − cos(φ₁ − φ₂)), the invariant mass of two massless electrons;
    opposite-charge pairs only.

    Parameters
    ----------
    path : str or path-like, optional
        A CSV with columns ``pt1, eta1, phi1, Q1, type1, pt2, eta2, phi2, Q2, type2``; the
        shipped CMS 2011 sample by default.

    Returns
    -------
    dict
        ``{"ee_barrel": masses, "ee_endcap": masses}`` in GeV.
    """
    import csv

    path = example_path("zee") if path is None else path
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise bf.InputError(f"{path}: no electron pairs")
    column = lambda name: np.array([float(r[name]) for r in rows])  # noqa: E731
    pt1, eta1, phi1, pt2, eta2, phi2 = (column(n) for n in ("pt1", "eta1", "phi1", "pt2", "eta2", "phi2"))
    mass = np.sqrt(2 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2)))
    opposite = column("Q1") * column("Q2") < 0
    barrel = np.array([r["type1"] == "EB" and r["type2"] == "EB" for r in rows])
    return {"ee_barrel": mass[opposite & barrel], "ee_endcap": mass[opposite & ~barrel]}


def zcombined(window=WINDOW, nbins=NBINS):
    """Return the simultaneous Z model: shared M0 and Γ, per-category resolution and background.

    Parameters
    ----------
    window : (float, float)
        Fit window in GeV of every category; must contain the Z peak.
    nbins : int
        Bins of each category's χ² and plot.

    Returns
    -------
    bayesfit.Simultaneous
    """
    lo, hi = map(float, window)
    if not lo < PDG["M0"] < hi:
        raise bf.InputError(f"window [{lo:g}, {hi:g}] GeV does not contain the Z peak")
    m0 = bf.Parameter("M0", 91.0, 86.0, 96.0, unit=UNIT, label=r"$M_0$")
    gamma = bf.Parameter("Gamma", 2.5, 0.3, 8.0, unit=UNIT, label=r"$\Gamma$")
    categories = {}
    for key in CATEGORIES:
        sub = SUBSCRIPTS[key]
        sigma = bf.Parameter(f"sigma_{key}", 1.5, 0.1, 6.0, unit=UNIT, label=rf"$\sigma_{{{sub}}}$")
        slope = bf.Parameter(f"slope_{key}", -0.03, -0.5, 0.5, unit=f"1/{UNIT}", label=rf"$k_{{{sub}}}$")
        f_bkg = bf.Parameter(f"f_bkg_{key}", 0.1, 0.001, 0.8, label=rf"$f_{{\mathrm{{bkg}},\,{sub}}}$")
        categories[key] = bf.WindowModel(
            (lo, hi), [bf.RelBWGauss(m0, gamma, sigma, label="RelBW ⊗ Gauss (Z)"),
                       bf.Exponential(slope, label="Exponential (background)")],
            fractions=[None, f_bkg], name=f"zcombined_{key}", x_label=LABELS[key], unit=UNIT,
            title=TITLES[key], nbins=nbins, min_events=100)
    return bf.Simultaneous(categories, name="zcombined", title="Z → μμ and Z → ee",
                           meta={"pdg": PDG, "pdg_errors": PDG_ERRORS, "convolution": "Gauss-Hermite, 32 nodes"})


def default_data(model, *, seed=None):
    """Return ``({category: masses}, meta)``: the shipped CMS 2011 Z→μμ and Z→ee samples."""
    from bayesfit.core.io import read_masses

    data = {"mumu": read_masses(example_path("zmumu"))[0], **dielectron_masses()}
    return data, {"source": "CMS 2011 open data, Z→μμ and Z→ee", "citation": f"{CITATION}; {CITATION_ZEE}"}
