"""Z boson line shape from real CMS di-muon data: RelBW ⊗ Gaussian + exponential.

In the window 60–120 GeV the di-muon mass density is

    p(m) = (1 − f_bkg) · (BW ⊗ G)(m)/∫(BW ⊗ G) + f_bkg · e^{slope·m}/∫e^{slope·m},

with BW the relativistic Breit–Wigner of mass M0 and width Γ and G a Gaussian resolution of
width σ_res (:mod:`bayesfit.distributions.relbw_gauss`, a 32-node Gauss–Hermite sum).

What the data can separate: M0 is sharp; Γ and σ_res both widen the peak and are strongly
anti-correlated, so each is known far less well than the peak width; only the Breit–Wigner's
power-law wings tell them apart. Compare with PDG: M_Z = 91.1876 GeV, Γ_Z = 2.4952 GeV.
"""

from __future__ import annotations

import bayesfit as bf
from bayesfit.data import CITATION, example_path

COMMAND = "zpeak"
HELP = "Z boson mass and width from CMS Z->mumu data: RelBW (x) Gaussian + exponential"

WINDOW = (60.0, 120.0)
NBINS = 60
PDG = {"M0": 91.1876, "Gamma": 2.4952}
UNIT = "GeV"


def zpeak(window=WINDOW, nbins=NBINS):
    """Return the Z line-shape model: RelBW ⊗ Gaussian + exponential, background fraction f_bkg.

    Parameters
    ----------
    window : (float, float)
        Fit window in GeV; must contain the Z peak.
    nbins : int
        Bins of the χ² and the plot.

    Returns
    -------
    bayesfit.WindowModel
    """
    lo, hi = map(float, window)
    if not lo < hi:
        raise bf.InputError(f"window: need finite lo < hi (got {lo:g}, {hi:g})")
    if not lo < PDG["M0"] < hi:
        raise bf.InputError(f"window [{lo:g}, {hi:g}] GeV does not contain the Z peak")
    m0 = bf.Parameter("M0", 91.0, 86.0, 96.0, unit=UNIT, label=r"$M_0$")
    gamma = bf.Parameter("Gamma", 2.5, 0.3, 8.0, unit=UNIT, label=r"$\Gamma$")
    sigma_res = bf.Parameter("sigma_res", 1.5, 0.1, 6.0, unit=UNIT, label=r"$\sigma_\mathrm{res}$")
    slope = bf.Parameter("slope", -0.03, -0.5, 0.5, unit=f"1/{UNIT}")
    f_bkg = bf.Parameter("f_bkg", 0.05, 0.001, 0.8, label=r"$f_\mathrm{bkg}$")
    return bf.WindowModel(
        (lo, hi), [bf.RelBWGauss(m0, gamma, sigma_res, label="RelBW ⊗ Gauss (Z)"),
                   bf.Exponential(slope, label="Exponential (background)")],
        fractions=[None, f_bkg], name="zpeak", x_label=r"$m(\mu^+\mu^-)$", unit=UNIT,
        title="Z → μμ line shape", nbins=nbins, min_events=100,
        meta={"pdg": PDG, "convolution": "Gauss-Hermite, 32 nodes"})


def default_data(model, *, seed=None):
    """Return ``(masses, meta)``: the CMS 2011 Z→μμ sample shipped with bayesfit."""
    from bayesfit.core.io import read_masses

    return read_masses(example_path("zmumu"))[0], {"source": "CMS 2011 open data",
                                                   "citation": CITATION}
