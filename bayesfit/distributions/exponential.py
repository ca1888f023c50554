"""Exponential shape exp(slope·(x − x0)) normalised over a window [lo, hi].

The background of a mass fit: slope may have either sign (or be zero), and the pivot x0
(usually the window centre) decorrelates slope and normalisation. The window integral

    I = ∫_lo^hi exp(s(x − x0)) dx = exp(s(lo − x0)) · w · E(s·w),   E(z) = (eᶻ − 1)/z, w = hi − lo,

is evaluated through ``expm1``; near s = 0 the series E(z) ≈ 1 + z/2 avoids 0/0. Once
normalised, the pivot cancels (f(x) = e^{s(x − lo)}/(w·E(s·w))): it matters only for an
unnormalised amplitude, so these functions do not take it.

Use :class:`Exponential` in a :class:`bayesfit.WindowModel` (the usual mass background). The
functions take the window last, ``(x, slope, lo, hi)``: :func:`logpdf`, :func:`logcdf` and
:func:`log_bin_probabilities` (PyTensor), the numpy references :func:`ref_logpdf` and
:func:`ref_bin_probabilities` for the maximum-likelihood fit, :func:`ppf` and :func:`random`
(numpy) to draw events.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayesfit.distributions.base import Component

__all__ = ["Exponential", "logpdf", "logcdf", "log_bin_probabilities", "ref_logpdf",
           "ref_bin_probabilities", "ref_log_norm_derivatives", "ppf", "random"]

_SMALL = 1e-6  # |s·w| below which the series form of log E(z) is used


def _log_exprel(z):
    """Return log((eᶻ − 1)/z), finite with finite gradient at z = 0 (PyTensor)."""
    z = pt.as_tensor_variable(z)
    safe = pt.switch(pt.abs(z) < _SMALL, _SMALL, z)  # dummy argument for the untaken branch
    return pt.switch(pt.abs(z) < _SMALL, 0.5 * z, pt.log(pt.expm1(safe) / safe))


def logpdf(x, slope, lo, hi):
    """Return the log density at ``x`` of exp(slope·(x − x0)) normalised on [lo, hi].

    Parameters
    ----------
    x : tensor_like
        Where to evaluate; the caller keeps x inside [lo, hi].
    slope : tensor_like
        Exponential slope, in inverse units of x.
    lo, hi : float
        Window edges.

    Returns
    -------
    TensorVariable
    """
    w = hi - lo
    return slope * (x - lo) - np.log(w) - _log_exprel(slope * w)


def logcdf(x, slope, lo, hi):
    """Return the log cdf at ``x`` within [lo, hi] (PyTensor).

    Parameters
    ----------
    x, slope, lo, hi : tensor_like
        As in :func:`logpdf`.

    Returns
    -------
    TensorVariable
    """
    u = pt.clip(x - lo, 0.0, hi - lo)
    w = hi - lo
    return pt.log(u / w) + _log_exprel(slope * u) - _log_exprel(slope * w)


def log_bin_probabilities(edges, slope, lo, hi):
    """Return log P(bin) for bins ``edges`` inside [lo, hi], in closed form (PyTensor).

    log P_j = s(e_j − lo) + log(Δ_j E(sΔ_j)) − log(w E(s w)), with Δ_j = e_{j+1} − e_j: no
    difference of cdfs, and no −∞ at the lower edge to spoil second derivatives.

    Parameters
    ----------
    edges : numpy.ndarray
        Increasing bin edges within [lo, hi].
    slope : tensor_like
    lo, hi : float

    Returns
    -------
    TensorVariable
    """
    delta = edges[1:] - edges[:-1]  # numpy edges or a symbolic vector (pm.Data)
    return (slope * (edges[:-1] - lo) + pt.log(delta) + _log_exprel(slope * delta)
            - np.log(hi - lo) - _log_exprel(slope * (hi - lo)))


def ref_logpdf(x, slope, lo, hi):
    """Return the log density at ``x`` for a scalar slope (numpy reference).

    Parameters
    ----------
    x : array_like
    slope : float
    lo, hi : float

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(x, dtype=float)
    w = hi - lo
    if abs(slope * w) < _SMALL:
        return np.full_like(x, -np.log(w)) + slope * (x - lo) - 0.5 * slope * w
    return slope * (x - lo) - np.log(np.expm1(slope * w) / slope)


def ref_log_norm_derivatives(slope, lo, hi):
    """Return the first two slope derivatives of log ∫_lo^hi exp(slope·(x − lo)) dx (numpy).

    They are the mean and the variance of x − lo under the window's exponential:
    w/(1 − e^(−z)) − 1/s and w²·(1/z² − 1/(4 sinh²(z/2))), z = s·w. Where they cancel,
    their series w·(1/2 + z/12) (\\|z\\| < 10⁻³) and w²·(1/12 − z²/240) (\\|z\\| < 10⁻²) are used,
    exact to 10⁻¹² of their size. The maximum-likelihood fit's analytic gradient and Hessian
    use them.

    Parameters
    ----------
    slope : float
    lo, hi : float

    Returns
    -------
    (float, float)
    """
    w = hi - lo
    z = slope * w
    first = w * (0.5 + z / 12) if abs(z) < 1e-3 else w / -np.expm1(-z) - 1 / slope
    if abs(z) < 1e-2:
        second = w * w * (1 / 12 - z * z / 240)
    else:
        half = abs(z) / 2
        second = w * w * (1 / z**2 - (0.0 if half > 350 else 1 / (4 * np.sinh(half) ** 2)))
    return float(first), float(second)


def ref_bin_probabilities(edges, slope, lo, hi):
    """Return the probability of each bin ``edges`` for a scalar slope (numpy).

    Parameters
    ----------
    edges : array_like
        Increasing bin edges within [lo, hi].
    slope : float
    lo, hi : float

    Returns
    -------
    numpy.ndarray
    """
    u = np.asarray(edges, dtype=float) - lo
    w = hi - lo
    cdf = u / w if abs(slope * w) < _SMALL else np.expm1(slope * u) / np.expm1(slope * w)
    return np.diff(cdf)


def ppf(q, slope, lo, hi):
    """Return the quantile of the window-normalised exponential (numpy).

    Parameters
    ----------
    q : array_like
        Probabilities in [0, 1].
    slope : float
    lo, hi : float

    Returns
    -------
    numpy.ndarray
    """
    q = np.asarray(q, dtype=float)
    w = hi - lo
    if abs(slope * w) < _SMALL:
        return lo + q * w
    # Solve (e^{s u} − 1)/(e^{s w} − 1) = q for u.
    return lo + np.log1p(q * np.expm1(slope * w)) / slope


def random(slope, lo, hi, *, rng=None, size=None):
    """Draw variates of the window-normalised exponential (numpy).

    Parameters
    ----------
    slope, lo, hi : float
    rng : numpy.random.Generator, optional
    size : int or tuple, optional

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(rng)
    return ppf(rng.uniform(size=size), slope, lo, hi)


class Exponential(Component):
    """Exponential component ``Exponential(slope)``: exp(slope·x) normalised on the window.

    Parameters
    ----------
    slope : Parameter or float
        In inverse units of x; either sign, zero included (then the shape is flat).
    label : str, optional
        Legend label.
    """

    param_names = ("slope",)
    title = "Exponential"
    window_native = True
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    log_bin_probabilities = staticmethod(log_bin_probabilities)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_bin_probabilities = staticmethod(ref_bin_probabilities)
    ppf = staticmethod(ppf)
