"""Double-sided Crystal Ball: Gaussian core with power-law tails on both sides.

The standard signal shape of LHC mass fits (radiation on the low side, resolution tails on
both). With t = (x − μ)/σ, onsets α_L, α_R > 0 and exponents n_L, n_R > 1,

    g(t) = −t²/2                                        for −α_L ≤ t ≤ α_R
    g(t) = −α_L²/2 − n_L log(1 + α_L(−α_L − t)/n_L)       for t < −α_L
    g(t) = −α_R²/2 − n_R log(1 + α_R(t − α_R)/n_R)        for t > α_R

and f(x) = exp(g(t))/(σ(C_L + D + C_R)) with the tail integrals C = n/(α(n−1))·exp(−α²/2) of
:mod:`.crystalball` and the core D = √(2π)(Φ(α_R) − Φ(−α_L)). This is numba-stats'
``crystalball_ex`` with one core width (scale_left = scale_right = σ).

Use :class:`DoubleCrystalBall` in a :class:`bayesfit.WindowModel`. The reference for the
maximum-likelihood fit (:func:`ref_logpdf`, :func:`ref_cdf`) is a separate numpy
implementation, tested against numba-stats.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from scipy import special

from bayesfit.distributions.base import Component
from bayesfit.distributions.crystalball import _log_tail_weight

__all__ = ["DoubleCrystalBall", "logpdf", "logcdf", "logsf", "ref_logpdf", "ref_cdf"]

_SQRT_2PI = np.sqrt(2 * np.pi)


def _log_core(alpha_l, alpha_r):
    """Return log D = log(√(2π)(Φ(α_R) − Φ(−α_L))) (PyTensor)."""
    return np.log(_SQRT_2PI) + pt.log(0.5 * (pt.erfc(-alpha_r / np.sqrt(2)) - pt.erfc(alpha_l / np.sqrt(2))))


def _log_shape_integral(alpha_l, n_l, alpha_r, n_r):
    """Return the log integral of the standardised double-sided shape over the real line."""
    return pt.logsumexp(pt.stack([_log_tail_weight(alpha_l, n_l), _log_core(alpha_l, alpha_r),
                                  _log_tail_weight(alpha_r, n_r)]))


def logpdf(x, mu, sigma, alpha_l, n_l, alpha_r, n_r):
    """Return the log density at ``x`` (PyTensor graph).

    Parameters
    ----------
    x : tensor_like
    mu, sigma : tensor_like
        Peak and core width (σ > 0).
    alpha_l, n_l : tensor_like
        Low-side tail onset (in σ, > 0) and exponent (> 1).
    alpha_r, n_r : tensor_like
        High-side tail onset (in σ, > 0) and exponent (> 1).

    Returns
    -------
    TensorVariable
    """
    t = (x - mu) / sigma
    # Each tail branch sees t clipped to its own side: no log of a negative number, and no
    # NaN in the discarded branch's gradient.
    t_l = pt.minimum(t, -alpha_l)
    t_r = pt.maximum(t, alpha_r)
    left = -0.5 * alpha_l**2 - n_l * pt.log1p(alpha_l * (-alpha_l - t_l) / n_l)
    right = -0.5 * alpha_r**2 - n_r * pt.log1p(alpha_r * (t_r - alpha_r) / n_r)
    g = pt.switch(t < -alpha_l, left, pt.switch(t > alpha_r, right, -0.5 * t**2))
    return g - _log_shape_integral(alpha_l, n_l, alpha_r, n_r) - pt.log(sigma)


def logcdf(x, mu, sigma, alpha_l, n_l, alpha_r, n_r):
    """Return the log cumulative distribution function at ``x`` (PyTensor graph).

    Notes
    -----
    Below the core F ∝ C_L(1 + α_L(−α_L − t)/n_L)^(1−n_L); in the core F ∝ C_L + √(2π)(Φ(t) −
    Φ(−α_L)); above it F ∝ C_L + D + C_R(1 − (1 + α_R(t − α_R)/n_R)^(1−n_R)), the last term
    through ``expm1`` so that no cancellation occurs near the upper tail's onset.
    """
    t = (x - mu) / sigma
    log_cl = _log_tail_weight(alpha_l, n_l)
    log_cr = _log_tail_weight(alpha_r, n_r)
    t_l = pt.minimum(t, -alpha_l)
    left = log_cl + (1 - n_l) * pt.log1p(alpha_l * (-alpha_l - t_l) / n_l)
    t_c = pt.clip(t, -alpha_l, alpha_r)
    gauss = _SQRT_2PI * 0.5 * (pt.erfc(-t_c / np.sqrt(2)) - pt.erfc(alpha_l / np.sqrt(2)))
    core = pt.log(pt.exp(log_cl) + gauss)
    t_r = pt.maximum(t, alpha_r)
    upper_part = -pt.expm1((1 - n_r) * pt.log1p(alpha_r * (t_r - alpha_r) / n_r))
    right = pt.log(pt.exp(log_cl) + pt.exp(_log_core(alpha_l, alpha_r)) + pt.exp(log_cr) * upper_part)
    out = pt.switch(t < -alpha_l, left, pt.switch(t > alpha_r, right, core))
    return out - _log_shape_integral(alpha_l, n_l, alpha_r, n_r)


def logsf(x, mu, sigma, alpha_l, n_l, alpha_r, n_r):
    """Return log(1 − F(x)) (PyTensor graph): the mirror image of :func:`logcdf`.

    Above the core 1 − F ∝ C_R(1 + α_R(t − α_R)/n_R)^(1−n_R); in the core
    C_R + √(2π)(Φ(α_R) − Φ(t)); below it C_R + D + C_L(1 − (1 + α_L(−α_L − t)/n_L)^(1−n_L)).
    """
    t = (x - mu) / sigma
    return logcdf(mu - t * sigma, mu, sigma, alpha_r, n_r, alpha_l, n_l)


def _ref_weights(alpha_l, n_l, alpha_r, n_r):
    c_l = n_l / alpha_l / (n_l - 1) * np.exp(-0.5 * alpha_l**2)
    c_r = n_r / alpha_r / (n_r - 1) * np.exp(-0.5 * alpha_r**2)
    d = _SQRT_2PI * (special.ndtr(alpha_r) - special.ndtr(-alpha_l))
    return c_l, d, c_r


def ref_logpdf(x, mu, sigma, alpha_l, n_l, alpha_r, n_r):
    """Return the log density (numpy reference, written from the power-law form).

    The tails are A·(B − t)^(−n) and A'·(B' + t)^(−n) with A = (n/α)ⁿ e^{−α²/2} and
    B = n/α − α, the form of the original Crystal Ball papers, not the ``log1p`` form of the
    PyTensor graph.
    """
    t = (np.asarray(x, dtype=float) - mu) / sigma
    c_l, d, c_r = _ref_weights(alpha_l, n_l, alpha_r, n_r)
    log_a_l = n_l * np.log(n_l / alpha_l) - 0.5 * alpha_l**2
    log_a_r = n_r * np.log(n_r / alpha_r) - 0.5 * alpha_r**2
    b_l, b_r = n_l / alpha_l - alpha_l, n_r / alpha_r - alpha_r
    with np.errstate(divide="ignore", invalid="ignore"):
        left = log_a_l - n_l * np.log(b_l - t)
        right = log_a_r - n_r * np.log(b_r + t)
    g = np.where(t < -alpha_l, left, np.where(t > alpha_r, right, -0.5 * t * t))
    return g - np.log(sigma * (c_l + d + c_r))


def ref_cdf(x, mu, sigma, alpha_l, n_l, alpha_r, n_r):
    """Return the cdf (numpy reference)."""
    t = (np.asarray(x, dtype=float) - mu) / sigma
    c_l, d, c_r = _ref_weights(alpha_l, n_l, alpha_r, n_r)
    b_l, b_r = n_l / alpha_l - alpha_l, n_r / alpha_r - alpha_r
    with np.errstate(divide="ignore", invalid="ignore"):
        # ∫_{-∞}^t A (B − s)^(−n) ds = A (B − t)^(1−n)/(n − 1), with A from the pdf
        left = c_l * ((b_l - t) / (b_l + alpha_l)) ** (1 - n_l)
        core = c_l + _SQRT_2PI * (special.ndtr(np.clip(t, -alpha_l, alpha_r)) - special.ndtr(-alpha_l))
        right = c_l + d + c_r * (1 - ((b_r + t) / (b_r + alpha_r)) ** (1 - n_r))
    return np.where(t < -alpha_l, left, np.where(t > alpha_r, right, core)) / (c_l + d + c_r)


class DoubleCrystalBall(Component):
    """Double-sided Crystal Ball ``DoubleCrystalBall(mu, sigma, alpha_l, n_l, alpha_r, n_r)``.

    Parameters
    ----------
    mu, sigma : Parameter or float
        Peak and core width (σ > 0).
    alpha_l, n_l, alpha_r, n_r : Parameter or float
        Tail onsets in σ (> 0) and tail exponents (> 1), low side then high side.
    label : str, optional
        Legend label.
    """

    param_names = ("mu", "sigma", "alpha_l", "n_l", "alpha_r", "n_r")
    title = "Double Crystal Ball"
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    logsf = staticmethod(logsf)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_cdf = staticmethod(ref_cdf)
