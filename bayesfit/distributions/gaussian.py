"""Gaussian (normal) density: the resolution-dominated peak.

f(x | μ, σ) = exp(−t²/2)/(σ√(2π)), t = (x − μ)/σ; scipy's ``norm(loc=μ, scale=σ)``.

The log cdf is exact to rounding deep in both tails, so a window far from the peak still has
an exact, finite normalisation: log Φ(z) = log(½ erfcx(−z/√2)) − z²/2 for z < 0 (no underflow
before z ≈ −10¹⁵⁴) and log1p(−½ erfc(z/√2)) above. (PyMC's ``normal_lcdf`` is an
approximation good to 10⁻⁸ only.) Use :class:`Gaussian` in a
:class:`bayesfit.WindowModel`; the reference for the maximum-likelihood fit is the closed form
in numpy with ``scipy.special.ndtr``, tested against ``scipy.stats.norm``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from scipy import special

from bayesfit.distributions.base import Component

__all__ = ["Gaussian", "logpdf", "logcdf", "logsf", "ref_logpdf", "ref_cdf", "ppf"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def logpdf(x, mu, sigma):
    """Return the log density at ``x`` (PyTensor graph).

    Parameters
    ----------
    x : tensor_like
    mu : tensor_like
        Mean.
    sigma : tensor_like
        Standard deviation, > 0.

    Returns
    -------
    TensorVariable
    """
    t = (x - mu) / sigma
    return -0.5 * t**2 - pt.log(sigma) - _LOG_SQRT_2PI


def logcdf(x, mu, sigma):
    """Return the log cumulative distribution function at ``x`` (PyTensor graph)."""
    z = (x - mu) / sigma
    lower = pt.minimum(z, 0.0)  # each branch gets an argument it is accurate for
    upper = pt.maximum(z, 0.0)
    below = pt.log(0.5 * pt.erfcx(-lower / np.sqrt(2))) - 0.5 * lower**2
    above = pt.log1p(-0.5 * pt.erfc(upper / np.sqrt(2)))
    return pt.switch(z < 0, below, above)


def logsf(x, mu, sigma):
    """Return log(1 − F(x)), exact in the upper tail (PyTensor graph)."""
    return logcdf(2 * mu - x, mu, sigma)


def ref_logpdf(x, mu, sigma):
    """Return the log density (numpy reference; equal to ``scipy.stats.norm.logpdf``, tested).

    The closed form in numpy: the maximum-likelihood scans call it thousands of times, and
    ``scipy.stats.norm`` spends most of each call in its generic argument checks.
    """
    t = (np.asarray(x, dtype=float) - mu) / sigma
    return -0.5 * t * t - np.log(sigma) - _LOG_SQRT_2PI


def ref_cdf(x, mu, sigma):
    """Return the cdf (``scipy.special.ndtr``; equal to ``scipy.stats.norm.cdf``, tested)."""
    return special.ndtr((np.asarray(x, dtype=float) - mu) / sigma)


def ppf(q, mu, sigma):
    """Return the quantile function (``scipy.special.ndtri``)."""
    return mu + sigma * special.ndtri(q)


class Gaussian(Component):
    """Gaussian component ``Gaussian(mu, sigma)``.

    Parameters
    ----------
    mu, sigma : Parameter or float
        Mean and standard deviation (σ > 0).
    label : str, optional
        Legend label.
    """

    param_names = ("mu", "sigma")
    title = "Gaussian"
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    logsf = staticmethod(logsf)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_cdf = staticmethod(ref_cdf)
    ppf = staticmethod(ppf)
