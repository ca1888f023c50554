"""Straight-line calibration x = a·v + b (the lecture's voltmeter).

Reference voltages v = (0, 1, 2, 5) V are read as x = (0.09, 1.05, 1.72, 4.15) V, each with
σ = 0.1 V. With xᵢ ~ Normal(a·vᵢ + b, σᵢ),

    χ²(a, b) = Σ (xᵢ − a·vᵢ − b)²/σᵢ² = 2(−ln L) + const,

quadratic in (a, b): the MLE, its covariance C and the Laplace approximation are exact. The
error band of the line is σ²(x(v)) = T(v) C Tᵀ(v) with the transport matrix T(v) = (v, 1). With
``shift=True`` the model is x = a·(v − v0) + b with v0 = ⟨v⟩/⟨1⟩ (⟨q⟩ = Σ qᵢ/σᵢ²), which makes
a and b uncorrelated. Priors are flat over ±50 standard errors of the least-squares solution,
so the posterior is the likelihood.
"""

from __future__ import annotations

import numpy as np

import bayesfit as bf

COMMAND = "line"
HELP = "straight-line fit x = a·v + b with errors σ (the lecture's voltmeter calibration)"

#: The lecture's calibration data, in V.
V = np.array([0.0, 1.0, 2.0, 5.0])
X = np.array([0.09, 1.05, 1.72, 4.15])
SIGMA = np.full(4, 0.1)


def closed_form(v, x, sigma, v0=0.0):
    """Return the weighted least-squares line and its covariance (normal equations).

    Parameters
    ----------
    v, x, sigma : array_like
        Abscissae, measurements, uncertainties.
    v0 : float
        Pivot: the model is x = a·(v − v0) + b.

    Returns
    -------
    params : numpy.ndarray
        (a, b).
    cov : numpy.ndarray
        2×2 covariance.
    chi2 : float
    """
    T = np.column_stack([np.asarray(v) - v0, np.ones_like(v)])
    w = 1.0 / np.asarray(sigma) ** 2
    cov = np.linalg.inv(T.T @ (w[:, None] * T))
    params = cov @ (T.T @ (w * x))
    chi2 = float(np.sum(w * (x - T @ params) ** 2))
    return params, cov, chi2


def band(v, cov, v0=0.0):
    """Return σ(x(v)) = √(T(v) C Tᵀ(v)) with the transport matrix T(v) = (v − v0, 1).

    Parameters
    ----------
    v : array_like
    cov : array_like
        2×2 covariance of (a, b).
    v0 : float

    Returns
    -------
    numpy.ndarray
    """
    T = np.column_stack([np.asarray(v, dtype=float) - v0, np.ones(np.size(v))])
    return np.sqrt(np.einsum("ij,jk,ik->i", T, cov, T))


def pivot(v, sigma):
    """Return v0 = ⟨v⟩/⟨1⟩, the pivot that decorrelates a and b."""
    w = 1.0 / np.asarray(sigma) ** 2
    return float(np.sum(w * v) / np.sum(w))


def line_fit(shift=False, unit="V"):
    """Return the straight-line model x = a·(v − v0) + b.

    Parameters
    ----------
    shift : bool
        Fit about the pivot v0 = ⟨v⟩/⟨1⟩ of the data, which decorrelates a and b (v0 = 0
        otherwise); v0 is recorded in ``result.json``'s ``meta``.
    unit : str
        Unit of v and x, for labels.

    Returns
    -------
    bayesfit.LeastSquares
        Data columns ``v``, ``x``, ``sigma``.
    """

    def guess(data):
        v, x, sigma = data["v"], data["x"], data["sigma"]
        if np.ptp(v) == 0:
            raise bf.InputError("all v values are equal; a line needs at least two distinct v")
        v0 = pivot(v, sigma) if shift else 0.0
        ls, cov, _ = closed_form(v, x, sigma, v0)
        err = np.sqrt(np.diag(cov))
        # Start away from the answer: the line through the outermost points.
        i, j = np.argmin(v), np.argmax(v)
        a0 = (x[j] - x[i]) / (v[j] - v[i])
        b0 = x[i] - a0 * (v[i] - v0)
        lo, hi = ls - 50 * err, ls + 50 * err
        a0, b0 = np.clip([a0, b0], lo + err, hi - err)
        return {"a": (a0, lo[0], hi[0]), "b": (b0, lo[1], hi[1]), "constants": {"v0": v0}}

    a = bf.Parameter("a", 1.0, -1e3, 1e3, label="$a$", limit=False)
    b = bf.Parameter("b", 0.0, -1e3, 1e3, label="$b'$" if shift else "$b$", unit=unit, limit=False)
    return bf.LeastSquares(lambda v, a, b, v0=0.0: a * (v - v0) + b, [a, b], x="v", y="x", yerr="sigma",
                           name="line_fit", x_label="reference v", y_label="measured x", unit=unit,
                           title="Straight-line calibration", guess=guess,
                           meta={"model": "x = a*(v - v0) + b"})


def default_data(model, *, seed=None):
    """Return ``(columns, meta)``: the lecture's calibration points."""
    return {"v": V, "x": X, "sigma": SIGMA}, {"source": "lecture"}
