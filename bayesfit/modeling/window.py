"""Window models: a sum of density components normalised on a fit window [lo, hi].

This is the shape of every mass fit. Declare parameters, components and how they are mixed::

    mu = bf.Parameter("mu", 10.575, 10.50, 10.65, unit="GeV")
    ...
    model = bf.WindowModel((10.2, 10.8), [bf.CrystalBall(mu, sigma, alpha, n),
                                          bf.Exponential(slope)], fractions=[f_sig])

and everything else is derived here, once for all models:

- **weights**: ``fractions`` f_1 … f_{N−1} (the last component takes 1 − Σf; mark another
  component as the remainder with ``None`` in its place), or ``yields`` ν_1 … ν_N for the
  extended likelihood, or nothing for a single component;
- **likelihoods**, unbinned, −Σ_i ln Σ_k w_k p_k(x_i) (+ Σν_k when extended), or *exact*
  binned in equal bins, with p_kj from cdf differences (multinomial, or Poisson when
  extended). Binned fits cost the same for 10³ or 10⁷ events; from :data:`BINNED_ABOVE` events
  :func:`bayesfit.fit` bins automatically in :data:`FIT_BINS` bins (on 10⁵ di-muon events
  300–1,000 bins reproduce the unbinned MLE within 0.03 HESSE σ);
- the maximum-likelihood NLL from the components' **numpy/scipy references** and the PyMC
  model from their **PyTensor graphs**: MAP = MLE is a check between two codes. The PyMC
  model takes the events (or bin counts) as ``pm.Data``;
- expected counts, the binned Pearson χ² (bins with expected > 5, NDF = bins − parameters),
  simulation of events, and the histogram plot with components, pulls and posterior band.

The di-muon structure (Crystal Ball + exponential with a fraction, unbinned) has a compiled
one-pass likelihood (:mod:`bayesfit.modeling.kernels`) that both the MLE and NUTS use automatically.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
from scipy import optimize, stats

from bayesfit.backend.graphs import EVENT_WEIGHTS, EVENTS
from bayesfit.core.io import InputError
from bayesfit.core.sizes import MAX_EVENT_MAGNITUDE, MIN_WINDOW_RELATIVE_WIDTH, MIN_WINDOW_WIDTH
from bayesfit.core.parameter import Derived, Parameter, free_parameters, guessed_parameters, named_derived, value_of
from bayesfit.distributions.base import Component
from bayesfit.modeling.cb_exp import CrystalBallExponential
from bayesfit.modeling.constraints import ConstraintTerms, collect_constraints
from bayesfit.modeling.problem import Problem

__all__ = ["WindowModel", "BINNED_ABOVE", "FIT_BINS"]

#: Event count from which :func:`bayesfit.fit` uses the binned likelihood unless told otherwise.
BINNED_ABOVE = 50_000
#: Default number of bins of the binned likelihood.
FIT_BINS = 400


class WindowModel:
    """A sum of density components normalised on a window (see the module docstring).

    Parameters
    ----------
    window : (float, float)
        The fit window [lo, hi]; ``hi`` may be ``inf`` for a density on a half line.
    components : sequence of bayesfit.distributions.Component
        The shapes, e.g. ``[bf.CrystalBall(mu, sigma, alpha, n), bf.Exponential(slope)]``.
    fractions : sequence of Parameter, float or None, optional
        N − 1 fractions for the first N − 1 components, or N entries with one ``None`` for
        the component that takes the remainder 1 − Σf.
    yields : sequence of Parameter or float, optional
        N expected event counts: the extended likelihood. Exclusive with ``fractions``.
    name : str
        Model name in ``result.json`` and the output files.
    x_label, unit : str
        The observable and its unit, for axis labels (``r"$m(\\mu^+\\mu^-)$"``, ``"GeV"``).
    title : str
        Plot title.
    nbins : int
        Bins of the χ² and the plot (equal width; for an infinite window, bins of equal
        fitted probability).
    min_events : int
        Fewest events in the window that :func:`bayesfit.fit` accepts.
    guess : callable, optional
        ``guess(events, window, nbins) -> {name: start or (start, lower, upper)}``: start values
        (and bounds) derived from the data, applied by :func:`bayesfit.fit` before fitting.
    meta : dict, optional
        Anything to record in ``result.json`` (a source, a citation, reference values).
    checks : callable, optional
        ``checks(problem) -> dict``: extra independent checks stored in ``meta``; a list under
        ``"warnings"`` joins the fit's diagnostics instead.
    plots : callable, optional
        ``plots(fit) -> {stem: Figure}``: extra figures, beside the histogram fit plot.
    constraints : sequence of bayesfit.modeling.constraints.Constraint, optional
        Auxiliary measurements of parameters (:mod:`bayesfit.modeling.constraints`), besides
        those declared with ``Parameter(..., constraint=(centre, width))``.

    Examples
    --------
    >>> import bayesfit as bf
    >>> mu = bf.Parameter("mu", 0.0, -1.0, 1.0)
    >>> sigma = bf.Parameter("sigma", 0.2, 0.01, 1.0)
    >>> c1 = bf.Parameter("c1", 0.0, -1.0, 1.0)
    >>> f = bf.Parameter("f", 0.3, 0.0, 1.0)
    >>> model = bf.WindowModel((-2, 2), [bf.Gaussian(mu, sigma), bf.Chebyshev([c1])], fractions=[f])
    >>> [p.name for p in model.params]
    ['mu', 'sigma', 'c1', 'f']
    """

    def __init__(self, window, components, *, fractions=None, yields=None, name="window_fit",
                 x_label="x", unit="", title="", nbins=100, min_events=1, guess=None, meta=None,
                 checks=None, plots=None, constraints=()):
        try:
            lo, hi = (float(w) for w in window)
        except (TypeError, ValueError):
            raise ValueError(f"window must be two numbers (lo, hi), got {window!r}") from None
        if math.isnan(lo) or math.isnan(hi) or not lo < hi or lo == -math.inf:
            raise ValueError(f"window: need finite lo < hi (got {lo:g}, {hi:g})")
        if abs(lo) > MAX_EVENT_MAGNITUDE or (math.isfinite(hi) and abs(hi) > MAX_EVENT_MAGNITUDE):
            raise ValueError(f"window: [{lo:g}, {hi:g}] reaches beyond ±{MAX_EVENT_MAGNITUDE:g}, where the densities' "
                             "powers of x overflow in double precision; express the data in another unit")
        if math.isfinite(hi) and (hi - lo < MIN_WINDOW_WIDTH
                                  or hi - lo < MIN_WINDOW_RELATIVE_WIDTH * max(abs(lo), abs(hi))):
            raise ValueError(f"window: [{lo:g}, {hi:g}] is too narrow for double precision (its width must be at "
                             f"least {MIN_WINDOW_WIDTH:g} and {MIN_WINDOW_RELATIVE_WIDTH:g} of its position); "
                             "express the data in another unit")
        self.lo, self.hi = np.float64(lo), np.float64(hi)  # float64 constants in PyTensor graphs
        self.components = tuple(components)
        if not self.components or not all(isinstance(c, Component) for c in self.components):
            raise TypeError("components must be a non-empty sequence of bayesfit components")
        for c in self.components:
            c.check_window(lo, hi)
        n = len(self.components)
        if fractions is not None and yields is not None:
            raise ValueError("give fractions or yields, not both")
        self.extended = yields is not None
        if yields is not None:
            weights = list(yields)
            if len(weights) != n:
                raise ValueError(f"{n} components need {n} yields, got {len(weights)}")
        elif fractions is not None:
            weights = list(fractions)
            if len(weights) == n - 1 and None not in weights:
                weights.append(None)
            if len(weights) != n or weights.count(None) != 1:
                raise ValueError(f"{n} components need {n - 1} fractions (or {n} with one None for the "
                                 f"remainder), got {list(fractions)!r}")
            # the remainder 1 − Σ fractions must be able to be ≥ 0: fixed ones at their value,
            # free ones at their lower bound
            fixed = [w for w in weights if w is not None and not isinstance(w, (Parameter, Derived))]
            least = [w.lower if isinstance(w, Parameter) else 0.0 if isinstance(w, Derived) else w
                     for w in weights if w is not None]
            if any(not 0 <= f <= 1 for f in fixed) or sum(least) > 1:
                raise ValueError(f"fractions: a fixed one must lie in [0, 1] and their sum can be at most 1 "
                                 f"(the fixed fractions and the free ones' lower bounds sum to {sum(least):g}), got "
                                 f"{list(fractions)!r}")
        else:
            if n != 1:
                raise ValueError(f"{n} components need fractions or yields")
            weights = [None]
        self.weights = tuple(weights)
        self.name, self.x_label, self.unit, self.title = name, x_label, unit, title
        self.nbins, self.min_events = int(nbins), int(min_events)
        if self.nbins < 2:
            raise ValueError(f"nbins: need at least 2 bins (got {nbins})")
        self.guess, self.meta = guess, dict(meta or {})
        self.checks, self.extra_plots = checks, plots
        self.params = self._collect_params()
        self._given_constraints = tuple(constraints)
        self.constraints = collect_constraints(self.params, self._given_constraints)
        self._pymc_models = {}  # built once per likelihood kind, see WindowProblem.pymc_model

    def __getstate__(self):
        # The PyMC models built for fits are a per-process cache: never pickled (Dask workers
        # build their own).
        state = self.__dict__.copy()
        state["_pymc_models"] = {}
        return state

    @property
    def slots(self) -> list:
        """Return everything the components and weights were declared with (parameters, derived, numbers)."""
        return [p for c in self.components for p in c.params] + [w for w in self.weights if w is not None]

    def _collect_params(self):
        found = {}
        for p in free_parameters(self.slots):
            if p.name in found and found[p.name] is not p:
                raise ValueError(f"two different parameters are named {p.name!r}")
            found[p.name] = p
        return tuple(found.values())

    @property
    def derived(self) -> tuple:
        """Return the named derived parameters the model uses (reported beside the fit parameters)."""
        return named_derived(self.slots)

    def __repr__(self):
        kind = "yields" if self.extended else "fractions"
        return (f"WindowModel(({self.lo:g}, {self.hi:g}), [{', '.join(map(repr, self.components))}], "
                f"{kind}=[{', '.join(getattr(w, 'name', repr(w)) for w in self.weights)}])")

    @property
    def names(self) -> list:
        """Return the free parameters' names in order."""
        return [p.name for p in self.params]

    @property
    def independent_references(self) -> bool:
        """Whether every component has a numpy/scipy reference (MAP = MLE is a real check)."""
        return all(c.has_reference for c in self.components)

    def with_params(self, changes: dict) -> "WindowModel":
        """Return a copy whose parameters are replaced by name (``{name: Parameter}``)."""
        import copy

        new = copy.copy(self)

        def swap(p):
            if isinstance(p, Parameter):
                return changes.get(p.name, p)
            return p.substitute(changes) if isinstance(p, Derived) else p
        comps = []
        for c in self.components:
            c2 = copy.copy(c)
            c2.params = tuple(swap(p) for p in c.params)
            comps.append(c2)
        new.components = tuple(comps)
        new.weights = tuple(swap(w) for w in self.weights)
        new._pymc_models = {}
        new.params = new._collect_params()
        new.constraints = collect_constraints(new.params, new._given_constraints)
        return new

    def apply_guess(self, events) -> "WindowModel":
        """Return the model with start values and bounds from :attr:`guess` (or itself)."""
        if self.guess is None:
            return self
        guessed = self.guess(np.asarray(events, dtype=float), (self.lo, self.hi), self.nbins)
        return self.with_params(guessed_parameters(self.params, guessed))

    # --- weights ---------------------------------------------------------------------
    def weights_np(self, free):
        """Return the weight w_k of every component (numpy): fractions or yields."""
        vals = [None if w is None else float(value_of(w, free)) for w in self.weights]
        if len(vals) == 1 and vals[0] is None:
            return [1.0]
        rest = 1.0 - sum(v for v in vals if v is not None)
        return [rest if v is None else v for v in vals]

    def log_weights_np(self, free):
        """Return log w_k of every component (numpy); −∞ (or NaN) outside the domain."""
        vals = [None if w is None else float(value_of(w, free)) for w in self.weights]
        if len(vals) == 1 and vals[0] is None:
            return [0.0]
        total = sum(v for v in vals if v is not None)
        with np.errstate(divide="ignore", invalid="ignore"):
            return [float(np.log1p(-total)) if v is None else float(np.log(v)) for v in vals]

    def log_weights_pt(self, free):
        """Return log w_k of every component (PyTensor); −∞ where Σf ≥ 1."""
        vals = [None if w is None else value_of(w, free) for w in self.weights]
        if self.extended:
            return [pt.log(v) for v in vals]
        if len(vals) == 1:
            return [pt.as_tensor_variable(0.0)]
        given = [v for v in vals if v is not None]
        total = given[0] if len(given) == 1 else pt.sum(pt.stack(given))
        ok = total < 1
        # dummy argument in the −∞ branch keeps the gradient finite
        rest = pt.switch(ok, pt.log1p(-pt.switch(ok, total, 0.0)), -np.inf)
        return [rest if v is None else pt.log(v) for v in vals]

    # --- numpy, for the MLE, the χ² and the plots --------------------------------------
    def log_components(self, values, x):
        """Return log(w_k · p_k(x)) of each component, window-normalised (numpy references)."""
        free = dict(zip(self.names, map(float, values)))
        x = np.asarray(x, dtype=float)
        return [lw + c.np_logpdf(x, c.values(free), self.lo, self.hi)
                for lw, c in zip(self.log_weights_np(free), self.components)]

    def bin_contents(self, values, edges):
        """Return w_k · P_k(bin) of each component for the bins ``edges`` (numpy references)."""
        free = dict(zip(self.names, map(float, values)))
        return [np.exp(lw) * c.np_bin_probabilities(edges, c.values(free), self.lo, self.hi)
                for lw, c in zip(self.log_weights_np(free), self.components)]

    def pdf(self, values, x):
        """Return the total density and each component's share at ``x`` (numpy).

        For an extended model these are ν_k p_k(x) / Σν, i.e. normalised to one in total.
        """
        comps = [np.exp(c) for c in self.log_components(values, x)]
        if self.extended:
            total = sum(np.exp(self.log_weights_np(dict(zip(self.names, values)))))
            comps = [c / total for c in comps]
        return sum(comps), comps

    def simulate(self, values, n_events, rng=None, *, poisson=False):
        """Draw events from the model at ``values`` (numpy).

        Parameters
        ----------
        values : sequence of float
            Free parameters, in :attr:`names` order.
        n_events : int or None
            Events in the window; for an extended model ``None`` draws Poisson(Σν).
        rng : numpy.random.Generator or int, optional
        poisson : bool
            Fluctuate ``n_events`` with a Poisson distribution.

        Returns
        -------
        numpy.ndarray
            Events in random order.
        """
        rng = np.random.default_rng(rng)
        free = dict(zip(self.names, map(float, values)))
        w = np.array(self.weights_np(free))
        if n_events is None:
            if not self.extended:
                raise ValueError("n_events is required for a model with fractions")
            counts = rng.poisson(w)
        else:
            n = rng.poisson(n_events) if poisson else int(n_events)
            if len(w) == 2:  # one binomial draw: the signal count of a two-component fit
                first = rng.binomial(n, w[0] / w.sum())
                counts = [first, n - first]
            else:
                counts = rng.multinomial(n, w / w.sum())
        parts = [c.random(c.values(free), self.lo, self.hi, int(k), rng)
                 for c, k in zip(self.components, counts)]
        out = np.concatenate(parts) if parts else np.empty(0)
        rng.shuffle(out)
        return out

    # --- binding to data -------------------------------------------------------------
    def bind(self, events, *, fit_bins=None, meta=None) -> "WindowProblem":
        """Return the fit problem of this model on ``events`` (already inside the window).

        Parameters
        ----------
        events : numpy.ndarray
            Values inside [lo, hi].
        fit_bins : int, optional
            Bins of the binned likelihood; unbinned if omitted.
        meta : dict, optional
            Extra entries for ``result.json``'s ``meta``.

        Returns
        -------
        WindowProblem
        """
        return WindowProblem(self, events, fit_bins=fit_bins, meta=meta)

    def prepare(self, data, *, binned=None, meta=None, category=False):
        """Validate ``data`` and return ``(problem, notes)``: what :func:`bayesfit.fit` fits.

        Keeps the finite values inside the window (saying how many were dropped), applies
        :attr:`guess`, and chooses the likelihood: ``binned=None`` bins from
        :data:`BINNED_ABOVE` events, ``False`` never bins, ``True`` bins in :data:`FIT_BINS`
        bins, an integer in that many bins. ``category=True`` (one category of a
        :class:`~bayesfit.Simultaneous` fit, whose parameters the other categories constrain
        too) lets an extended model's window hold few events, or none.

        Raises
        ------
        bayesfit.core.io.InputError
            Data that are not one-dimensional numbers, too few events in the window, or a
            bad number of bins.
        """
        notes = []
        if np.ma.isMaskedArray(data):  # the masked values are not data: fit the others
            mask = np.ma.getmaskarray(data)
            if mask.any():
                notes.append(f"left out {int(mask.sum())} masked value(s)")
            data = np.ma.getdata(data)[~mask]
        values = np.asarray(data)
        if values.dtype == object or not np.issubdtype(values.dtype, np.number):
            raise InputError(f"the data must be numbers (got dtype {values.dtype})")
        if np.iscomplexobj(values):
            raise InputError("the data are complex numbers; give real masses")
        values = values.astype(float)
        if values.ndim != 1:
            raise InputError(f"the data must be one-dimensional (got shape {values.shape})")
        finite = np.isfinite(values)
        if not finite.all():
            notes.append(f"dropped {int((~finite).sum())} NaN/inf value(s)")
            values = values[finite]
        inside = values[(values >= self.lo) & (values <= self.hi)]
        huge = np.flatnonzero(np.abs(inside) > MAX_EVENT_MAGNITUDE)
        if huge.size:
            raise InputError(f"{huge.size} value(s) beyond ±{MAX_EVENT_MAGNITUDE:g} (the first {inside[huge[0]]:g}): the "
                             f"densities' powers of x overflow in double precision; express the data "
                             f"in another unit or narrow the window")
        few_allowed = category and self.extended
        if inside.size == 0 and not few_allowed:
            span = f" (the data span {values.min():g} to {values.max():g})" if values.size else ""
            raise InputError(f"no events in the window [{self.lo:g}, {self.hi:g}]{span}")
        if inside.size < values.size:
            notes.append(f"{values.size - inside.size:,} of {values.size:,} values lie outside the window "
                         f"[{self.lo:g}, {self.hi:g}] and are not fitted")
        if inside.size < self.min_events:
            raise InputError(f"only {inside.size} events in the window [{self.lo:g}, {self.hi:g}]; "
                             f"this fit needs at least {self.min_events}")
        # a prefix usually shows enough distinct values; sort all 10⁷ events only when it does not
        distinct = np.unique(inside[:1000]).size
        if distinct <= len(self.params):
            distinct = np.unique(inside).size
        if distinct <= len(self.params) and not few_allowed:
            raise InputError(f"only {distinct} distinct value(s) in the window ({inside.size} events"
                             f"{', all ' + format(inside[0], 'g') if distinct == 1 else ''}) for "
                             f"{len(self.params)} free parameter(s): the shape cannot be fitted")
        if binned is None:
            fit_bins = FIT_BINS if inside.size >= BINNED_ABOVE and math.isfinite(self.hi) else None
            if fit_bins:
                notes.append(f"{inside.size:,} events: using the exact binned likelihood in {fit_bins} bins "
                             f"(binned=False / --unbinned forces the event-by-event likelihood)")
        elif binned is False:
            fit_bins = None
        elif binned is True:
            fit_bins = FIT_BINS
        else:
            fit_bins = int(binned)
            if fit_bins < 2:
                raise InputError(f"binned: need at least 2 bins (got {binned})")
        if fit_bins is not None and not math.isfinite(self.hi):
            raise InputError("a binned likelihood needs a finite window")
        model = self.apply_guess(inside)
        return model.bind(inside, fit_bins=fit_bins, meta=meta), notes


