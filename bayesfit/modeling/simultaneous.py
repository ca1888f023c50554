"""Simultaneous fits: several datasets (categories), one likelihood, parameters shared by object.

A real analysis fits several datasets together: Z→ee and Z→μμ share the Z mass and width but
not the detector resolution; barrel and endcap leptons share a mass; a control region fixes a
background. Declare one :class:`bayesfit.WindowModel` per category with the *same*
:class:`bayesfit.Parameter` objects where a parameter is shared, and join them::

    sim = bf.Simultaneous({"mumu": model_mumu, "ee": model_ee})
    res = bf.fit(sim, {"mumu": masses_mumu, "ee": masses_ee}, sample=True)

Each category keeps its own window, binned or unbinned likelihood, fractions or yields. The
fits are those of one model: one MIGRAD of Σ_k −ln L_k (the categories' numpy/scipy
references) plus the constraints, one PyMC model with one likelihood term per category (its
data ``pm.Data`` named ``{category}_events`` or ``{category}_counts``), one NUTS run, one
comparison table. Goodness of fit, posterior-predictive check and fit plot come per category
and for the whole. The categories' data are inputs of the compiled functions: a refit of new
data compiles nothing.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy import stats

from bayesfit.core.io import InputError
from bayesfit.core.parameter import named_derived
from bayesfit.modeling.constraints import ConstraintTerms, collect_constraints
from bayesfit.modeling.problem import Problem

__all__ = ["Simultaneous", "SimultaneousProblem"]


class Simultaneous:
    """Several window models fitted together, sharing parameters by object (see the module docstring).

    Parameters
    ----------
    categories : dict of str to bayesfit.WindowModel
        One model per dataset; the keys (Python identifiers) name the categories in the data
        dictionary, the output files and the PyMC data containers.
    name : str
        Model name in ``result.json`` and the output files.
    title : str
        A title for the summary.
    constraints : sequence of bayesfit.modeling.constraints.Constraint, optional
        Auxiliary measurements of parameters, besides those the categories declare (theirs
        and ``Parameter(..., constraint=...)`` apply once, to the whole fit).
    meta : dict, optional
        Anything to record in ``result.json``.

    Examples
    --------
    >>> import bayesfit as bf
    >>> mu = bf.Parameter("mu", 0.0, -1.0, 1.0)
    >>> s1, s2 = bf.Parameter("s1", 0.2, 0.05, 1.0), bf.Parameter("s2", 0.3, 0.05, 1.0)
    >>> a = bf.WindowModel((-2, 2), [bf.Gaussian(mu, s1)])
    >>> b = bf.WindowModel((-2, 2), [bf.Gaussian(mu, s2)])
    >>> bf.Simultaneous({"a": a, "b": b}).names
    ['mu', 's1', 's2']
    """

    def __init__(self, categories, *, name="simultaneous", title="", constraints=(), meta=None):
        from bayesfit.modeling.window import WindowModel

        if not isinstance(categories, dict) or not categories:
            raise TypeError("categories must be a non-empty dict {name: WindowModel}")
        for key, model in categories.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(f"category name {key!r} must be a Python identifier")
            if not isinstance(model, WindowModel):
                raise TypeError(f"category {key!r}: need a bayesfit.WindowModel, got {type(model).__name__}")
        self.categories = dict(categories)
        found = {}
        for key, model in self.categories.items():
            for p in model.params:
                if p.name in found and found[p.name] is not p:
                    raise ValueError(f"two different parameters are named {p.name!r} (category {key!r}); share a "
                                     "parameter by passing the same bf.Parameter object to both models")
                found.setdefault(p.name, p)
        self.params = tuple(found.values())
        self.name, self.title, self.meta = name, title, dict(meta or {})
        self._given_constraints = tuple(constraints) + tuple(
            c for m in self.categories.values() for c in m._given_constraints)
        self.constraints = collect_constraints(self.params, self._given_constraints)
        self.derived = named_derived([s for m in self.categories.values() for s in m.slots])
        self._pymc_models = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pymc_models"] = {}
        return state

    def __repr__(self):
        return f"Simultaneous({', '.join(f'{k}={m!r}' for k, m in self.categories.items())})"

    @property
    def names(self) -> list:
        """Return the free parameters' names in order."""
        return [p.name for p in self.params]

    def prepare(self, data, *, binned=None, meta=None):
        """Validate each category's data and return ``(problem, notes)``: what :func:`bayesfit.fit` fits.

        Parameters
        ----------
        data : dict
            ``{category: events}``, one entry per category.
        binned : None, bool, int or dict
            As for :meth:`bayesfit.WindowModel.prepare`, for all categories or per category
            (``{category: choice}``).
        meta : dict, optional

        Returns
        -------
        (SimultaneousProblem, list of str)

        Raises
        ------
        bayesfit.InputError
            Not a dict of the categories, or a category's data that its model refuses.
        """
        if not isinstance(data, dict):
            raise InputError(f"a simultaneous fit needs its data as a dict {{category: events}} for "
                             f"{', '.join(self.categories)} (got {type(data).__name__})")
        missing, unknown = set(self.categories) - set(data), set(data) - set(self.categories)
        if missing or unknown:
            raise InputError("the data's categories must be " + ", ".join(self.categories)
                             + (f"; missing: {', '.join(sorted(missing))}" if missing else "")
                             + (f"; unknown: {', '.join(sorted(map(str, unknown)))}" if unknown else ""))
        if isinstance(binned, dict):
            bad = set(binned) - set(self.categories)
            if bad:
                raise InputError(f"binned: unknown categories {', '.join(sorted(map(str, bad)))}")
        problems, notes = {}, []
        for key, model in self.categories.items():
            choice = binned.get(key) if isinstance(binned, dict) else binned
            try:
                problem, found = model.prepare(data[key], binned=choice, category=True)
            except InputError as err:
                raise InputError(f"category {key}: {err}") from None
            problems[key] = problem
            notes += [f"{key}: {n}" for n in found]
        return SimultaneousProblem(self, problems, meta=meta), notes


