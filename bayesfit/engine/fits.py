"""The three fits of one problem, and their comparison.

:func:`run_fits` takes a :class:`bayesfit.modeling.problem.Problem` (a model bound to data) and returns a
:class:`FitResult` holding the iminuit fit, the MAP + Laplace fit, optionally the NUTS
posterior, the per-parameter comparison, the goodness of fit, the diagnostics and the timings.
Users reach it through :func:`bayesfit.fit`; the result prints itself as the comparison table,
is indexed by parameter name (``res["mu"].hesse``), and writes every output with
:meth:`FitResult.save` (:mod:`bayesfit.engine.result`).
"""

from __future__ import annotations

import math
import time
from functools import partial

import arviz as az
import numpy as np

from bayesfit.engine.bayes import MAPResult, default_sampler, find_map_laplace, sample_nuts, start_point
from bayesfit.core import interrupts
from bayesfit.core.constants import ONE_SIGMA
from bayesfit.core.posterior import posterior_draws
from bayesfit.engine.mle import MLEResult, fit_problem
from bayesfit.engine.result import FitResult

__all__ = ["run_fits", "compare", "posterior_predictive", "HDI_PROB"]

#: Probability content of the highest-density interval quoted next to the ±1σ errors.
HDI_PROB = ONE_SIGMA
#: Convergence thresholds (Vehtari et al. 2021, as used by ArviZ).
RHAT_MAX = 1.01
ESS_MIN = 400


def compare(names, mle: MLEResult, map_: MAPResult, idata=None) -> dict:
    """Put the three fits side by side, parameter by parameter.

    Parameters
    ----------
    names : sequence of str
        Parameter names.
    mle : MLEResult
    map_ : MAPResult or None
        None where the Bayesian fits were skipped: the MAP columns are then NaN.
    idata : arviz.InferenceData, optional
        NUTS posterior.

    Returns
    -------
    dict
        ``{name: {"mle", "hesse", "minos", "map", "laplace_sd", "posterior",
        "laplace_over_hesse", "sd_over_hesse", "map_minus_mle_in_hesse"}}`` where
        ``posterior`` is ``{"mean", "sd", "hdi_68", "r_hat", "ess_bulk"}`` or ``None``.
    """
    summary = posterior_summaries(idata, names) if idata is not None else None
    out = {}
    nan = np.full(len(names), np.nan)
    laplace_sd = map_.sd if map_ is not None else nan
    map_values = map_.values if map_ is not None else nan
    for i, n in enumerate(names):
        hesse = float(mle.errors[i])
        post = summary[n] if summary else None
        out[n] = {
            "mle": float(mle.values[i]),
            "hesse": hesse,
            "minos": list(mle.minos[n]),
            "map": float(map_values[i]),
            "laplace_sd": float(laplace_sd[i]),
            "posterior": post,
            "laplace_over_hesse": float(laplace_sd[i] / hesse),
            "sd_over_hesse": float(post["sd"] / hesse) if post else None,
            "map_minus_mle_in_hesse": float((map_values[i] - mle.values[i]) / hesse),
        }
    return out


def posterior_summaries(idata, names) -> dict:
    """Return the ArviZ summary of posterior variables: ``{name: {"mean", "sd", "hdi_68", "r_hat", "ess_bulk"}}``.

    Parameters
    ----------
    idata : arviz.InferenceData
    names : sequence of str
        Variables of ``idata.posterior`` (fit parameters, or derived ones added to it).

    Returns
    -------
    dict
    """
    names = list(names)
    hdi = az.hdi(idata, var_names=names, hdi_prob=HDI_PROB)
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat = az.rhat(idata, var_names=names)
    return {n: {"mean": float(idata.posterior[n].mean()), "sd": float(idata.posterior[n].std(ddof=1)),
                "hdi_68": [float(v) for v in hdi[n].values], "r_hat": float(rhat[n]), "ess_bulk": float(ess[n])}
            for n in names}


