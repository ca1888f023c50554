"""Chebyshev polynomial background of any order, normalised on the window.

With u = 2(x − lo)/(hi − lo) − 1 ∈ [−1, 1] and coefficients c_1 … c_K,

    P(u) = 1 + Σ_k c_k T_k(u),     f(x) = P(u) / (½(hi − lo) · I),   I = ∫_{−1}^{1} P du,

where ∫T_k = 2/(1 − k²) for even k and 0 for odd k. The constant term is fixed to 1 (the
overall level is the fraction's or yield's job), as in RooChebychev and zfit's
``Chebyshev``. The cdf is the antiderivative G(u) = ∫_{−1}^{u} P, from
∫T_k = ½(T_{k+1}/(k+1) − T_{k−1}/(k−1)) (k ≥ 2), ∫T_1 = u²/2, ∫T_0 = u.

**Positivity.** A polynomial can dip below zero inside the window. The density is checked on
257 points spread over the window (every data point too): where it is not positive the log
density is −∞, so MIGRAD, the MAP search and NUTS step back. The maximum-likelihood
reference uses ``numpy.polynomial.chebyshev`` (``chebval``, ``chebint``).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from numpy.polynomial import chebyshev as npcheb

from bayesfit.distributions.base import Component

__all__ = ["Chebyshev", "logpdf", "logcdf", "log_bin_probabilities", "ref_logpdf",
           "ref_bin_probabilities"]

#: Where positivity is checked, in u ∈ [−1, 1].
CHECK_POINTS = np.cos(np.linspace(0, np.pi, 257))


def _u(x, lo, hi):
    return 2.0 * (x - lo) / (hi - lo) - 1.0


def _poly(u, coeffs):
    """Return P(u) = 1 + Σ c_k T_k(u) by the three-term recurrence (PyTensor)."""
    t_prev, t = pt.ones_like(u), u
    out = 1.0 + 0.0 * u
    for k, c in enumerate(coeffs, start=1):
        out = out + c * t
        t_prev, t = t, 2.0 * u * t - t_prev
    return out


def _antiderivative(u, coeffs):
    """Return G(u) = ∫_{−1}^{u} P (PyTensor)."""
    order = len(coeffs)
    ts = [pt.ones_like(u), u]
    for _ in range(order):
        ts.append(2.0 * u * ts[-1] - ts[-2])
    at_minus_one = lambda m: (-1.0) ** m
    out = u + 1.0
    for k, c in enumerate(coeffs, start=1):
        if k == 1:
            term = 0.5 * (u**2 - 1.0)
        else:
            term = 0.5 * (ts[k + 1] / (k + 1) - ts[k - 1] / (k - 1)) \
                - 0.5 * (at_minus_one(k + 1) / (k + 1) - at_minus_one(k - 1) / (k - 1))
        out = out + c * term
    return out


def _log_integral(coeffs):
    """Return log ∫_{−1}^{1} P du."""
    total = np.float64(2.0)  # not a Python float: PyTensor would make it a float32 constant
    for k, c in enumerate(coeffs, start=1):
        if k % 2 == 0:
            total = total + c * 2.0 / (1.0 - k * k)
    return pt.log(total)


def _positive(coeffs):
    return pt.all(_poly(pt.constant(CHECK_POINTS), coeffs) > 0)


def logpdf(x, *args):
    """Return the log density at ``x``, normalised on [lo, hi] (PyTensor graph).

    Parameters
    ----------
    x : tensor_like
    *args : tensor_like
        c_1 … c_K, then the window edges lo, hi.

    Returns
    -------
    TensorVariable
        −∞ everywhere if the polynomial is not positive on the window.
    """
    *coeffs, lo, hi = args
    p = _poly(_u(x, lo, hi), coeffs)
    ok = _positive(coeffs) & (p > 0)
    safe = pt.switch(ok, p, 1.0)  # dummy argument for the −∞ branch: no NaN gradients
    value = pt.log(safe) - _log_integral(coeffs) - np.log(0.5 * (hi - lo))
    return pt.switch(ok, value, -np.inf)


def logcdf(x, *args):
    """Return the log cdf at ``x`` within [lo, hi] (PyTensor graph)."""
    *coeffs, lo, hi = args
    u = pt.clip(_u(x, lo, hi), -1.0, 1.0)
    g = _antiderivative(u, coeffs)
    ok = _positive(coeffs) & (g > 0)
    return pt.switch(ok, pt.log(pt.switch(ok, g, 1.0)) - _log_integral(coeffs), -np.inf)


def log_bin_probabilities(edges, *args):
    """Return log P(bin) for bins ``edges`` of [lo, hi] (PyTensor, antiderivative differences)."""
    *coeffs, lo, hi = args
    g = _antiderivative(_u(edges, lo, hi), coeffs)
    diff = g[1:] - g[:-1]
    ok = _positive(coeffs) & (diff > 0)
    return pt.switch(ok, pt.log(pt.switch(ok, diff, 1.0)) - _log_integral(coeffs), -np.inf)


def _ref_series(coeffs):
    return np.concatenate([[1.0], np.asarray(coeffs, dtype=float)])


def ref_logpdf(x, *args):
    """Return the log density (numpy reference: ``numpy.polynomial.chebyshev``)."""
    *coeffs, lo, hi = args
    series = _ref_series(coeffs)
    integral = np.diff(npcheb.chebval([-1.0, 1.0], npcheb.chebint(series, lbnd=-1)))[0]
    if np.any(npcheb.chebval(CHECK_POINTS, series) <= 0):
        return np.full(np.shape(x), -np.inf)
    p = npcheb.chebval(_u(np.asarray(x, dtype=float), lo, hi), series)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), -np.inf) - np.log(0.5 * (hi - lo) * integral)


def ref_bin_probabilities(edges, *args):
    """Return P(bin) for bins ``edges`` (numpy reference)."""
    *coeffs, lo, hi = args
    anti = npcheb.chebint(_ref_series(coeffs), lbnd=-1)
    g = npcheb.chebval(_u(np.asarray(edges, dtype=float), lo, hi), anti)
    return np.diff(g) / npcheb.chebval(1.0, anti)


class Chebyshev(Component):
    """Chebyshev polynomial component ``Chebyshev([c1, c2, ...])`` of any order.

    Parameters
    ----------
    coefficients : sequence of Parameter or float
        c_1 … c_K; the constant term is 1.
    label : str, optional
        Legend label.
    """

    title = "Chebyshev"
    window_native = True
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    log_bin_probabilities = staticmethod(log_bin_probabilities)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_bin_probabilities = staticmethod(ref_bin_probabilities)

    def __init__(self, coefficients, *, label=None):
        coefficients = list(coefficients)
        if not coefficients:
            raise ValueError("Chebyshev needs at least one coefficient (c1); use Uniform for a flat shape")
        self.param_names = tuple(f"c{k}" for k in range(1, len(coefficients) + 1))
        super().__init__(*coefficients, label=label or f"{self.title} (order {len(coefficients)})")
