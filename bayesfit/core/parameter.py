"""Fit parameters: a name, a start value, bounds, a unit, a prior or a constraint; and arithmetic on them.

A :class:`Parameter` is shared by every component that uses it (one ``mu`` for two peaks),
exactly as in zfit. Its bounds are MIGRAD's limits and the range of the default flat prior.
Two ways to add knowledge from outside the data, which the two schools treat differently:

- ``prior=`` replaces the flat prior of the **Bayesian fits only**; the MLE never sees it, so
  MAP and MLE then differ by design (the result marks such rows);
- ``constraint=(centre, width)`` is an auxiliary measurement (a calibration): a Gaussian term
  in the likelihood of **both** sides, profiled by the MLE and integrated by NUTS, where it
  acts as the prior (:mod:`bayesfit.modeling.constraints` for correlated, Poisson and
  log-normal constraints).

Arithmetic on parameters gives a :class:`Derived` parameter, usable wherever a parameter is
(a component's shape, a fraction, a yield)::

    sigma_2s = sigma * (10.0233 / 9.4603)          # a resolution that scales with the mass
    m_2s = (m_1s + dm).named("m_2s", unit="GeV")   # named: reported with the fit parameters

A named derived parameter appears in the result with its MLE and HESSE error (the covariance
propagated with its exact Jacobian), its MAP and Laplace error, and its posterior (the
transformed draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Parameter", "Derived", "guessed_parameters", "value_of", "free_parameters", "named_derived"]


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
    constraint : (float, float), optional
        ``(centre, width)`` of an auxiliary Gaussian measurement of this parameter (a
        calibration): the term ½((θ − centre)/width)² joins the negative log-likelihood of the
        MLE (as iminuit's ``NormalConstraint``) and, the same term, the log posterior of the
        Bayesian fits, where it is the prior within the bounds. Exclusive with ``prior``.
    boundary : {None, "lower", "upper"}
        The bound on that side is physical, not a choice of range: a signal yield ≥ 0, an
        efficiency ≤ 1. A fit that ends there reports the parameter as sitting on its boundary,
        with a one-sided interval to be quoted as a limit (:func:`bayesfit.upper_limit`), never
        as "widen the bounds".

    Examples
    --------
    >>> import bayesfit as bf
    >>> mu = bf.Parameter("mu", 10.575, 10.50, 10.65, unit="GeV")
    >>> sigma = bf.Parameter("sigma", 0.04, 0.01, 0.1, constraint=(0.041, 0.002))
    >>> (sigma * 2).named("sigma_2").evaluate({"sigma": 0.04})
    0.08
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
    constraint: tuple = None
    boundary: str = None

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
        if self.boundary not in (None, "lower", "upper"):
            raise ValueError(f"parameter {self.name}: boundary is None, 'lower' or 'upper' (got {self.boundary!r})")
        if self.boundary is not None and not math.isfinite(getattr(self, self.boundary)):
            raise ValueError(f"parameter {self.name}: a physical boundary needs a finite {self.boundary} bound")
        if self.constraint is not None:
            try:
                centre, width = (float(v) for v in self.constraint)
            except (TypeError, ValueError):
                raise ValueError(f"parameter {self.name}: constraint must be (centre, width), "
                                 f"got {self.constraint!r}") from None
            if not (math.isfinite(centre) and math.isfinite(width) and width > 0):
                raise ValueError(f"parameter {self.name}: constraint needs a finite centre and a width > 0 "
                                 f"(got {centre:g}, {width:g})")
            if self.prior is not None:
                raise ValueError(f"parameter {self.name}: give a prior or a constraint, not both (a constraint "
                                 f"is the prior of the Bayesian fits)")
            object.__setattr__(self, "constraint", (centre, width))

    def __repr__(self):
        unit = f", unit={self.unit!r}" if self.unit else ""
        return f"Parameter({self.name!r}, {self.start:g}, {self.lower:g}, {self.upper:g}{unit})"

    def replace(self, **changes) -> "Parameter":
        """Return a copy with some fields changed (``start``, ``lower``, ``upper`` …)."""
        return replace(self, **changes)

    # --- arithmetic: a Derived parameter ----------------------------------------------
    def __add__(self, other):
        return Derived("add", (self, other))

    def __radd__(self, other):
        return Derived("add", (other, self))

    def __sub__(self, other):
        return Derived("sub", (self, other))

    def __rsub__(self, other):
        return Derived("sub", (other, self))

    def __mul__(self, other):
        return Derived("mul", (self, other))

    def __rmul__(self, other):
        return Derived("mul", (other, self))

    def __truediv__(self, other):
        return Derived("div", (self, other))

    def __rtruediv__(self, other):
        return Derived("div", (other, self))

    def __pow__(self, other):
        return Derived("pow", (self, other))

    def __rpow__(self, other):
        return Derived("pow", (other, self))

    def __neg__(self):
        return Derived("neg", (self,))

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


_SYMBOLS = {"add": "+", "sub": "−", "mul": "·", "div": "/", "pow": "^"}


class Derived:
    """A parameter computed from others by arithmetic: ``sigma * 1.06``, ``m1 + dm``, ``mu * eff * lumi``.

    Made by arithmetic on :class:`Parameter` objects (``+ − * / **`` and unary minus, with
    numbers or other parameters); never constructed directly. It has no start value or bounds
    of its own: the fits vary its free parameters, and it is evaluated from them, in numpy for
    the MLE and in PyTensor for the Bayesian fits (the same expression, evaluated by operator
    overloading on either kind of number).

    Attributes
    ----------
    name : str
        The name given with :meth:`named`, else the expression (``"sigma·1.06"``).
    unit, label : str
        Given with :meth:`named`.
    is_named : bool
        Whether :meth:`named` gave it a name: only named derived parameters are reported.
    """

    def __init__(self, op, operands, *, name=None, unit="", label=""):
        for x in operands:
            if not isinstance(x, (Parameter, Derived)):
                try:
                    if not math.isfinite(float(x)):
                        raise ValueError
                except (TypeError, ValueError):
                    raise TypeError(f"arithmetic on a parameter needs finite numbers or parameters, got {x!r}") from None
        if op == "div" and isinstance(operands[1], Parameter) and operands[1].lower <= 0 <= operands[1].upper:
            raise ValueError(f"{operands[1].name} divides but may be 0 within its bounds [{operands[1].lower:g}, "
                             f"{operands[1].upper:g}]: the fits would meet an infinite value; narrow its bounds")
        if op == "div" and not isinstance(operands[1], (Parameter, Derived)) and float(operands[1]) == 0:
            raise ValueError("division of a parameter by zero")
        integer_power = op == "pow" and not isinstance(operands[1], (Parameter, Derived)) \
            and float(operands[1]).is_integer()
        if op == "pow" and isinstance(operands[0], Parameter) and operands[0].lower < 0 and not integer_power:
            raise ValueError(f"{operands[0].name} is raised to a non-integer power but may be negative within its bounds "
                             f"[{operands[0].lower:g}, {operands[0].upper:g}]; narrow its bounds")
        # numpy float64 constants: PyTensor would make a Python float a float32 constant
        self.op = op
        self.operands = tuple(x if isinstance(x, (Parameter, Derived)) else np.float64(x) for x in operands)
        self.is_named = name is not None
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise ValueError(f"derived parameter name {name!r} must be a Python identifier")
        self.name = name if name is not None else self.expression
        self.unit, self.label = unit, label

    def named(self, name, *, unit="", label="") -> "Derived":
        """Return this derived parameter with a name (and unit, plot label): it is then reported.

        Parameters
        ----------
        name : str
            A Python identifier, distinct from every parameter's name.
        unit, label : str

        Returns
        -------
        Derived
        """
        return Derived(self.op, self.operands, name=name, unit=unit, label=label)

    @property
    def expression(self) -> str:
        """Return the expression in the parameters' names (``"(m1 + dm)"``)."""
        def text(x):
            if isinstance(x, Parameter) or (isinstance(x, Derived) and x.is_named):
                return x.name
            if isinstance(x, Derived):
                return x.expression
            return f"{float(x):g}"
        if self.op == "neg":
            return f"−{text(self.operands[0])}"
        a, b = self.operands
        return f"({text(a)} {_SYMBOLS[self.op]} {text(b)})"

    @property
    def axis_label(self) -> str:
        """Return the plot label with its unit in brackets."""
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text

    @property
    def parameters(self) -> tuple:
        """Return the free :class:`Parameter` objects it depends on, in order of appearance."""
        return free_parameters(self.operands)

    def __repr__(self):
        return f"Derived({self.name!r} = {self.expression})" if self.is_named else f"Derived({self.expression})"

    def evaluate(self, free):
        """Return the value at ``free`` (name → number, numpy array or PyTensor variable).

        Parameters
        ----------
        free : dict

        Returns
        -------
        float, numpy.ndarray or pytensor.tensor.TensorVariable
        """
        args = [value_of(x, free) for x in self.operands]
        if self.op == "neg":
            return -args[0]
        a, b = args
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                "div": lambda: a / b, "pow": lambda: a ** b}[self.op]()

    def gradient(self, free) -> dict:
        """Return the exact derivatives ∂value/∂θ by the chain rule, ``{name: float}``.

        Parameters
        ----------
        free : dict
            Name → number.

        Returns
        -------
        dict
            One entry per free parameter it depends on.
        """
        return _value_and_gradient(self, free)[1]

    def substitute(self, changes: dict) -> "Derived":
        """Return a copy with its parameters replaced by name (``{name: Parameter}``)."""
        def swap(x):
            if isinstance(x, Parameter):
                return changes.get(x.name, x)
            if isinstance(x, Derived):
                return x.substitute(changes)
            return x
        out = Derived(self.op, tuple(swap(x) for x in self.operands), unit=self.unit, label=self.label)
        out.is_named, out.name = self.is_named, self.name
        return out

    # the same arithmetic on derived parameters
    __add__ = Parameter.__add__
    __radd__ = Parameter.__radd__
    __sub__ = Parameter.__sub__
    __rsub__ = Parameter.__rsub__
    __mul__ = Parameter.__mul__
    __rmul__ = Parameter.__rmul__
    __truediv__ = Parameter.__truediv__
    __rtruediv__ = Parameter.__rtruediv__
    __pow__ = Parameter.__pow__
    __rpow__ = Parameter.__rpow__
    __neg__ = Parameter.__neg__


