"""Constraints: auxiliary measurements of parameters, in the likelihood of both fits.

A calibration measures a resolution, an efficiency or a background level elsewhere, with an
error; the analysis then *constrains* that parameter. A constraint is the likelihood of the
auxiliary measurement, and the two schools use the same term differently:

- the **MLE** adds −ln L_aux to the negative log-likelihood and *profiles* the parameter (as
  iminuit's ``NormalConstraint``, zfit's ``GaussianConstraint``, RooFit's constraint terms);
- the **Bayesian fits** add the same ln L_aux to the log posterior: with the flat prior within
  the parameter's bounds it *is* the prior, and NUTS *integrates* over it.

The two agree where the likelihood is Gaussian; where they differ, the difference is the
difference between profiling and marginalising. A ``prior=`` is another thing: Bayesian only.

When to use which:

- :class:`GaussianConstraint` for a measured value with a Gaussian error, or several
  correlated ones with their covariance matrix (the usual case; ``Parameter(...,
  constraint=(centre, width))`` is the one-parameter shorthand);
- :class:`PoissonConstraint` for a yield measured by counting in a control region
  (``n_aux ~ Poisson(scale · θ)``);
- :class:`LogNormalConstraint` for a positive quantity known to a relative error
  (an efficiency, a luminosity): ``ln c ~ Normal(ln θ, ln(1 + relative error))``.

The measured values (the *global observables*) are data: they enter the PyMC model as
``pm.Data``, so toys that draw them afresh for each dataset (as they must, for their coverage
to include the calibration's own fluctuation) compile nothing new.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from scipy import special

from bayesfit.core.parameter import Parameter

__all__ = ["Constraint", "GaussianConstraint", "PoissonConstraint", "LogNormalConstraint", "ConstraintTerms",
           "collect_constraints"]


class Constraint:
    """The likelihood of an auxiliary measurement of some parameters (see the module docstring).

    Subclasses set :attr:`params`, :attr:`observed` (the measured values, a float array) and
    implement :meth:`nll`, :meth:`gradient`, :meth:`hessian`, :meth:`logp` and :meth:`draw`.
    """

    kind = "constraint"
    params: tuple = ()
    observed: np.ndarray

    @property
    def name(self) -> str:
        """Return the constraint's name: its kind and its parameters' names."""
        return f"{self.kind}_" + "_".join(p.name for p in self.params)

    @property
    def data_name(self) -> str:
        """Return the name of the ``pm.Data`` that holds the measured values."""
        return f"{self.name}_observed"

    def nll(self, theta: np.ndarray, observed: np.ndarray) -> float:
        """Return −ln L_aux of the measured values ``observed`` at parameter values ``theta``."""
        raise NotImplementedError

    def gradient(self, theta, observed) -> np.ndarray:
        """Return ∂(−ln L_aux)/∂θ."""
        raise NotImplementedError

    def hessian(self, theta, observed) -> np.ndarray:
        """Return ∂²(−ln L_aux)/∂θ²."""
        raise NotImplementedError

    def logp(self, theta, observed):
        """Return ln L_aux as a PyTensor graph of the parameters ``theta`` (a list) and ``observed``."""
        raise NotImplementedError

    def expected(self, theta: np.ndarray) -> np.ndarray:
        """Return the measured values an Asimov dataset holds at ``theta``: those that maximise L_aux there."""
        return np.asarray(theta, dtype=float).copy()

    def draw(self, theta: np.ndarray, rng) -> np.ndarray:
        """Return measured values drawn at true parameter values ``theta`` (for toys)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Return one line for the result: what is measured, and how."""
        raise NotImplementedError


def _check_params(params, what):
    params = tuple(params)
    if not params or not all(isinstance(p, Parameter) for p in params):
        raise TypeError(f"{what}: constrain bayesfit.Parameter objects (not derived ones or numbers), got {params!r}")
    if len({p.name for p in params}) != len(params):
        raise ValueError(f"{what}: a parameter appears twice")
    return params


class GaussianConstraint(Constraint):
    """Gaussian measurement of one or several parameters: ½ (θ − c)ᵀ V⁻¹ (θ − c).

    Parameters
    ----------
    params : Parameter or sequence of Parameter
    centres : float or sequence of float
        The measured values.
    widths : float or sequence of float, optional
        Their errors (uncorrelated). Give ``widths`` or ``covariance``.
    covariance : array_like, optional
        The measurements' covariance matrix (symmetric, positive definite).

    Examples
    --------
    >>> import bayesfit as bf
    >>> a = bf.Parameter("a", 1.0, 0.0, 2.0)
    >>> b = bf.Parameter("b", 1.0, 0.0, 2.0)
    >>> c = bf.GaussianConstraint([a, b], [1.1, 0.9], covariance=[[0.04, 0.01], [0.01, 0.09]])
    """

    kind = "gauss"

    def __init__(self, params, centres, *, widths=None, covariance=None):
        params = [params] if isinstance(params, Parameter) else params
        self.params = _check_params(params, "GaussianConstraint")
        k = len(self.params)
        self.observed = np.atleast_1d(np.asarray(centres, dtype=float))
        if self.observed.shape != (k,) or not np.all(np.isfinite(self.observed)):
            raise ValueError(f"GaussianConstraint: need {k} finite centre(s), got {centres!r}")
        if (widths is None) == (covariance is None):
            raise ValueError("GaussianConstraint: give widths or covariance (one of the two)")
        if widths is not None:
            w = np.atleast_1d(np.asarray(widths, dtype=float))
            if w.shape != (k,) or not np.all(np.isfinite(w)) or not np.all(w > 0):
                raise ValueError(f"GaussianConstraint: need {k} finite width(s) > 0, got {widths!r}")
            cov = np.diag(w**2)
        else:
            cov = np.atleast_2d(np.asarray(covariance, dtype=float))
            if cov.shape != (k, k) or not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T):
                raise ValueError(f"GaussianConstraint: the covariance must be a finite symmetric {k}×{k} matrix")
        try:
            self._chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("GaussianConstraint: the covariance is not positive definite") from None
        self.covariance = cov
        self.precision = np.linalg.inv(cov)

    def nll(self, theta, observed):
        r = np.asarray(theta, dtype=float) - observed
        return 0.5 * float(r @ self.precision @ r)

    def gradient(self, theta, observed):
        return self.precision @ (np.asarray(theta, dtype=float) - observed)

    def hessian(self, theta, observed):
        return self.precision.copy()

    def logp(self, theta, observed):
        r = pt.stack(theta) - observed
        return -0.5 * pt.dot(r, pt.dot(pt.as_tensor_variable(self.precision), r))

    def draw(self, theta, rng):
        return np.asarray(theta, dtype=float) + self._chol @ rng.standard_normal(len(self.params))

    def describe(self):
        sd = np.sqrt(np.diag(self.covariance))
        parts = ", ".join(f"{p.name} = {c:.6g} ± {s:.3g}" for p, c, s in zip(self.params, self.observed, sd))
        correlated = len(self.params) > 1 and np.any(np.abs(self.covariance - np.diag(np.diag(self.covariance))) > 0)
        return f"Gaussian: {parts}" + (" (correlated)" if correlated else "")


class PoissonConstraint(Constraint):
    """A count in a control region: n_aux ~ Poisson(scale · θ), −ln L = scale·θ − n ln(scale·θ) + ln n!.

    Parameters
    ----------
    param : Parameter
        A non-negative parameter (a yield; its lower bound must be ≥ 0).
    observed : int
        The count n_aux.
    scale : float
        The control region's expected count per unit of θ (a transfer factor τ).
    """

    kind = "poisson"

    def __init__(self, param, observed, *, scale=1.0):
        self.params = _check_params([param], "PoissonConstraint")
        if param.lower < 0:
            raise ValueError(f"PoissonConstraint: {param.name} must be ≥ 0 (its lower bound is {param.lower:g})")
        n = float(observed)
        if not (math.isfinite(n) and n >= 0 and n == int(n)):
            raise ValueError(f"PoissonConstraint: observed must be a count ≥ 0, got {observed!r}")
        self.scale = float(scale)
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"PoissonConstraint: scale must be > 0, got {scale!r}")
        self.observed = np.array([n])

    def nll(self, theta, observed):
        mu, n = self.scale * float(theta[0]), float(observed[0])
        if mu <= 0:
            return 0.0 if n == 0 and mu == 0 else math.inf
        return mu - n * math.log(mu) + float(special.gammaln(n + 1))

    def gradient(self, theta, observed):
        return np.array([self.scale - float(observed[0]) / float(theta[0])])

    def hessian(self, theta, observed):
        return np.array([[float(observed[0]) / float(theta[0]) ** 2]])

    def logp(self, theta, observed):
        mu, n = self.scale * theta[0], observed[0]
        return n * pt.log(mu) - mu - pt.gammaln(n + 1)

    def expected(self, theta):
        return np.array([self.scale * float(theta[0])])

    def draw(self, theta, rng):
        return np.array([float(rng.poisson(self.scale * float(theta[0])))])

    def describe(self):
        return f"Poisson: {self.observed[0]:.0f} events counted for {self.scale:g} × {self.params[0].name}"


class LogNormalConstraint(Constraint):
    """A positive quantity known to a relative error: ln c ~ Normal(ln θ, s), s = ln(1 + relative error).

    Parameters
    ----------
    param : Parameter
        A positive parameter (its lower bound must be > 0).
    centre : float
        The measured value c > 0.
    relative_error : float
        Its relative error κ − 1 (0.05 for 5 %).
    """

    kind = "lognormal"

    def __init__(self, param, centre, *, relative_error):
        self.params = _check_params([param], "LogNormalConstraint")
        if param.lower <= 0:
            raise ValueError(f"LogNormalConstraint: {param.name} must be > 0 (its lower bound is {param.lower:g})")
        c, rel = float(centre), float(relative_error)
        if not (math.isfinite(c) and c > 0 and math.isfinite(rel) and rel > 0):
            raise ValueError(f"LogNormalConstraint: need centre > 0 and relative_error > 0, got {centre!r}, "
                             f"{relative_error!r}")
        self.relative_error = rel
        self.sigma = math.log1p(rel)
        self.observed = np.array([c])

    def nll(self, theta, observed):
        z = (math.log(float(theta[0])) - math.log(float(observed[0]))) / self.sigma
        return 0.5 * z * z

    def gradient(self, theta, observed):
        t = float(theta[0])
        return np.array([(math.log(t) - math.log(float(observed[0]))) / (self.sigma**2 * t)])

    def hessian(self, theta, observed):
        t = float(theta[0])
        return np.array([[(1.0 - (math.log(t) - math.log(float(observed[0])))) / (self.sigma**2 * t * t)]])

    def logp(self, theta, observed):
        z = (pt.log(theta[0]) - pt.log(observed[0])) / self.sigma
        return -0.5 * z * z

    def draw(self, theta, rng):
        return np.array([float(theta[0]) * math.exp(self.sigma * rng.standard_normal())])

    def describe(self):
        return f"log-normal: {self.params[0].name} = {self.observed[0]:.6g} × (1 ± {self.relative_error:g})"


def collect_constraints(params, constraints=()) -> tuple:
    """Return the constraints of a model: those given, and one per ``Parameter(constraint=...)``.

    Parameters
    ----------
    params : sequence of Parameter
        The model's free parameters.
    constraints : sequence of Constraint

    Returns
    -------
    tuple of Constraint

    Raises
    ------
    TypeError, ValueError
        Not a constraint, a parameter not in the model, or one constrained twice.
    """
    out = list(constraints)
    for c in out:
        if not isinstance(c, Constraint):
            raise TypeError(f"constraints must be bayesfit constraints (bf.GaussianConstraint, ...), got {c!r}")
    out += [GaussianConstraint(p, p.constraint[0], widths=p.constraint[1]) for p in params if p.constraint is not None]
    known = {p.name for p in params}
    seen = set()
    for c in out:
        for p in c.params:
            if p.name not in known:
                raise ValueError(f"constraint on {p.name}: not a parameter of this model")
            if p.name in seen:
                raise ValueError(f"{p.name} is constrained twice")
            seen.add(p.name)
    return tuple(out)


class ConstraintTerms:
    """The constraints of a problem on its parameter vector: what the fits add to the likelihood.

    Parameters
    ----------
    constraints : sequence of Constraint
    names : sequence of str
        The problem's parameter names, in order.
    """

    def __init__(self, constraints, names):
        self.constraints = tuple(constraints)
        names = list(names)
        self.index = [[names.index(p.name) for p in c.params] for c in self.constraints]
        self.observed = {c.data_name: c.observed.copy() for c in self.constraints}
        self.size = len(names)

    def __bool__(self):
        return bool(self.constraints)

    def nll(self, values) -> float:
        """Return Σ −ln L_aux at the parameter vector ``values``."""
        return sum(c.nll(np.asarray(values)[i], self.observed[c.data_name])
                   for c, i in zip(self.constraints, self.index))

    def gradient(self, values) -> np.ndarray:
        """Return the gradient of :meth:`nll`."""
        g = np.zeros(self.size)
        for c, i in zip(self.constraints, self.index):
            g[i] += c.gradient(np.asarray(values)[i], self.observed[c.data_name])
        return g

    def hessian(self, values) -> np.ndarray:
        """Return the Hessian of :meth:`nll`."""
        h = np.zeros((self.size, self.size))
        for c, i in zip(self.constraints, self.index):
            h[np.ix_(i, i)] += c.hessian(np.asarray(values)[i], self.observed[c.data_name])
        return h

    def add_potentials(self, free: dict):
        """Add each ln L_aux to the PyMC model in context, its measured values as ``pm.Data``."""
        import pymc as pm

        for c in self.constraints:
            observed = pm.Data(c.data_name, self.observed[c.data_name])
            pm.Potential(c.name, c.logp([free[p.name] for p in c.params], observed))

    def draw(self, truth, rng) -> dict:
        """Return measured values drawn at the parameter vector ``truth``, ``{data name: array}``."""
        return {c.data_name: c.draw(np.asarray(truth, dtype=float)[i], rng) for c, i in zip(self.constraints, self.index)}

    def describe(self) -> list:
        """Return one line per constraint."""
        return [c.describe() for c in self.constraints]
