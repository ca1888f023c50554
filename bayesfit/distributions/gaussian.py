"""Gaussian (normal) density: the resolution-dominated peak.

f(x | μ, σ) = exp(−t²/2)/(σ√(2π)), t = (x − μ)/σ; scipy's ``norm(loc=μ, scale=σ)``.

The log cdf is PyMC's ``normal_lcdf``, accurate deep in both tails, so a window far from
the peak still has an exact, finite normalisation. Use :class:`Gaussian` in a
:class:`bayesfit.WindowModel`; the reference for the maximum-likelihood fit is scipy.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lcdf
from scipy import stats

from .base import Component

__all__ = ["Gaussian", "logpdf", "logcdf", "ref_logpdf", "ref_cdf", "ppf"]

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
    return normal_lcdf(mu, sigma, x)


def ref_logpdf(x, mu, sigma):
    """Return the log density (scipy reference)."""
    return stats.norm.logpdf(x, mu, sigma)


def ref_cdf(x, mu, sigma):
    """Return the cdf (scipy reference)."""
    return stats.norm.cdf(x, mu, sigma)


def ppf(q, mu, sigma):
    """Return the quantile function (scipy)."""
    return stats.norm.ppf(q, mu, sigma)


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
    ref_logpdf = staticmethod(ref_logpdf)
    ref_cdf = staticmethod(ref_cdf)
    ppf = staticmethod(ppf)