def _value_and_gradient(slot, free):
    """Return ``(value, {name: derivative})`` of a slot at numeric ``free`` (forward chain rule)."""
    if isinstance(slot, Parameter):
        return float(free[slot.name]), {slot.name: 1.0}
    if not isinstance(slot, Derived):
        return float(slot), {}
    parts = [_value_and_gradient(x, free) for x in slot.operands]
    if slot.op == "neg":
        (a, da), = parts
        return -a, {k: -v for k, v in da.items()}
    (a, da), (b, db) = parts
    names = list(dict.fromkeys([*da, *db]))
    d = lambda g, k: g.get(k, 0.0)  # noqa: E731
    if slot.op == "add":
        return a + b, {k: d(da, k) + d(db, k) for k in names}
    if slot.op == "sub":
        return a - b, {k: d(da, k) - d(db, k) for k in names}
    if slot.op == "mul":
        return a * b, {k: d(da, k) * b + a * d(db, k) for k in names}
    if slot.op == "div":
        return a / b, {k: d(da, k) / b - a * d(db, k) / b**2 for k in names}
    value = a ** b  # pow: d(a^b) = b a^(b−1) da + a^b ln(a) db (the second only where b varies)
    return value, {k: b * a ** (b - 1) * d(da, k) + (value * math.log(a) * d(db, k) if d(db, k) else 0.0)
                   for k in names}