def compare_derived(derived, names, mle: MLEResult, map_: MAPResult, idata=None) -> dict:
    """Return the comparison rows of the named derived parameters, and add their draws to ``idata``.

    The MLE and the MAP are the expression at the fitted points; HESSE and Laplace errors
    propagate the covariance with the expression's exact Jacobian, σ² = J C Jᵀ; the posterior is
    that of the transformed draws (added to ``idata.posterior`` under the derived name, so that
    ``posterior.nc`` holds them).

    Parameters
    ----------
    derived : sequence of bayesfit.core.parameter.Derived
    names : sequence of str
        The fit parameters, in order.
    mle, map_ : MLEResult, MAPResult
    idata : arviz.InferenceData, optional

    Returns
    -------
    dict
        ``{name: row}`` like :func:`compare`'s, with ``"derived"`` the expression.
    """
    out = {}
    names = list(names)

    def propagate(d, values, cov):
        free = dict(zip(names, map(float, values)))
        grad = d.gradient(free)
        jac = np.array([grad.get(n, 0.0) for n in names])
        var = float(jac @ cov @ jac)
        return float(d.evaluate(free)), math.sqrt(var) if var >= 0 else float("nan")

    for d in derived:
        value, hesse = propagate(d, mle.values, mle.covariance)
        map_value, laplace = propagate(d, map_.values, map_.covariance) if map_ is not None else (np.nan, np.nan)
        post = None
        if idata is not None:
            idata.posterior[d.name] = d.evaluate({n: idata.posterior[n] for n in names})
            post = posterior_summaries(idata, [d.name])[d.name]
        out[d.name] = {
            "mle": value, "hesse": hesse, "minos": [float("nan"), float("nan")], "map": map_value,
            "laplace_sd": laplace, "posterior": post,
            "laplace_over_hesse": laplace / hesse if hesse > 0 else float("nan"),
            "sd_over_hesse": post["sd"] / hesse if post and hesse > 0 else None,
            "map_minus_mle_in_hesse": (map_value - value) / hesse if hesse > 0 else float("nan"),
            "role": "derived", "derived": d.expression,
        }
    return out


def _roles(problem) -> dict:
    """Return what sets a fit parameter apart in the table: ``"constrained"`` or ``"prior"``, by name."""
    constrained = {p.name for c in problem.constraint_terms.constraints for p in c.params}
    return {p.name: "constrained" if p.name in constrained else "prior" if p.prior is not None else None
            for p in problem.params}


def _diagnostics(mle: MLEResult, map_: MAPResult, idata, comparison) -> dict:
    warnings = []
    if not mle.valid:
        warnings.append("MIGRAD did not find a valid minimum: the frequentist errors are unreliable")
    elif not mle.accurate:
        warnings.append("the HESSE covariance is not accurate (not positive definite or forced)")
    on_boundary = {n for n, c in comparison.items() if c.get("boundary")}
    chosen = [n for n in mle.at_limit if n not in on_boundary]
    if chosen:
        warnings.append(f"parameter(s) at a bound: {', '.join(chosen)}; widen the bounds")
    cut = {n: side for n, side in mle.minos_at_limit.items() if n not in on_boundary}
    if cut:
        warnings.append("MINOS interval cut off by a parameter bound (the error on that side is only the "
                        "distance to the bound): " + ", ".join(f"{n} ({side})" for n, side in cut.items()))
    bad_minos = [n for n, ok in mle.minos_valid.items() if not ok and n not in cut]
    if mle.valid and bad_minos:
        warnings.append(f"MINOS interval invalid for: {', '.join(bad_minos)}")
    if map_ is not None and not map_.converged:
        reason = map_.message.strip().rstrip(":").strip() or "no reason given"
        warnings.append(f"the MAP search did not converge ({reason}): the MAP and Laplace columns are unreliable; "
                        "a parameter at a bound or one the data barely constrain is the usual cause: fix it, or "
                        "narrow its bounds or prior")
    if map_ is not None and not map_.posdef:
        warnings.append("the Hessian at the MAP is not positive definite: no Laplace errors (a parameter at a bound "
                        "or a direction the data do not constrain: fix that parameter, or narrow its bounds or prior)")
    diag = {
        "migrad_valid": mle.valid,
        "hesse_accurate": mle.accurate,
        "minos_valid": mle.minos_valid,
        "minos_at_limit": mle.minos_at_limit,
        "at_limit": list(mle.at_limit),
        "nll_min": mle.fval,
        "nfcn": mle.nfcn,
        "map_converged": None if map_ is None else map_.converged,
        "laplace_posdef": None if map_ is None else map_.posdef,
        "divergences": None,
        "r_hat_max": None,
        "ess_bulk_min": None,
    }
    if idata is not None:
        div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
        rhat = max(c["posterior"]["r_hat"] for c in comparison.values())
        ess = min(c["posterior"]["ess_bulk"] for c in comparison.values())
        diag.update(divergences=div, r_hat_max=rhat, ess_bulk_min=ess)
        if div:
            warnings.append(f"{div} divergent NUTS transition(s): the posterior may be biased")
        if not rhat <= RHAT_MAX:
            warnings.append(f"r_hat = {rhat:.3f} > {RHAT_MAX}: chains disagree, sample longer")
        if not ess >= ESS_MIN:
            warnings.append(f"bulk ESS = {ess:.0f} < {ESS_MIN}: too few effective draws, sample longer")
    diag["warnings"] = warnings
    diag["ok"] = not warnings
    return diag


