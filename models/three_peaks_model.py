"""Three peaks with one resolution that scales with the mass: the Υ(1S, 2S, 3S) family.

The di-muon mass resolution of a tracker grows in proportion to the mass, so the three Υ
peaks share one *relative* resolution: with σ the width of the Υ(1S) peak at mass m₁, the
Υ(2S) and Υ(3S) peaks at m₂ and m₃ have widths

    σ₂ = σ · m₂/m₁,   σ₃ = σ · m₃/m₁,

derived parameters (:class:`bayesfit.Derived`): arithmetic on the fitted σ, m₁, m₂, m₃, the same
expression in the MLE's numpy reference and the PyMC graph. They are reported beside the fit
parameters with their propagated errors and posteriors. The background is an exponential; the
three signal fractions are free, the background takes the rest.

The data are simulated (the CMS Υ(2S, 3S) samples are not available here) from the model at
:data:`TRUTH`, with the masses of the PDG.
"""

from __future__ import annotations

import bayesfit as bf

COMMAND = "three-peaks"
HELP = "three Gaussian peaks (Upsilon 1S, 2S, 3S) sharing one mass-scaled width: derived parameters"

WINDOW = (8.5, 11.5)
NBINS = 120
EVENTS = 20_000
UNIT = "GeV"
#: PDG masses of the Υ(1S), Υ(2S), Υ(3S) in GeV.
PDG_MASSES = (9.4603, 10.0233, 10.3552)
#: Values the default data are simulated at.
TRUTH = {"m1": PDG_MASSES[0], "m2": PDG_MASSES[1], "m3": PDG_MASSES[2], "sigma": 0.075,
         "slope": -0.8, "f1": 0.25, "f2": 0.09, "f3": 0.06}


def three_peaks(window=WINDOW, nbins=NBINS):
    """Return the three-peak model: Gaussian peaks of widths σ·m_k/m₁ on an exponential.

    Parameters
    ----------
    window : (float, float)
        Fit window in GeV; must contain the three peaks.
    nbins : int
        Bins of the χ² and the plot.

    Returns
    -------
    bayesfit.WindowModel
    """
    lo, hi = map(float, window)
    if not (lo < PDG_MASSES[0] - 0.3 and PDG_MASSES[2] + 0.3 < hi):
        raise bf.InputError(f"window [{lo:g}, {hi:g}] GeV must contain the three peaks (9.16–10.66 GeV)")
    m1 = bf.Parameter("m1", 9.45, 9.3, 9.6, unit=UNIT, label=r"$m_{1S}$")
    m2 = bf.Parameter("m2", 10.02, 9.9, 10.15, unit=UNIT, label=r"$m_{2S}$")
    m3 = bf.Parameter("m3", 10.35, 10.25, 10.45, unit=UNIT, label=r"$m_{3S}$")
    sigma = bf.Parameter("sigma", 0.08, 0.02, 0.2, unit=UNIT, label=r"$\sigma_{1S}$")
    sigma_2s = (sigma * m2 / m1).named("sigma_2s", unit=UNIT, label=r"$\sigma_{2S}$")
    sigma_3s = (sigma * m3 / m1).named("sigma_3s", unit=UNIT, label=r"$\sigma_{3S}$")
    fractions = [bf.Parameter(f"f{k}", start, 0.001, 0.7) for k, start in ((1, 0.2), (2, 0.08), (3, 0.05))]
    return bf.WindowModel(
        (lo, hi), [bf.Gaussian(m1, sigma, label="Υ(1S)"), bf.Gaussian(m2, sigma_2s, label="Υ(2S)"),
                   bf.Gaussian(m3, sigma_3s, label="Υ(3S)"),
                   bf.Exponential(bf.Parameter("slope", -0.5, -5.0, 5.0, unit=f"1/{UNIT}"), label="Exponential")],
        fractions=fractions, name="three_peaks", x_label=r"$m(\mu^+\mu^-)$", unit=UNIT,
        title="Υ(1S, 2S, 3S): one mass-scaled resolution", nbins=nbins, min_events=200,
        meta={"pdg_masses": dict(zip(("m1", "m2", "m3"), PDG_MASSES))})


def default_data(model, *, events=EVENTS, seed=None):
    """Return ``(masses, meta)``: ``events`` simulated at :data:`TRUTH`."""
    if events < 200:
        raise bf.InputError(f"--events: need at least 200 events (got {events})")
    truth = [TRUTH[name] for name in model.names]
    return (model.simulate(truth, events, seed),
            {"source": f"simulated, {events:,} events, seed {seed}", "truth": dict(zip(model.names, truth))})
