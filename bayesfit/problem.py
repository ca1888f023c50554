"""What a model module hands to the engine.

A module in ``models/`` describes *what* is fitted by subclassing :class:`Problem`: its data,
its parameters (start values and bounds), an independent negative log-likelihood written
with numpy/scipy for iminuit, and a PyMC model whose free variables carry the same names.
The engine (:mod:`bayesfit.engine`) knows *how* to fit any such problem three ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Parameter", "Problem"]


@dataclass(frozen=True)
class Parameter:
    """One scalar fit parameter.

    Parameters
    ----------
    name : str
        Name used by iminuit, by the PyMC free variable and in ``result.json``.
    start : float
        Start value for MIGRAD and for the MAP search.
    lower, upper : float
        Bounds; the flat prior of the Bayesian fit is uniform between them.
    label : str
        Matplotlib (LaTeX) label for plots.
    unit : str
        Physical unit for axis labels; empty for dimensionless parameters.
    limit : bool
        Whether MIGRAD enforces the bounds. Set it False where the bounds only define the
        range of the flat prior: Minuit's bound transform distorts HESSE errors at the
        1e-4 level even far from a bound.
    sampler_transform : callable, optional
        ``f(lower, upper)`` returning the PyMC transform NUTS samples this parameter in
        (see :mod:`bayesfit.transforms`); PyMC's logit interval map if omitted. It changes
        the sampler's coordinates only, never the prior or the posterior.
    """

    name: str
    start: float
    lower: float
    upper: float
    label: str = ""
    unit: str = ""
    limit: bool = True
    sampler_transform: object = None

    def __post_init__(self):
        if not self.lower < self.start < self.upper:
            raise ValueError(
                f"parameter {self.name}: start {self.start} is not inside ({self.lower}, {self.upper})"
            )

    def uniform(self):
        """Return this parameter's flat prior as a PyMC ``Uniform`` (inside a model context)."""
        import pymc as pm

        kwargs = {}
        if self.sampler_transform is not None:
            kwargs["default_transform"] = self.sampler_transform(self.lower, self.upper)
        return pm.Uniform(self.name, self.lower, self.upper, **kwargs)

    @property
    def axis_label(self) -> str:
        """Return the plot label with its unit in brackets."""
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text


@dataclass
class Problem:
    """Base class of a fit problem; subclass it in a ``models/`` module.

    Subclasses set ``name``, ``params`` and ``n_data`` and implement :meth:`nll`,
    :meth:`pymc_model`, :meth:`gof` and :meth:`plots`. ``meta`` holds anything worth
    recording in ``result.json`` (a pivot, the fit window, the data source).
    """

    name: str
    params: tuple[Parameter, ...]
    n_data: int
    meta: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Return the parameter names in order."""
        return [p.name for p in self.params]

    @property
    def start(self) -> np.ndarray:
        """Return the start values as an array."""
        return np.array([p.start for p in self.params], dtype=float)

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """Return the (lower, upper) bounds of every parameter."""
        return [(p.lower, p.upper) for p in self.params]

    @property
    def mle_limits(self) -> list[tuple]:
        """Return the limits MIGRAD enforces: the bounds, or ``(None, None)`` where free."""
        return [(p.lower, p.upper) if p.limit else (None, None) for p in self.params]

    def nll(self, values: np.ndarray) -> float:
        """Return the negative log-likelihood at ``values`` (numpy/scipy, not PyMC)."""
        raise NotImplementedError

    def pymc_model(self):
        """Return the PyMC model; its free variables are named like :attr:`params`."""
        raise NotImplementedError

    def sampling_model(self):
        """Return a faster model with the same posterior for NUTS, or ``None`` (the default).

        Override it when the likelihood has a compiled one-pass form that gives the log
        density and its gradient but not second derivatives (:mod:`bayesfit.kernels`): the
        MAP + Laplace fit needs the Hessian of :meth:`pymc_model`, NUTS only the gradient.
        """
        return None

    def gof(self, values: np.ndarray) -> dict:
        """Return the goodness of fit at ``values`` as ``{"chi2", "ndf", "p_value"}``."""
        raise NotImplementedError

    def plots(self, fit) -> dict:
        """Return the model's own figures, ``{file stem: matplotlib Figure}``.

        Parameters
        ----------
        fit : bayesfit.engine.FitResult
            The three fits (``fit.mle``, ``fit.map``, ``fit.idata``).
        """
        return {}
