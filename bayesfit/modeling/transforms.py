"""Sampler coordinates for bounded parameters whose posterior leans against one bound.

PyMC maps a ``Uniform(lower, upper)`` parameter to the real line with the logit of its
position in the interval. When the likelihood flattens towards one bound (the Crystal Ball's
tail exponent n: large n all look alike), the posterior in logit coordinates has a long,
heavy tail that NUTS explores slowly. :class:`CLogLogInterval` is the complementary log-log
map instead: logarithmic near the lower bound, double-logarithmic near the upper one, so the
stretched side is compressed. Only the coordinates NUTS moves in change; the prior, the
posterior and the MAP (found in natural parameters) are the same.

Use it as ``pm.Uniform(name, lower, upper, default_transform=CLogLogInterval(lower, upper))``
for a parameter whose posterior piles up towards ``upper``.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pymc.logprob.transforms import Transform

__all__ = ["CLogLogInterval"]


class CLogLogInterval(Transform):
    """Complementary log-log map of (lower, upper) onto the real line.

    With q = (x − lower)/(upper − lower), the unconstrained value is u = log(−log(1 − q)),
    and x = lower + (upper − lower)·(1 − exp(−eᵘ)), log \\|dx/du\\| = log(upper − lower) + u − eᵘ.

    Parameters
    ----------
    lower, upper : float
        The bounds of the parameter. On a ``Uniform`` variable the transform reads the bounds
        from the variable itself (its last two inputs), so bounds held in ``pm.Data`` can
        change without recompiling; these numbers are used only without such inputs.
    """

    name = "cloglog_interval"
    ndim_supp = 0

    def __init__(self, lower, upper):
        self.lower, self.upper = float(lower), float(upper)
        if not self.lower < self.upper:
            raise ValueError(f"need lower < upper (got {lower}, {upper})")

    def _bounds(self, inputs):
        return (inputs[-2], inputs[-1]) if len(inputs) >= 2 else (self.lower, self.upper)

    def forward(self, value, *inputs):
        """Return u = log(−log(1 − q)) for the parameter value."""
        lower, upper = self._bounds(inputs)
        q = (value - lower) / (upper - lower)
        return pt.log(-pt.log1p(-q))

    def backward(self, value, *inputs):
        """Return the parameter value lower + (upper − lower)·(1 − exp(−eᵘ))."""
        lower, upper = self._bounds(inputs)
        return lower + (upper - lower) * -pt.expm1(-pt.exp(value))

    def log_jac_det(self, value, *inputs):
        """Return log \\|dx/du\\| = log(upper − lower) + u − eᵘ."""
        lower, upper = self._bounds(inputs)
        return pt.log(upper - lower) + value - pt.exp(value)