#: Posterior draws used by the posterior-predictive check (evenly thinned).
PPC_DRAWS = 1000


def posterior_predictive(problem, idata, *, seed=None, draws=PPC_DRAWS) -> dict | None:
    """Return the posterior-predictive χ² check of a fit (Gelman, Meng and Stern 1996).

    For each of ``draws`` posterior draws θ (evenly thinned from the chains) a dataset is
    drawn from the model at θ; the check compares the χ² of the observed data at θ with the
    χ² of the replica at θ (the model's :meth:`~bayesfit.modeling.problem.Problem.discrepancy`). The
    Bayesian p-value is the fraction of draws whose replica has the larger χ²: near 0 the
    data fit worse than the model's own datasets, near 1 better. Unlike the frequentist
    χ² p-value it needs no asymptotic distribution and it averages over the posterior
    instead of plugging in the MLE.

    Parameters
    ----------
    problem : bayesfit.modeling.problem.Problem
    idata : arviz.InferenceData
        The NUTS posterior.
    seed : int, optional
        Seed of the replicas (independent of the sampler's stream).
    draws : int
        Posterior draws to use.

    Returns
    -------
    dict or None
        ``{"p_value", "p_value_error", "draws", "observed", "replicated"}``, the last two
        arrays of χ² per draw, and for a simultaneous fit the same per category under
        ``"categories"``; ``None`` where the model has no discrepancy.
    """
    post = posterior_draws(idata, problem.names)
    pick = np.unique(np.linspace(0, len(post) - 1, min(draws, len(post))).round().astype(int))
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1] if seed is not None else None)
    by_category = getattr(problem, "discrepancy_by_category", None)
    parts = by_category(post[pick], rng) if by_category is not None else None
    out = (sum(o for o, _ in parts.values()), sum(r for _, r in parts.values())) if parts else \
        problem.discrepancy(post[pick], rng)
    if out is None:
        return None

    def check(observed, replicated):
        p = float(np.mean(replicated >= observed))
        return {"p_value": p, "p_value_error": math.sqrt(p * (1 - p) / len(pick)), "draws": int(len(pick)),
                "observed": observed, "replicated": replicated}

    result = check(*out)
    if parts:  # a simultaneous fit: the check of each category besides the whole
        result["categories"] = {k: check(*pair) for k, pair in parts.items()}
    return result


