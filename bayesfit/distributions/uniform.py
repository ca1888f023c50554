"""Uniform density on the window: a flat background with no parameter.

f(x) = 1/(hi − lo) on [lo, hi]. Use :class:`Uniform` in a :class:`bayesfit.WindowModel`; the
reference is ``scipy.stats.uniform``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from scipy import stats

from bayesfit.distributions.base import Component

__all__ = ["Uniform", "logpdf", "logcdf", "log_bin_probabilities", "ref_logpdf",
           "ref_bin_probabilities", "ppf"]


def logpdf(x, lo, hi):
    """Return −log(hi − lo) at every ``x`` (PyTensor graph)."""
    return pt.zeros_like(x) - np.log(hi - lo)


def logcdf(x, lo, hi):
    """Return log((x − lo)/(hi − lo)) within the window (PyTensor graph)."""
    return pt.log(pt.clip(x - lo, 0.0, hi - lo) / (hi - lo))


def log_bin_probabilities(edges, lo, hi):
    """Return log((e_{j+1} − e_j)/(hi − lo)) (PyTensor graph)."""
    return pt.log((edges[1:] - edges[:-1]) / (hi - lo))


def ref_logpdf(x, lo, hi):
    """Return the log density (scipy reference)."""
    return stats.uniform.logpdf(x, lo, hi - lo)


def ref_bin_probabilities(edges, lo, hi):
    """Return the bin probabilities (scipy reference)."""
    return np.diff(stats.uniform.cdf(edges, lo, hi - lo))


def ppf(q, lo, hi):
    """Return the quantile lo + q(hi − lo)."""
    return lo + np.asarray(q, dtype=float) * (hi - lo)


class Uniform(Component):
    """Flat component ``Uniform()`` on the window.

    Parameters
    ----------
    label : str, optional
        Legend label.
    """

    param_names = ()
    title = "Uniform"
    window_native = True
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    log_bin_probabilities = staticmethod(log_bin_probabilities)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_bin_probabilities = staticmethod(ref_bin_probabilities)
    ppf = staticmethod(ppf)
