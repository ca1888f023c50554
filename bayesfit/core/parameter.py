"""Fit parameters: a name, a start value, bounds, a unit, and the Bayesian fit's prior.

A :class:`Parameter` is shared by every component that uses it (one ``mu`` for two peaks),
exactly as in zfit. Its bounds are MIGRAD's limits and the range of the default flat prior;
``prior=`` replaces the flat prior for the Bayesian fits (the MLE never sees a prior).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Parameter", "guessed_parameters", "value_of"]


@dataclass(frozen=True, eq=False)
class Parameter:
    """One scalar fit parameter.

    Parameters
    ----------
    name : str
        Name used by iminuit, by the PyMC free variable and in ``result.json``.
    start : float
        Start value for MIGRAD and for the MAP search; strictly inside the bounds.
    lower, upper : float
        Bounds: MIGRAD's limits (unless ``limit=False``), the box of the MAP search and the
        range of the default flat prior.
    unit : str
        Physical unit for labels (``"GeV"``); empty for dimensionless parameters.
    label : str
        Matplotlib (LaTeX) label for plots; the name if empty.
    prior : callable or PyMC distribution, optional
        The prior of the Bayesian fits instead of ``Uniform(lower, upper)``: either a function
        ``prior(name)`` that creates the named variable inside the model context (e.g.
        ``lambda name: pm.LogNormal(name, 0, 0.7)``), or an unnamed distribution
        (``pm.LogNormal.dist(0, 0.7)``).
    limit : bool
        Whether MIGRAD enforces the bounds. Set it False where the bounds only define the
        flat prior's range: Minuit's bound transform distorts HESSE errors slightly.
    sampler_transform : callable, optional
        ``f(lower, upper)`` returning the PyMC transform NUTS samples a flat-prior parameter
        in (see :mod:`bayesfit.modeling.transforms`); PyMC's logit interval map if omitted. It
        changes the sampler's coordinates only, never the prior or the posterior.

    Examples
    --------
    >>> import bayesfit as bf
    >>> mu = bf.Parameter("mu", 10.575, 10.50, 10.65, unit="GeV")
    """

    name: str
    start: float
    lower: float
    upper: float
    unit: str = ""
    label: str = ""
    prior: object = None
    limit: bool = True
    sampler_transform: object = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"parameter name {self.name!r} must be a Python identifier")
        for attr in ("start", "lower", "upper"):
            object.__setattr__(self, attr, float(getattr(self, attr)))
        if math.isnan(self.lower) or math.isnan(self.upper) or not self.lower < self.upper:
            raise ValueError(f"parameter {self.name}: need lower < upper (got {self.lower:g}, {self.upper:g})")
        if not self.lower < self.start < self.upper:
            raise ValueError(f"parameter {self.name}: start {self.start:g} is not inside "
                             f"({self.lower:g}, {self.upper:g})")

    def __repr__(self):
        unit = f", unit={self.unit!r}" if self.unit else ""
        return f"Parameter({self.name!r}, {self.start:g}, {self.lower:g}, {self.upper:g}{unit})"

    def replace(self, **changes) -> "Parameter":
        """Return a copy with some fields changed (``start``, ``lower``, ``upper`` …)."""
        return replace(self, **changes)

    def pymc_variable(self):
        """Create this parameter's free variable in the PyMC model in context.

        Returns
        -------
        TensorVariable
            ``Uniform(lower, upper)`` by default, or the ``prior``.

        Notes
        -----
        The bounds of the default prior enter as ``pm.Data`` (``{name}_lower``,
        ``{name}_upper``), like the data: bounds a model derives from each dataset (its
        ``guess``) then change no compiled function (:mod:`bayesfit.backend.compiled`).
        """
        import pymc as pm

        if self.prior is None:
            kwargs = {}
            if self.sampler_transform is not None:
                kwargs["default_transform"] = self.sampler_transform(self.lower, self.upper)
            lower = pm.Data(f"{self.name}_lower", np.float64(self.lower))
            upper = pm.Data(f"{self.name}_upper", np.float64(self.upper))
            return pm.Uniform(self.name, lower, upper, **kwargs)
        if callable(self.prior):
            return self.prior(self.name)
        model = pm.modelcontext(None)
        rv = self.prior.owner.clone().default_output()
        return model.register_rv(rv, self.name)

    @property
    def axis_label(self) -> str:
        """Return the plot label with its unit in brackets."""
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text


def guessed_parameters(params, guessed: dict) -> dict:
    """Return ``{name: Parameter}`` with the start values and bounds a model's ``guess`` gave.

    Parameters
    ----------
    params : sequence of Parameter
    guessed : dict
        ``{name: start}`` or ``{name: (start, lower, upper)}``; names not in ``params`` are
        ignored. Starts are moved inside the bounds (by 10⁻⁶ of their width).

    Returns
    -------
    dict
        Only the parameters that changed.

    Raises
    ------
    bayesfit.core.io.InputError
        For a guess that is not finite or has lower ≥ upper (data beyond floating-point range).
    """
    from bayesfit.core.io import InputError

    changes = {}
    for p in params:
        if p.name not in guessed:
            continue
        g = guessed[p.name]
        start, lower, upper = g if hasattr(g, "__len__") else (g, p.lower, p.upper)
        start, lower, upper = float(start), float(lower), float(upper)
        lower, upper = min(lower, upper), max(lower, upper)
        if not all(math.isfinite(v) for v in (start, lower, upper)) or not lower < upper:
            raise InputError(f"the data give no usable range for {p.name} (start {start:g}, bounds "
                             f"{lower:g} to {upper:g}): are they within floating-point range?")
        margin = 1e-6 * (upper - lower)
        changes[p.name] = p.replace(start=min(max(start, lower + margin), upper - margin), lower=lower, upper=upper)
    return changes


def value_of(slot, free):
    """Return the value of a model slot: a free parameter's from ``free``, else the fixed number.

    Parameters
    ----------
    slot : Parameter or float
        What a component or a weight was declared with.
    free : dict
        Values (numbers or graph variables) of the free parameters by name.

    Returns
    -------
    float or object
        ``free[slot.name]`` for a parameter, else ``slot`` itself.
    """
    return free[slot.name] if isinstance(slot, Parameter) else slot