class _CategoryFit:
    """The view of a simultaneous fit that one category's plots need (values in its order)."""

    def __init__(self, fit, problem, index, gof):
        self.problem, self.idata, self.gof = problem, fit.idata, gof
        self.mle = SimpleNamespace(values=fit.mle.values[index], errors=fit.mle.errors[index])


class SimultaneousProblem(Problem):
    """A :class:`Simultaneous` model bound to its categories' data: what the engine fits.

    Parameters
    ----------
    model : Simultaneous
    problems : dict of str to bayesfit.modeling.window.WindowProblem
        Each category's model bound to its data.
    meta : dict, optional
    """

    def __init__(self, model, problems, *, meta=None):
        self.model = model
        self.problems = dict(problems)
        params = {}
        for problem in self.problems.values():  # a shared parameter takes the first category's guess
            for p in problem.params:
                params.setdefault(p.name, p)
        names = [p.name for p in model.params]
        params = tuple(params[n] for n in names)
        self.index = {k: np.array([names.index(n) for n in pr.names], dtype=int) for k, pr in self.problems.items()}
        for problem in self.problems.values():
            problem.release_constraints()  # they apply once, to the whole fit
        info = dict(model.meta)
        info.update(meta or {})
        info["categories"] = {k: {"n_data": int(pr.n_data), "window": pr.meta["window"],
                                  "likelihood": pr.meta["likelihood"],
                                  **{key: pr.meta[key] for key in ("source",) if key in pr.meta}}
                              for k, pr in self.problems.items()}
        super().__init__(name=model.name, params=params, n_data=sum(pr.n_data for pr in self.problems.values()),
                         meta=info)
        for key, problem in self.problems.items():
            self.warnings.extend(f"{key}: {w}" for w in problem.warnings)
            if problem.meta.get("independent_mle") is False:
                self.meta["independent_mle"] = False
        self.derived = model.derived
        self._remembered = {}
        self.constraint_terms = ConstraintTerms(collect_constraints(params, model._given_constraints), names)
        if self.constraint_terms:
            self.meta["constraints"] = self.constraint_terms.describe()

    #: Values of each category's −ln L remembered, by its own parameters (see :meth:`nll`). HESSE
    #: pairs a step in one category's parameter with steps in every other's: remembering the
    #: diagonal steps' values (64 points) spares the category its off-diagonal evaluations.
    #: Measured on two categories sharing a mean (7 parameters): MIGRAD + HESSE evaluate the
    #: categories 381 times remembering 8 points, 284 remembering 64, 282 remembering 1,024.
    REMEMBERED = 64

    @property
    def hessian_groups(self) -> list:
        """Return each category's and each constraint's parameter indices (the Hessian's blocks)."""
        return [list(i) for i in self.index.values()] + [list(i) for i in self.constraint_terms.index]

    def nll(self, values):
        """Return Σ_k −ln L_k (each category's numpy/scipy reference) plus the constraints' −ln L_aux.

        MIGRAD's numerical derivatives move one parameter at a time, and most parameters belong
        to one category: each category's −ln L is remembered for its last few parameter points,
        so that a step in another category's parameter costs no evaluation of this one.
        """
        values = np.asarray(values, dtype=float)
        out = 0.0
        for key, problem in self.problems.items():
            own = values[self.index[key]]
            remembered = self._remembered.setdefault(key, {})
            point = own.tobytes()
            value = remembered.get(point)
            if value is None:
                value = problem.nll(own)
                if len(remembered) >= self.REMEMBERED:
                    del remembered[next(iter(remembered))]  # the oldest
                remembered[point] = value
            out += value
        if self.constraint_terms:
            out += self.constraint_terms.nll(values)
        return out

    # --- the PyMC model ----------------------------------------------------------------
    def model_data(self) -> dict:
        """Return the values of every ``pm.Data``: each category's data, the bounds, the constraints'."""
        out = {}
        for key, problem in self.problems.items():
            out.update(problem.model_data(prefix=f"{key}_"))
        for p in self.params:
            if p.prior is None:
                out[f"{p.name}_lower"], out[f"{p.name}_upper"] = np.float64(p.lower), np.float64(p.upper)
        out.update(self.constraint_terms.observed)
        return out

    def pymc_model(self):
        """Return the PyMC model: the priors once, one likelihood term per category, the constraints.

        Built once per :class:`Simultaneous` and binning of its categories; each call sets this
        problem's data (and the bounds the categories' guesses gave) into it.
        """
        import pymc as pm

        key = tuple((k, pr.fit_bins) for k, pr in self.problems.items())
        cache = self.model._pymc_models
        if key not in cache:
            with pm.Model() as pm_model:
                free = {p.name: p.pymc_variable() for p in self.params}
                for k, problem in self.problems.items():
                    problem.add_loglike(free, prefix=f"{k}_")
                self.constraint_terms.add_potentials(free)
            cache[key] = pm_model
        pm_model = cache[key]
        pm.set_data(self.model_data(), model=pm_model)
        return pm_model

    # --- goodness of fit, posterior-predictive check, plots ------------------------------
    def gof(self, values):
        """Return the summed Pearson χ² of the categories, NDF = bins used − parameters, and each category's.

        Returns
        -------
        dict
            ``{"chi2", "ndf", "p_value", "bins_used", "categories": {category: gof}}``; a
            category's own NDF subtracts only its own parameters.
        """
        values = np.asarray(values, dtype=float)
        parts = {k: pr.gof(values[self.index[k]]) for k, pr in self.problems.items()}
        chi2 = sum(g["chi2"] for g in parts.values())
        used = sum(g["bins_used"] for g in parts.values())
        ndf = used - len(self.params)
        p = float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else float("nan")
        return {"chi2": float(chi2), "ndf": int(ndf), "p_value": p, "bins_used": int(used), "categories": parts}

    def discrepancy_by_category(self, draws, rng) -> dict:
        """Return each category's χ² of the data and of replicated data at each draw, ``{category: (obs, rep)}``."""
        return {k: problem.discrepancy(np.asarray(draws)[:, self.index[k]], rng) for k, problem in self.problems.items()}

    def discrepancy(self, draws, rng):
        """Return the summed χ² of the data and of replicated data at each draw (all categories)."""
        parts = self.discrepancy_by_category(draws, rng).values()
        return sum(o for o, _ in parts), sum(r for _, r in parts)

    def plots(self, fit):
        """Return each category's fit plot (``{category}_fit``) and extra figures."""
        figures = {}
        for k, problem in self.problems.items():
            view = _CategoryFit(fit, problem, self.index[k], fit.gof["categories"][k])
            for stem, fig in problem.plots(view).items():
                figures[f"{k}_fit" if stem == f"{problem.model.name}_fit" else f"{k}_{stem}"] = fig
        return figures