def run_fits(problem, *, sample=False, draws=1000, tune=1000, chains=4, seed=None,
             sampler="auto", progressbar=True, log=print, notes=(), minos=True, ppc=True, bayesian=True) -> FitResult:
    """Fit one problem three ways: iminuit, MAP + Laplace, and (optionally) NUTS.

    Parameters
    ----------
    problem : bayesfit.modeling.problem.Problem
        The model and its data.
    sample : bool
        Also sample the posterior with NUTS.
    draws, tune, chains : int
        NUTS settings (per chain).
    seed : int, optional
        Random seed of the sampler.
    sampler : {"auto", "pymc", "nutpie"}
        NUTS backend; ``"auto"`` picks with :func:`bayesfit.engine.bayes.default_sampler`.
    progressbar : bool
        Show the sampler's progress bar.
    log : callable
        Receives one line of progress per stage; ``print`` by default.
    notes : sequence of str
        Decisions taken before the fit, kept in the result.
    minos : bool
        Run MINOS after HESSE (toy studies that need no MINOS skip it: it costs ten MIGRADs).
    ppc : bool
        With a posterior, run the posterior-predictive check (:func:`posterior_predictive`).
    bayesian : bool
        Run the Bayesian fits (MAP + Laplace, and NUTS with ``sample``). False fits the
        maximum likelihood only, which compiles nothing: the quick loop of iterating on a model.

    Returns
    -------
    FitResult
    """
    names = problem.names
    timing, compiled = {}, {}
    t0 = time.perf_counter()
    with _stage(log, f"maximum likelihood (iminuit MIGRAD, HESSE{', MINOS' if minos else ''})", timing, "mle"):
        # placed to ~1e-5 σ: MAP = MLE is then a check of the two codes, not of MIGRAD's stopping rule
        mle = fit_problem(problem, minos=minos, polish=True)

    log(mle_lines(problem, mle))
    if not bayesian:
        if sample:
            raise ValueError("sample=True needs the Bayesian fits (bayesian=True)")
        map_, idata = None, None
    else:
        map_, idata = _bayesian_fits(problem, mle, log, timing, compiled, sample=sample, draws=draws, tune=tune,
                                     chains=chains, seed=seed, sampler=sampler, progressbar=progressbar)
        if sample:
            sampler = idata.attrs["sampler"]
    comparison = compare(names, mle, map_, idata)
    for name, role in _roles(problem).items():
        comparison[name]["role"] = role
    for name, side in on_physical_boundary(problem, mle).items():
        comparison[name]["boundary"] = side
    comparison.update(compare_derived(problem.derived, names, mle, map_, idata))
    gof = problem.gof(mle.values)
    predictive = posterior_predictive(problem, idata, seed=seed) if idata is not None and ppc else None
    diagnostics = _diagnostics(mle, map_, idata, comparison)
    if sample:
        diagnostics["sampler"] = sampler
    if problem.warnings:
        diagnostics["warnings"].extend(problem.warnings)
        diagnostics["ok"] = False
    if problem.meta.get("independent_mle") is False and map_ is not None:
        diagnostics["warnings"].append("a component has no numpy/scipy reference: the MLE evaluated the "
                                       "same PyTensor graph as the MAP, so MAP = MLE is not an "
                                       "independent check")
        diagnostics["ok"] = False
    timing["total"] = time.perf_counter() - t0
    return FitResult(problem, mle, map_, idata, comparison, gof, diagnostics, timing, list(notes), compiled, predictive)


def on_physical_boundary(problem, mle) -> dict:
    """Return ``{name: side}`` of the parameters whose MLE sits on a physical boundary (``boundary=``).

    Parameters
    ----------
    problem : bayesfit.modeling.problem.Problem
    mle : MLEResult

    Returns
    -------
    dict
    """
    out = {}
    for p, value, error in zip(problem.params, mle.values, mle.errors):
        if p.boundary is None:
            continue
        bound = getattr(p, p.boundary)
        scale = error if np.isfinite(error) and error > 0 else (p.upper - p.lower) * 1e-6
        if abs(value - bound) < 1e-3 * scale or p.name in mle.at_limit:
            out[p.name] = p.boundary
    return out


def mle_lines(problem, mle) -> str:
    """Return the maximum-likelihood result as a few lines, shown as soon as it exists.

    Parameters
    ----------
    problem : bayesfit.modeling.problem.Problem
    mle : MLEResult

    Returns
    -------
    str
        One line per parameter, value ± HESSE error with the unit, PDG-rounded.
    """
    from bayesfit.output.formatting import display_measurement

    width = max(len(n) for n in problem.names)
    state = "" if mle.valid else " (MIGRAD: no valid minimum)"
    lines = [f"maximum likelihood (value ± HESSE error){state}:"]
    edge = on_physical_boundary(problem, mle)
    lines += [f"  {p.name.ljust(width)} = " + (
              f"{getattr(p, p.boundary):g}{' ' + p.unit if p.unit else ''}, on its physical boundary: quote a limit "
              "(bf.upper_limit, bayesfit limit)" if p.name in edge else display_measurement(p, v, e))
              for p, v, e in zip(problem.params, mle.values, mle.errors)]
    return "\n".join(lines)


