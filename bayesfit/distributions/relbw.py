"""Relativistic Breit–Wigner distribution (scipy's ``rel_breitwigner`` with loc = 0).

Standardised density on x ≥ 0, shape ρ > 0:

    f(x | ρ) = k(ρ) / ((x² − ρ²)² + ρ²),    k(ρ) = 2√2 ρ² √(ρ²+1) / (π √(ρ² + ρ√(ρ²+1))).

A resonance of mass M0 and width Γ has ρ = M0/Γ and scale = Γ (its mode is at M0):
f_M(m) = f(m/Γ | M0/Γ)/Γ. For large ρ the peak is locally a Cauchy of half width ½.

The density is evaluated as f = (k/ρ²) / (1 + ((x − ρ)(x + ρ)/ρ)²), with
k/ρ² = (2/π)·√(2(1 + ρ⁻²)/(1 + √(1 + ρ⁻²))), stable from ρ = 0.05 to 10⁴ and beyond.

The cdf has a real closed form. With s = √(1 + ρ⁻²), A = ρ²s, p = ρ√(2(s + 1)) and
q = √(2/(1 + s)), the denominator factorises as (x² + px + A)(x² − px + A) and

    F(x) = (1/π) [ atan2(x q, (√A − x)(√A + x)) + (q / 2p) · log1p(2 p x / ((x − p/2)² + q²/4)) ],

obtained by partial fractions; the atan2 form sums the two arctangents without cancellation
and (x ∓ p/2)² + q²/4 = x² ∓ px + A avoids the cancellation of x² − px + A near the peak.

Use :class:`RelBW` (mass, width) or :class:`RelBWRho` (ρ, scale) as components of a
:class:`bayesfit.WindowModel`; their maximum-likelihood reference is scipy's
``rel_breitwigner``. :class:`RelBreitWigner` is the same density as a PyMC distribution (also
from mass and width); the PyTensor kernels :func:`logpdf` and :func:`logcdf` serve inside other
graphs (the convolution of :mod:`.relbw_gauss`).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.distributions.continuous import Continuous
from pymc.distributions.dist_math import check_parameters
from pymc.distributions.shape_utils import rv_size_is_none
from pytensor.tensor.random.op import RandomVariable
from scipy import stats

from bayesfit.distributions.base import Component

__all__ = ["RelBW", "RelBWRho", "RelBreitWigner", "logpdf", "logcdf", "ref_logpdf", "ref_cdf",
           "mean", "second_moment"]


def _log_peak(rho):
    """Return log(k/ρ²), the log density at the peak x = ρ (PyTensor)."""
    s = pt.sqrt(1 + 1 / rho**2)
    return np.log(2 / np.pi) + 0.5 * (np.log(2.0) + pt.log(s**2) - pt.log1p(s))


def logpdf(x, rho, scale=1.0):
    """Return the log density at ``x`` (PyTensor graph).

    Parameters
    ----------
    x : tensor_like
        Where to evaluate; −inf for x < 0.
    rho : tensor_like
        Shape ρ = M0/Γ > 0.
    scale : tensor_like
        Scale Γ > 0.

    Returns
    -------
    TensorVariable
    """
    x, rho, scale = map(pt.as_tensor_variable, (x, rho, scale))
    y = pt.abs(x) / scale  # |x|: a finite dummy for the x < 0 branch
    u = (y - rho) * (y + rho) / rho
    logp = _log_peak(rho) - pt.log1p(u**2) - pt.log(scale)
    return pt.switch(x >= 0, logp, -np.inf)


def logcdf(x, rho, scale=1.0):
    """Return the log cumulative distribution function at ``x`` (PyTensor graph).

    Parameters
    ----------
    x, rho, scale : tensor_like
        As in :func:`logpdf`.

    Returns
    -------
    TensorVariable
    """
    x, rho, scale = map(pt.as_tensor_variable, (x, rho, scale))
    y = pt.switch(x > 0, x / scale, 1.0)  # finite dummy where x ≤ 0: no NaN gradients
    s = pt.sqrt(1 + 1 / rho**2)
    sqrt_a = rho * pt.sqrt(s)
    p = rho * pt.sqrt(2 * (s + 1))
    q = pt.sqrt(2 / (1 + s))
    angle = pt.arctan2(y * q, (sqrt_a - y) * (sqrt_a + y))
    log_term = q / (2 * p) * pt.log1p(2 * p * y / ((y - p / 2) ** 2 + q**2 / 4))
    return pt.switch(x > 0, pt.log(angle + log_term) - np.log(np.pi), -np.inf)


def mean(rho):
    """Return E[X] of the standardised distribution (numpy; the seed's closed form).

    E[X] = (√(ρ²+1)/π) · √(2ρ/(ρ + √(ρ²+1))) · (π/2 + arctan ρ).
    """
    a = np.sqrt(rho**2 + 1)
    return a / np.pi * np.sqrt(2 * rho / (rho + a)) * (np.pi / 2 + np.arctan(rho))


def second_moment(rho):
    """Return E[X²] = ρ√(ρ²+1) of the standardised distribution (numpy)."""
    return rho * np.sqrt(rho**2 + 1)


class RelBreitWignerRV(RandomVariable):
    """PyTensor random variable drawing with ``scipy.stats.rel_breitwigner``."""

    name = "rel_breitwigner"
    signature = "(),()->()"
    dtype = "floatX"
    _print_name = ("RelBreitWigner", "\\operatorname{RelBW}")

    @classmethod
    def rng_fn(cls, rng, rho, scale, size):
        """Draw with ``scipy.stats.rel_breitwigner.rvs`` (loc = 0)."""
        return stats.rel_breitwigner.rvs(rho, scale=scale, size=size, random_state=rng)


rel_breitwigner = RelBreitWignerRV()


class RelBreitWigner(Continuous):
    r"""Relativistic Breit–Wigner distribution on x ≥ 0.

    Parameters
    ----------
    rho : tensor_like of float
        Shape ρ = M0/Γ > 0. Give either ``rho`` (with ``scale``) or ``mass`` and ``width``.
    scale : tensor_like of float
        Scale Γ > 0 (default 1: the standardised form).
    mass, width : tensor_like of float, optional
        Physical parameters M0 and Γ; then ρ = M0/Γ and scale = Γ.

    Notes
    -----
    Same density as ``scipy.stats.rel_breitwigner(rho, loc=0, scale=scale)``, with a real
    closed-form ``logcdf`` (see the module docstring), so ``pm.Truncated`` normalises it
    exactly over a mass window.

    Examples
    --------
    >>> import pymc as pm
    >>> with pm.Model():
    ...     m0 = pm.Uniform("m0", 85, 95)
    ...     RelBreitWigner("m", mass=m0, width=2.4952, observed=[90.1, 91.3])
    """

    rv_op = rel_breitwigner

    @classmethod
    def dist(cls, rho=None, scale=1.0, *, mass=None, width=None, **kwargs):
        """Return an unnamed RelBW variable from (rho, scale) or from (mass, width)."""
        if mass is not None or width is not None:
            if rho is not None or mass is None or width is None:
                raise ValueError("give either rho (and scale) or both mass and width")
            rho, scale = pt.as_tensor_variable(mass) / width, width
        elif rho is None:
            raise ValueError("give either rho (and scale) or both mass and width")
        return super().dist([pt.as_tensor_variable(rho), pt.as_tensor_variable(scale)], **kwargs)

    def support_point(rv, size, rho, scale):
        """Return the mode ρ·scale, broadcast to the variable's shape."""
        mode, _ = pt.broadcast_arrays(rho * scale, scale)
        if not rv_size_is_none(size):
            mode = pt.full(size, mode)
        return mode

    def logp(value, rho, scale):
        """Return the log density; rho ≤ 0 or scale ≤ 0 raise an error."""
        return check_parameters(logpdf(value, rho, scale), rho > 0, scale > 0, msg="rho > 0, scale > 0")

    def logcdf(value, rho, scale):
        """Return the log cumulative distribution function."""
        return check_parameters(logcdf(value, rho, scale), rho > 0, scale > 0, msg="rho > 0, scale > 0")


def ref_logpdf(x, rho, scale=1.0):
    """Return the log density from ``scipy.stats.rel_breitwigner`` (the reference)."""
    return stats.rel_breitwigner.logpdf(x, rho, scale=scale)


def ref_cdf(x, rho, scale=1.0):
    """Return the cdf from ``scipy.stats.rel_breitwigner`` (the reference)."""
    return stats.rel_breitwigner.cdf(x, rho, scale=scale)


def _ppf(q, rho, scale=1.0):
    return stats.rel_breitwigner.ppf(q, rho, scale=scale)


class RelBWRho(Component):
    """Relativistic Breit–Wigner component in scipy's parameters, ``RelBWRho(rho, scale)``.

    Parameters
    ----------
    rho : Parameter or float
        Shape ρ = M0/Γ > 0.
    scale : Parameter or float
        Scale Γ > 0 (1 for the standardised form).
    label : str, optional
        Legend label.
    """

    param_names = ("rho", "scale")
    title = "relativistic Breit–Wigner"
    support = (0.0, np.inf)
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_cdf = staticmethod(ref_cdf)
    ppf = staticmethod(_ppf)


class RelBW(Component):
    """Relativistic Breit–Wigner component of a resonance, ``RelBW(mass, width)``.

    The same density as :class:`RelBWRho` with ρ = mass/width and scale = width.

    Parameters
    ----------
    mass, width : Parameter or float
        Pole mass M0 and width Γ (both > 0).
    label : str, optional
        Legend label.
    """

    param_names = ("mass", "width")
    title = "relativistic Breit–Wigner"
    support = (0.0, np.inf)
    logpdf = staticmethod(lambda x, mass, width: logpdf(x, mass / width, width))
    logcdf = staticmethod(lambda x, mass, width: logcdf(x, mass / width, width))
    ref_logpdf = staticmethod(lambda x, mass, width: ref_logpdf(x, mass / width, width))
    ref_cdf = staticmethod(lambda x, mass, width: ref_cdf(x, mass / width, width))
    ppf = staticmethod(lambda q, mass, width: _ppf(q, mass / width, width))