def free_parameters(slots) -> tuple:
    """Return the distinct :class:`Parameter` objects in ``slots`` (parameters, derived ones, numbers), in order.

    Parameters
    ----------
    slots : iterable

    Returns
    -------
    tuple of Parameter
    """
    found = {}
    for x in slots:
        for p in ((x,) if isinstance(x, Parameter) else x.parameters if isinstance(x, Derived) else ()):
            found.setdefault(id(p), p)
    return tuple(found.values())


def named_derived(slots) -> tuple:
    """Return the named :class:`Derived` parameters in ``slots`` and inside them, one per name, in order.

    Parameters
    ----------
    slots : iterable
        Parameters, derived parameters and numbers.

    Returns
    -------
    tuple of Derived

    Raises
    ------
    ValueError
        A derived parameter named like a free parameter.
    """
    found = {}

    def visit(x):
        if isinstance(x, Derived):
            for y in x.operands:
                visit(y)
            if x.is_named:
                found.setdefault(x.name, x)

    for x in slots:
        visit(x)
    clash = {p.name for p in free_parameters(slots)} & set(found)
    if clash:
        raise ValueError(f"derived parameter(s) named like a free parameter: {', '.join(sorted(clash))}")
    return tuple(found.values())


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
    slot : Parameter, Derived or float
        What a component or a weight was declared with.
    free : dict
        Values (numbers or graph variables) of the free parameters by name.

    Returns
    -------
    float or object
        ``free[slot.name]`` for a parameter, else ``slot`` itself.
    """
    if isinstance(slot, Parameter):
        return free[slot.name]
    if isinstance(slot, Derived):
        return slot.evaluate(free)
    return slot
