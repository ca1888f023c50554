"""Weighted mean of uncorrelated Gaussian measurements (the lecture's resistances).

Three resistance measurements R = (0.5, 0.2, 0.3) Ω with σ = (0.25, 0.1, 0.1) Ω. Each
xᵢ ~ Normal(x̂, σᵢ), so

    −ln L(x̂) = Σ (xᵢ − x̂)²/(2σᵢ²) + const,    χ² = Σ (xᵢ − x̂)²/σᵢ² = 2(−ln L) + const,

with the closed form x̂ = ⟨x⟩/⟨1⟩ and σ(x̂) = 1/√⟨1⟩, where ⟨q⟩ = Σ qᵢ/σᵢ². (The lecture
writes the χ² with a factor ½: that expression is −ln L, not χ².) The prior on x̂ is flat over
20 σ_max beyond the data on each side, so the posterior is the likelihood.
"""

from __future__ import annotations

import numpy as np

import bayesfit as bf

COMMAND = "weighted-mean"
HELP = "weighted mean of measurements x ± σ (the lecture's resistance example)"

#: The lecture's measurements, in Ω.
R = np.array([0.5, 0.2, 0.3])
SIGMA = np.array([0.25, 0.1, 0.1])


def closed_form(x, sigma):
    """Return the weighted mean, its error and the χ² (the lecture's formulas).

    Parameters
    ----------
    x, sigma : array_like
        Measurements and their uncertainties.

    Returns
    -------
    mean, error, chi2 : float
    """
    w = 1.0 / np.asarray(sigma) ** 2
    mean = np.sum(w * x) / np.sum(w)
    return mean, 1.0 / np.sqrt(np.sum(w)), float(np.sum(w * (x - mean) ** 2))


def _guess(data):
    x, sigma = data["x"], data["sigma"]
    pad = 20 * sigma.max()
    return {"mean": (float(np.median(x)), x.min() - pad, x.max() + pad)}


def weighted_mean(unit="Ω"):
    """Return the weighted-mean model: measurements x ± σ of one constant.

    Parameters
    ----------
    unit : str
        Unit of the measurements, for labels.

    Returns
    -------
    bayesfit.LeastSquares
        Data columns ``x`` and ``sigma``.
    """
    mean = bf.Parameter("mean", 0.0, -1.0, 1.0, unit=unit, label=r"$\hat{x}$", limit=False)
    return bf.LeastSquares(lambda mean: mean, [mean], x=None, y="x", yerr="sigma", name="weighted_mean",
                           y_label="value", unit=unit, title="Weighted mean", guess=_guess)


def default_data(model, *, seed=None):
    """Return ``(columns, meta)``: the lecture's three resistances."""
    return {"x": R, "sigma": SIGMA}, {"source": "lecture"}
