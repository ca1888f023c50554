"""Relativistic Breit–Wigner convolved with a Gaussian resolution: a measured resonance.

A resonance of mass M0 and width Γ seen through a detector resolution σ has the density

    (BW ⊗ G)(m) = ∫ BW(m − s) φ(s/σ)/σ ds ≈ Σ_k (w_k/√π) · BW(m − √2 σ t_k),

a Gauss–Hermite sum over :data:`N_NODES` nodes t_k with weights w_k, differentiable in every
parameter. Its cdf is the same sum over Breit–Wigner cdfs, so window normalisation and bin
probabilities are exact for the quadrature.

**Accuracy.** The sum integrates the Breit–Wigner against the Gaussian, so it is exact while
the Breit–Wigner is smooth on the scale of the node spacing, i.e. for a resolution not much
wider than the width: measured against numerical convolution (``scipy.integrate.quad``) at
M0 = 91.19, Γ = 2.5 GeV, the relative error is 10⁻¹⁵ for σ ≤ 0.3 GeV, 4·10⁻⁴ at σ = 1.5 GeV and
14 % at σ = 5 GeV = 2Γ. Keep σ ≲ Γ/2 (the Z fit finds σ ≈ 0.34 Γ) or use a Gaussian peak
where the resolution dominates.

Use :class:`RelBWGauss` in a :class:`bayesfit.WindowModel` (the Z line shape); the
maximum-likelihood reference evaluates the same sum in numpy with the textbook Breit–Wigner
(:func:`ref_logpdf`, tested against scipy's ``rel_breitwigner``).
"""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from scipy import stats

from bayesfit.distributions import relbw
from bayesfit.distributions.base import Component

__all__ = ["RelBWGauss", "logpdf", "logcdf", "ref_logpdf", "ref_cdf", "N_NODES"]

N_NODES = 32
NODES, WEIGHTS = np.polynomial.hermite.hermgauss(N_NODES)
LOG_W = np.log(WEIGHTS) - 0.5 * np.log(np.pi)


def _shifted(x, sigma):
    """Return x − √2 σ t_k as a (len(x), K) grid (PyTensor)."""
    x = pt.as_tensor_variable(x)
    return x[..., None] - np.sqrt(2.0) * sigma * pt.constant(NODES)


def logpdf(x, mass, width, sigma):
    """Return the log density of RelBW(mass, width) ⊗ Normal(0, sigma) at ``x`` (PyTensor).

    Parameters
    ----------
    x : tensor_like
    mass, width : tensor_like
        Breit–Wigner pole mass and width (> 0).
    sigma : tensor_like
        Gaussian resolution (> 0).

    Returns
    -------
    TensorVariable
    """
    return pt.logsumexp(relbw.logpdf(_shifted(x, sigma), mass / width, width) + LOG_W, axis=-1)


def logcdf(x, mass, width, sigma):
    """Return the log cdf at ``x`` (PyTensor graph): the node sum of Breit–Wigner cdfs."""
    return pt.logsumexp(relbw.logcdf(_shifted(x, sigma), mass / width, width) + LOG_W, axis=-1)


def ref_logpdf(x, mass, width, sigma):
    """Return the log density (numpy/numba reference).

    The Breit–Wigner in its textbook form, k(ρ)/Γ / ((y² − ρ²)² + ρ²) with y = m/Γ and ρ = M0/Γ
    (scipy's ``rel_breitwigner`` density, not the rearranged form of the PyTensor graph), summed
    with the Gauss–Hermite weights in one compiled pass over events and nodes
    (:func:`_node_sum`). It gives scipy's values to 10⁻¹³ and is seven times faster than the same
    sum in numpy, itself eight times faster than ``scipy.stats``, on the Z fit's 10⁴ events × 32
    nodes, which the maximum-likelihood fit and its MINOS intervals evaluate about 800 times.
    NaN where mass or width is not positive, as in scipy.
    """
    x = np.asarray(x, dtype=float)
    if not (mass > 0 and width > 0):
        return np.full(x.shape, np.nan)
    rho = mass / width
    root = np.sqrt(rho**2 + 1)
    k = 2 * np.sqrt(2) * rho**2 * root / (np.pi * np.sqrt(rho**2 + rho * root))
    total = _node_sum(np.ascontiguousarray(x).ravel(), np.sqrt(2.0) * sigma * NODES, WEIGHTS, float(width),
                      float(rho), float(k))
    with np.errstate(divide="ignore"):  # log 0 = −inf far below zero mass
        return np.log(total).reshape(x.shape) - np.log(width * np.sqrt(np.pi))


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _node_sum(x, shifts, weights, width, rho, k):
    """Return Σ_j w_j k / ((y² − ρ²)² + ρ²), y = (x_i − shift_j)/Γ, for each event x_i (terms with
    y < 0 are zero: no mass below zero)."""
    out = np.empty(x.size)
    for i in range(x.size):
        total = 0.0
        for j in range(shifts.size):
            y = (x[i] - shifts[j]) / width
            if y >= 0.0:
                total += weights[j] * (k / ((y * y - rho * rho) ** 2 + rho * rho))
        out[i] = total
    return out


def ref_cdf(x, mass, width, sigma):
    """Return the cdf (scipy reference)."""
    x = np.asarray(x, dtype=float)
    shifted = x[..., None] - np.sqrt(2.0) * sigma * NODES
    return stats.rel_breitwigner.cdf(shifted, mass / width, scale=width) @ WEIGHTS / np.sqrt(np.pi)


class RelBWGauss(Component):
    """Breit–Wigner ⊗ Gaussian component ``RelBWGauss(mass, width, sigma)``.

    Parameters
    ----------
    mass, width : Parameter or float
        Breit–Wigner pole mass and width (> 0).
    sigma : Parameter or float
        Gaussian resolution (> 0).
    label : str, optional
        Legend label.

    Notes
    -----
    Defined on the whole line (the resolution smears below zero); use it on windows well
    above zero, as a mass fit does.
    """

    param_names = ("mass", "width", "sigma")
    title = "RelBW ⊗ Gaussian"
    logpdf = staticmethod(logpdf)
    logcdf = staticmethod(logcdf)
    ref_logpdf = staticmethod(ref_logpdf)
    ref_cdf = staticmethod(ref_cdf)