class WindowProblem(Problem):
    """A :class:`WindowModel` bound to its events: what the engine fits three ways.

    Parameters
    ----------
    model : WindowModel
    events : numpy.ndarray
        Values inside the window.
    fit_bins : int, optional
        Bins of the binned likelihood; unbinned if omitted.
    meta : dict, optional
    """

    def __init__(self, model, events, *, fit_bins=None, meta=None):
        self.model = model
        self.lo, self.hi = model.lo, model.hi
        self.data = np.asarray(events, dtype=float)
        self.fit_bins = None if fit_bins is None else int(fit_bins)
        if self.fit_bins is not None:
            self.fit_edges = np.linspace(self.lo, self.hi, self.fit_bins + 1)
            self.fit_counts = np.histogram(self.data, bins=self.fit_edges)[0].astype(float)
        info = dict(model.meta)
        info.update(meta or {})
        info.update(window=[float(self.lo), float(self.hi)], bins=model.nbins,
                    likelihood=("extended " if model.extended else "")
                    + ("unbinned" if fit_bins is None else f"binned, {self.fit_bins} bins"))
        if not model.independent_references:
            info["independent_mle"] = False
        super().__init__(name=model.name, params=model.params, n_data=self.data.size, meta=info)
        if model.checks is not None:
            found = dict(model.checks(self))
            self.warnings.extend(found.pop("warnings", []))
            self.meta.update(found)
        self._fast = CrystalBallExponential(model, self.data) if CrystalBallExponential.applies(model, fit_bins) else None
        self.derived = model.derived
        self.constraint_terms = ConstraintTerms(model.constraints, self.names)
        if self.constraint_terms:
            self.meta["constraints"] = self.constraint_terms.describe()

    # --- the structure with a compiled one-pass likelihood ---------------------------
    @property
    def nll_grad(self):
        """The analytic gradient of :meth:`nll` for Crystal Ball + exponential, unbinned; else ``None``."""
        if not self._fast:
            return None
        if not self.constraint_terms:
            return self._fast.gradient
        return lambda values: self._fast.gradient(values) + self.constraint_terms.gradient(values)

    @property
    def nll_hessian(self):
        """The analytic Hessian of :meth:`nll` for Crystal Ball + exponential, unbinned; else ``None``."""
        if not self._fast:
            return None
        if not self.constraint_terms:
            return self._fast.hessian
        return lambda values: self._fast.hessian(values) + self.constraint_terms.hessian(values)

    # --- the independent likelihood (numpy/scipy references) --------------------------
    def nll(self, values):
        """Return −ln L from the components' numpy/scipy references.

        Unbinned: −Σ_i ln Σ_k w_k p_k(x_i), plus Σν_k when extended. Binned, the saturated
        model's ln L is subtracted (Baker & Cousins 1984): −Σ_j n_j ln(p_j N/n_j) for fractions,
        Σ_j (ν_j − n_j + n_j ln(n_j/ν_j)) when extended. The constant does not move the minimum or
        the errors, but keeps the value at the minimum O(bins) instead of O(events), well
        above its rounding error, which MIGRAD's EDM test and MINOS need. The constraints'
        −ln L_aux (:mod:`bayesfit.modeling.constraints`) are added.
        """
        free = dict(zip(self.names, map(float, values)))
        with np.errstate(all="ignore"):
            if self.fit_bins is not None:
                nu = sum(self.model.bin_contents(values, self.fit_edges))
                n = self.fit_counts
                filled = n > 0
                if self.model.extended:
                    out = float(np.sum(nu) - n.sum() + np.sum(n[filled] * np.log(n[filled] / nu[filled])))
                else:
                    out = -float(np.sum(n[filled] * np.log(nu[filled] * n.sum() / n[filled])))
            elif self._fast:
                out = self._fast.nll(free)
            else:
                ll = np.logaddexp.reduce(self.model.log_components(values, self.data), axis=0)
                out = -float(np.sum(ll))
                if self.model.extended:
                    out += float(sum(self.model.weights_np(free)))
            if self.constraint_terms:
                out += self.constraint_terms.nll(values)
        return out if math.isfinite(out) else math.inf

    # --- the PyMC model (PyTensor graphs) ----------------------------------------------
    def _free_variables(self):
        return {p.name: p.pymc_variable() for p in self.params}

    def _reused(self, kind, build):
        """Return the PyMC model ``kind`` of this structure, built once, holding this problem's data.

        Problems bound to the same :class:`WindowModel` with the same binning share one PyMC
        model object (so the compiled functions of :mod:`bayesfit.backend.compiled` are found without
        rebuilding any graph); its ``pm.Data`` are set to this problem's data on every call.
        """
        import pymc as pm

        key = (kind, self.fit_bins)
        cache = self.model._pymc_models
        if key not in cache:
            cache[key] = build()
        pm_model = cache[key]
        held = {v.name for v in pm_model.data_vars}  # the sampling model has no event weights
        pm.set_data({k: v for k, v in self.model_data().items() if k in held}, model=pm_model)
        return pm_model

    def release_constraints(self):
        """Drop the constraints from this problem: a simultaneous fit applies them once, to the whole."""
        self.constraint_terms = ConstraintTerms((), self.names)
        self.meta.pop("constraints", None)

    def model_data(self, prefix="") -> dict:
        """Return the values of this problem's ``pm.Data``: events or counts, and the constraints' measurements."""
        if self.fit_bins is not None:
            out = {f"{prefix}counts": self.fit_counts}
        else:
            out = {f"{prefix}{EVENTS}": self.data, f"{prefix}{EVENT_WEIGHTS}": np.ones(len(self.data))}
        out.update(self.constraint_terms.observed)
        return out

    def pymc_model(self):
        """Return the PyMC model: priors, and the unbinned or binned likelihood as a Potential.

        The events (or bin counts) enter as ``pm.Data``. The model object is built once per
        :class:`WindowModel` and binning and shared by its problems: each call sets this
        problem's data into it.
        """
        return self._reused("likelihood", self._build_pymc_model)

    def _build_pymc_model(self):
        import pymc as pm

        with pm.Model() as pm_model:
            free = self._free_variables()
            self.add_loglike(free)
            self.constraint_terms.add_potentials(free)
        return pm_model

    def add_loglike(self, free, prefix=""):
        """Add the likelihood to the PyMC model in context: one ``pm.Potential`` (``{prefix}loglike``).

        Parameters
        ----------
        free : dict
            The free variables by name (and any others the model's slots read).
        prefix : str
            Put before the names of the ``pm.Data`` (``{prefix}events`` or ``{prefix}counts``)
            and of the potential: one per category of a simultaneous fit.
        """
        import pymc as pm

        model = self.model
        log_w = model.log_weights_pt(free)
        if self.fit_bins is not None:
            counts = pm.Data(f"{prefix}counts", self.fit_counts)
            log_nu = pt.logsumexp(pt.stack([
                lw + c.pt_log_bin_probabilities(self.fit_edges, c.values(free), self.lo, self.hi)
                for lw, c in zip(log_w, model.components)]), axis=0)
            loglike = pt.sum(pt.switch(counts > 0, counts * log_nu, 0.0))
            if model.extended:
                loglike = loglike - pt.sum(pt.exp(log_nu))
        else:
            x = pm.Data(f"{prefix}{EVENTS}", self.data)
            # a weight per event, 1 each: a compiled function of fixed length pads the events
            # with weight 0 (bayesfit.backend.graphs.padded_events)
            weights = pm.Data(f"{prefix}{EVENT_WEIGHTS}", np.ones(len(self.data)))
            ll = pt.logsumexp(pt.stack([lw + c.pt_logpdf(x, c.values(free), self.lo, self.hi)
                                        for lw, c in zip(log_w, model.components)]), axis=0)
            loglike = pt.sum(weights * ll)
            if model.extended:
                loglike = loglike - pt.sum(pt.exp(pt.stack(log_w)))
        return pm.Potential(f"{prefix}loglike", loglike)

    def sampling_model(self):
        """Return the model with the one-pass likelihood Op for NUTS, or ``None``.

        Only for the Crystal Ball + exponential mixture, unbinned: same priors and posterior
        as :meth:`pymc_model` (the tests compare log densities and gradients), but Σ log p and
        its gradient come from one compiled pass over the events (:mod:`bayesfit.modeling.kernels`).
        """
        if not self._fast:
            return None
        return self._reused("kernel", self._build_sampling_model)

    def _build_sampling_model(self):
        import pymc as pm

        with pm.Model() as pm_model:
            free = self._free_variables()
            self._fast.likelihood_op_potential(free, pm.Data("events", self.data))
            self.constraint_terms.add_potentials(free)
        return pm_model

    # --- expected counts, χ², plots ------------------------------------------------------
    @property
    def edges(self) -> np.ndarray:
        """Return the bin edges of the χ² and the plot (equal width in a finite window)."""
        if math.isfinite(self.hi):
            return np.linspace(self.lo, self.hi, self.model.nbins + 1)
        lo = max(self.lo, float(self.data.min()))
        return np.linspace(lo, float(self.data.max()), self.model.nbins + 1)

    def expected(self, values, edges=None) -> np.ndarray:
        """Return the expected counts in the bins ``edges`` at ``values``."""
        edges = self.edges if edges is None else edges
        contents = sum(self.model.bin_contents(values, edges))
        return contents if self.model.extended else self.n_data * contents

    def _quantile_edges(self, values):
        """Return edges of bins of equal fitted probability (for an infinite window)."""
        k = self.model.nbins
        free = dict(zip(self.names, map(float, values)))
        w = np.array(self.model.weights_np(free))
        w = w / w.sum()
        cdf = lambda x: float(sum(wk * c.np_cdf(np.array([x]), c.values(free), self.lo, self.hi)[0]
                                  for wk, c in zip(w, self.model.components)))
        # the top of the bracket follows the fitted distribution, not the largest event (one
        # outlier at 1e40 would leave bisection too wide a bracket to converge)
        top = self.lo + max(float(np.median(self.data)) - self.lo, 1.0)
        while cdf(top) < 1 - 0.5 / k:
            top = self.lo + 2 * (top - self.lo)
        inner = [optimize.brentq(lambda x: cdf(x) - q, self.lo, top) for q in np.arange(1, k) / k]
        return np.array([self.lo, *inner, self.hi])

    def _gof_edges(self, values):
        """Return the χ² bins at ``values`` and the degrees of freedom their choice costs."""
        if math.isfinite(self.hi):
            return self.edges, 0
        return self._quantile_edges(values), 1

    def discrepancy(self, draws, rng):
        """Return the Pearson χ² of the events and of one replicated histogram per draw.

        The bins are those of :meth:`gof` at the posterior mean, with the same rule (bins
        expected to hold more than 5 events, at each draw). A replica is multinomial with the
        events' total, or Poisson for an extended model.
        """
        edges, _ = self._gof_edges(np.mean(draws, axis=0))
        counts, _ = np.histogram(self.data, bins=edges)
        observed, replicated = [], []
        for values in draws:
            expected = self.expected(values, edges)
            if self.model.extended:
                replica = rng.poisson(expected)
            else:
                replica = rng.multinomial(self.n_data, expected / expected.sum())
            ok = expected > 5
            e = expected[ok]
            observed.append(np.sum((counts[ok] - e) ** 2 / e))
            replicated.append(np.sum((replica[ok] - e) ** 2 / e))
        return np.array(observed, dtype=float), np.array(replicated, dtype=float)

    def gof(self, values):
        """Return the binned Pearson χ² (bins with expected > 5), NDF and p-value.

        In a finite window the bins are :attr:`edges` and NDF = bins used − parameters (the
        seed's convention); on a half line they are ``nbins`` bins of equal fitted
        probability and NDF = bins − 1 − parameters.
        """
        edges, lost = self._gof_edges(values)
        counts, _ = np.histogram(self.data, bins=edges)
        expected = self.expected(values, edges)
        ok = expected > 5
        chi2 = float(np.sum((counts[ok] - expected[ok]) ** 2 / expected[ok]))
        ndf = int(ok.sum()) - lost - len(self.params)
        p = float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else float("nan")
        return {"chi2": chi2, "ndf": ndf, "p_value": p, "bins_used": int(ok.sum())}

    def info_lines(self, fit):
        """Return the plot's info box: each parameter as value ± HESSE error, PDG-rounded (MeV where GeV would give six digits)."""
        from bayesfit.output.formatting import display_measurement

        return [f"{p.label or p.name} = {display_measurement(p, v, e)}"
                for p, v, e in zip(self.params, fit.mle.values, fit.mle.errors)]

    def plots(self, fit):
        """Return the histogram with the fit, its components, info box and pulls."""
        from bayesfit.core.posterior import posterior_draws
        from bayesfit.output.formatting import format_p_value
        from bayesfit.output.plots import plot_hist_fit

        values = fit.mle.values
        edges = self.edges
        model = self.model
        scale = (self.n_data if not model.extended else 1.0) * (edges[1] - edges[0])
        x = np.linspace(edges[0], edges[-1], 1000)
        total, comps = model.pdf(values, x)
        if model.extended:
            norm = sum(model.weights_np(dict(zip(self.names, values))))
            total, comps = total * norm, [c * norm for c in comps]
        styles = ("r--", "g-.", "m:", "c--", "y-.")
        curves = [("Total fit (MLE)", x, scale * total, "b-")]
        if len(comps) > 1:
            curves += [(c.label, x, scale * y, styles[k % len(styles)])
                       for k, (c, y) in enumerate(zip(model.components, comps))]
        band = None
        if fit.idata is not None:
            post = posterior_draws(fit.idata, self.names)
            pick = np.random.default_rng(0).choice(len(post), size=min(200, len(post)), replace=False)
            shapes = []
            for v in post[pick]:
                t, _ = model.pdf(v, x)
                if model.extended:
                    t = t * sum(model.weights_np(dict(zip(self.names, v))))
                shapes.append(scale * t)
            band = (x, *np.quantile(np.array(shapes), [0.158655, 0.841345], axis=0))
        g = fit.gof
        chi2_line = (rf"$\chi^2$/NDF = {g['chi2']:.1f}/{g['ndf']}, p = {format_p_value(g['p_value'])}" if g["ndf"] > 0
                     else rf"$\chi^2$ = {g['chi2']:.1f}, NDF = {g['ndf']} (no test)")
        lines = [f"$N$ = {self.n_data:,}", *self.info_lines(fit), chi2_line]
        source = self.meta.get("source", "")
        title = model.title or model.name
        figures = {f"{model.name}_fit": plot_hist_fit(
            self.data, edges, self.expected(values, edges), curves, xlabel=model.x_label,
            unit=model.unit, info_lines=lines, band=band,
            title=f"{title} ({source})" if source else title)}
        if model.extra_plots is not None:
            figures.update(model.extra_plots(fit))
        return figures
