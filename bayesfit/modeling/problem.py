"""What the engine fits: a model bound to its data.

A declared model (:class:`bayesfit.WindowModel`, :class:`bayesfit.LeastSquares`) bound to data
gives a :class:`Problem`: the parameters, an independent negative log-likelihood for iminuit,
the PyMC model whose free variables carry the same names, the goodness of fit and the plots.
The engine (:mod:`bayesfit.engine.fits`) knows how to fit any such problem three ways. Users
declare models; they do not subclass this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayesfit.core.parameter import Parameter
from bayesfit.modeling.constraints import ConstraintTerms

__all__ = ["Parameter", "Problem"]


@dataclass
class Problem:
    """Base class of a model bound to data (see the module docstring).

    Subclasses set ``name``, ``params`` and ``n_data`` and implement :meth:`nll`,
    :meth:`pymc_model`, :meth:`gof` and :meth:`plots`. ``meta`` holds anything worth
    recording in ``result.json`` (a pivot, the fit window, the data source); ``warnings``
    what a model's own checks found wrong, shown with the fit's diagnostics.
    """

    name: str
    params: tuple
    n_data: int
    meta: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

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

    #: The auxiliary measurements in the likelihood (:mod:`bayesfit.modeling.constraints`), with
    #: their measured values; none by default.
    constraint_terms = ConstraintTerms((), ())
    #: The named derived parameters reported beside the fit parameters; none by default.
    derived = ()

    #: The parameter indices that enter one term of −ln p together (a category, a constraint),
    #: where the problem knows them: the Laplace Hessian then needs fewer Hessian-vector
    #: products (:func:`bayesfit.engine.bayes.hessian_directions`). ``None`` (the default): any
    #: pair of parameters may meet.
    hessian_groups = None

    #: The analytic gradient of :meth:`nll`, ``nll_grad(values) -> numpy.ndarray``, where the
    #: model has one (MIGRAD then uses it); ``None`` otherwise.
    nll_grad = None
    #: The analytic Hessian of :meth:`nll`, ``nll_hessian(values) -> numpy.ndarray``, where the
    #: model has one (HESSE then uses it); ``None`` otherwise.
    nll_hessian = None

    def nll(self, values: np.ndarray) -> float:
        """Return the negative log-likelihood at ``values`` (numpy/scipy, not PyMC)."""
        raise NotImplementedError

    def pymc_model(self):
        """Return the PyMC model; its free variables are named like :attr:`params`."""
        raise NotImplementedError

    def sampling_model(self):
        """Return a faster model with the same posterior for NUTS, or ``None`` (the default)."""
        return None

    def gof(self, values: np.ndarray) -> dict:
        """Return the goodness of fit at ``values`` as ``{"chi2", "ndf", "p_value"}``."""
        raise NotImplementedError

    def discrepancy(self, draws: np.ndarray, rng) -> tuple | None:
        """Return the χ² of the data and of replicated data at each posterior draw.

        The posterior-predictive check (:func:`bayesfit.engine.fits.posterior_predictive`) calls
        this with draws θ_s (shape ``(S, len(params))``): it needs, per draw, the χ² of the
        observed data against the expectation at θ_s and the same χ² of a dataset drawn from
        the model at θ_s with ``rng`` (a :class:`numpy.random.Generator`), as two arrays of
        length S. Return ``None`` where the model has no such check (the default).
        """
        return None

    def plots(self, fit) -> dict:
        """Return the model's own figures, ``{file stem: matplotlib Figure}``."""
        return {}
