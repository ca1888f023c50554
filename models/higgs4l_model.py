"""The Higgs boson in four leptons: CMS 2011–2012 open data, three channels and two years.

A simultaneous fit of six categories (4μ, 4e, 2e2μ in 2011 and in 2012) of the four-lepton mass
in 105–165 GeV, where about a dozen of the 40 candidates sit near 125 GeV. Each category holds

- the Higgs signal, a Gaussian at the shared mass ``m_H`` with the channel's resolution, a
  fixed fraction of the mass (:data:`RESOLUTION`: 4μ 1.3 %, 2e2μ 1.6 %, 4e 2.0 %, within the
  1–2 % CMS quotes for the channel; an assumption of this example, not a measurement);
- the ZZ continuum, flat in the window, with the category's own yield.

The signal yields share one parameter of interest, ``n_H``, the Higgs events of all six
categories together: category k has n_H · w_k, with w_k the category's share of the four-lepton
events above 180 GeV (on-shell ZZ → 4ℓ: the same final state, acceptance and luminosity, outside
the fit window; :data:`SHARES`). That the Higgs's shares equal the ZZ continuum's is this
example's second assumption: it ignores the softer leptons of a 125 GeV decay.

:func:`higgs4l` fits ``m_H`` free (``python -m bayesfit higgs4l``); :func:`model_at` fixes it, the
model of a search at one mass (``significance``, ``limit`` and ``scan`` with ``--mass``).
Source: CERN Open Data record 5500 (Jomhari, Geiser, Bin Anuar 2017), CC0; see
:data:`bayesfit.data.CITATION_4LEPTON`.
"""

from __future__ import annotations

import numpy as np

import bayesfit as bf
from bayesfit.data import CITATION_4LEPTON, example_path

COMMAND = "higgs4l"
HELP = "the Higgs boson in four leptons: CMS 2011-2012, six categories, one mass and one signal yield"

WINDOW = (105.0, 165.0)
NBINS = 25
UNIT = "GeV"
CHANNELS = ("4mu", "4e", "2e2mu")
YEARS = (2011, 2012)
#: The four-lepton mass resolution σ/m assumed for each channel.
RESOLUTION = {"4mu": 0.013, "4e": 0.020, "2e2mu": 0.016}
#: The mass above which the four-lepton events (on-shell ZZ) give each category's share.
CONTROL_MASS = 180.0


def _category(channel, year):
    return f"c{channel}_{year}"


def read_candidates(path=None):
    """Return the four-lepton masses by category, ``{"c4mu_2011": masses, ...}`` (all masses, GeV).

    Parameters
    ----------
    path : str or path-like, optional
        A CSV with columns ``channel, year, M``; the shipped CMS sample by default.

    Returns
    -------
    dict
    """
    import csv

    path = example_path("4lepton") if path is None else path
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = {_category(c, y): [] for c in CHANNELS for y in YEARS}
    for r in rows:
        out[_category(r["channel"], int(r["year"]))].append(float(r["M"]))
    return {k: np.array(v) for k, v in out.items()}


def shares(masses=None):
    """Return each category's share of the events above :data:`CONTROL_MASS`: the signal's split.

    Parameters
    ----------
    masses : dict, optional
        :func:`read_candidates`'s output (the shipped sample by default).

    Returns
    -------
    dict
    """
    masses = read_candidates() if masses is None else masses
    counts = {k: float(np.sum(m > CONTROL_MASS)) for k, m in masses.items()}
    total = sum(counts.values())
    return {k: c / total for k, c in counts.items()}


def _models(mass, share, window, nbins):
    lo, hi = map(float, window)
    n_h = bf.Parameter("n_H", 10.0, 0.0, 60.0, unit="events", label=r"$n_H$", boundary="lower")
    free_mass = isinstance(mass, bf.Parameter)
    sigmas = {c: (mass * RESOLUTION[c]).named(f"sigma_{c}", unit=UNIT, label=rf"$\sigma_{{{c}}}$") if free_mass
              else mass * RESOLUTION[c] for c in CHANNELS}
    categories = {}
    for channel in CHANNELS:
        for year in YEARS:
            key = _category(channel, year)
            sigma = sigmas[channel]
            background = bf.Parameter(f"b_{key[1:]}", 3.0, 0.0, 60.0, unit="events", label=rf"$b_{{{channel},{year}}}$")
            categories[key] = bf.WindowModel(
                (lo, hi), [bf.Gaussian(mass, sigma, label="Higgs (Gaussian)"), bf.Uniform(label="ZZ continuum (flat)")],
                yields=[n_h * share[key], background], name=f"higgs4l_{key}", x_label=r"$m_{4\ell}$", unit=UNIT,
                title=f"{channel}, {year}", nbins=nbins)
    return categories


def higgs4l(window=WINDOW, nbins=NBINS):
    """Return the Higgs model with its mass free: six categories, one m_H and one n_H.

    Parameters
    ----------
    window : (float, float)
        Fit window in GeV (must contain 125 GeV).
    nbins : int
        Bins of each category's χ² and plot.

    Returns
    -------
    bayesfit.Simultaneous
    """
    lo, hi = map(float, window)
    if not lo < 125.0 < hi:
        raise bf.InputError(f"window [{lo:g}, {hi:g}] GeV does not contain 125 GeV")
    m_h = bf.Parameter("m_H", 125.0, max(lo, 115.0), min(hi, 135.0), unit=UNIT, label=r"$m_H$")
    return bf.Simultaneous(_models(m_h, shares(), window, nbins), name="higgs4l", title="H → ZZ → 4ℓ",
                           meta={"shares": shares(), "resolution": RESOLUTION, "citation": CITATION_4LEPTON})


def model_at(mass, window=WINDOW, nbins=NBINS):
    """Return the Higgs model with its mass fixed at ``mass`` (GeV): the model of a search there.

    Parameters
    ----------
    mass : float
        The signal mass, inside the window.
    window : (float, float)
    nbins : int

    Returns
    -------
    bayesfit.Simultaneous
    """
    lo, hi = map(float, window)
    if not lo < mass < hi:
        raise bf.InputError(f"mass {mass:g} GeV outside the window [{lo:g}, {hi:g}]")
    return bf.Simultaneous(_models(float(mass), shares(), window, nbins), name=f"higgs4l_at_{mass:g}",
                           title=f"H → ZZ → 4ℓ, m_H = {mass:g} GeV", meta={"m_H": float(mass)})


def default_data(model, *, seed=None):
    """Return ``({category: masses}, meta)``: the CMS 2011–2012 candidates in the window."""
    lo, hi = next(iter(model.categories.values())).lo, next(iter(model.categories.values())).hi
    data = {k: m[(m > lo) & (m < hi)] for k, m in read_candidates().items()}
    return data, {"source": "CMS 2011-2012 open data, four-lepton candidates", "citation": CITATION_4LEPTON}