def _bayesian_fits(problem, mle, log, timing, compiled, *, sample, draws, tune, chains, seed, sampler, progressbar):
    """Run MAP + Laplace and, with ``sample``, NUTS; return ``(map_, idata)`` (see :func:`run_fits`)."""
    from bayesfit.backend.compiled import COMPILED, map_function, nuts_model, start_numba_cache_fill

    names = problem.names
    model = problem.pymc_model()
    fill = None
    try:
        if sample:
            if sampler == "auto":
                sampler = default_sampler()
            nuts_pm = problem.sampling_model()
            nuts_pm = model if nuts_pm is None else nuts_pm
            if sampler == "nutpie":
                with interrupts.held():  # a child started is a child this function cancels, whatever comes
                    fill = start_numba_cache_fill(nuts_pm)
                if fill is not None:
                    log("compiling the sampler's model for PyTensor's numba cache in a background process "
                        "(first run of this model only) ...")
        fn, compiled["map_laplace"] = _obtain(log, timing, "map_laplace_compile", partial(map_function, model, names), {
            COMPILED: "compiling the posterior's log p, gradient and Hessian-vector product for MAP + Laplace "
                      "(JAX, once per process) ..."})
        with _stage(log, "posterior mode and Laplace covariance (PyMC graph, JAX)", timing, "map_laplace"):
            # From the MLE when MIGRAD found one: a warm start, a few evaluations of the graph
            # instead of a hundred. The mode is found and checked (distance to it below 1e-3 σ)
            # with the PyMC graph's own gradient and Hessian, so MAP = MLE stays a comparison
            # of two codes.
            start = mle.values if mle.valid and np.all(np.isfinite(mle.values)) else problem.start
            map_ = find_map_laplace(names=names, start=start, bounds=problem.bounds, function=fn,
                                    groups=problem.hessian_groups)

        idata = None
        if sample:
            nuts = None
            if sampler == "nutpie":
                nuts, compiled["nuts"] = _obtain(log, timing, "nuts_compile", partial(nuts_model, nuts_pm, fill=fill), {
                    COMPILED: "compiling the sampler's model with nutpie/numba (once per process) ..."})
            with _stage(log, f"NUTS ({sampler}): {chains} chains x ({tune} tune + {draws} draws)", timing, "nuts"):
                idata = sample_nuts(
                    draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                    progressbar=progressbar, initvals=start_point(map_, problem.bounds, seed),
                    model=nuts_pm, nuts=nuts,
                )
            idata.attrs["sampler"] = sampler
    finally:
        if fill is not None:
            fill.cancel()  # a no-op once it has finished; stops it if the fit failed first

    return map_, idata


def _obtain(log, timing, key, get, messages):
    """Return ``get(announce=...)``'s compiled object and how it was obtained, timed into ``timing[key]``.

    ``get`` calls ``announce(kind)`` before slow work (compiling, loading); the matching line of
    ``messages`` is logged then, and the time when it ends. Work reused in memory stays silent.
    """
    announced = []

    def announce(kind):
        announced.append(kind)
        log(messages[kind])

    t = time.perf_counter()
    obj, how = get(announce=announce)
    timing[key] = time.perf_counter() - t
    if announced:
        log(f"  done in {timing[key]:.1f} s")
    return obj, how


class _stage:
    """Time a stage into ``timing[key]``, saying when it starts and ends."""

    def __init__(self, log, title, timing, key):
        self.log, self.title, self.timing, self.key = log, title, timing, key

    def __enter__(self):
        self.log(f"{self.title} ...")
        self.t = time.perf_counter()

    def __exit__(self, *exc):
        self.timing[self.key] = time.perf_counter() - self.t
        if exc[0] is None:
            self.log(f"  done in {self.timing[self.key]:.2f} s")
        return False
