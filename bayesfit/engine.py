"""The three fits of one problem, and their comparison.

:func:`run_fits` takes a :class:`bayesfit.problem.Problem` (a model bound to data) and returns a
:class:`FitResult` holding the iminuit fit, the MAP + Laplace fit, optionally the NUTS
posterior, the per-parameter comparison, the goodness of fit, the diagnostics and the timings.
Users reach it through :func:`bayesfit.fit`; the result prints itself as the comparison table,
is indexed by parameter name (``res["mu"].hesse``), and writes every output with
:meth:`FitResult.save`. :func:`result_dict` is the documented ``result.json`` structure.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial

import arviz as az
import numpy as np

from .bayes import MAPResult, default_sampler, find_map_laplace, sample_nuts, start_point
from .mle import MLEResult, fit_problem

__all__ = ["FitResult", "ParameterResult", "PosteriorSummary", "run_fits", "compare",
           "posterior_correlation", "result_dict", "HDI_PROB"]

#: Probability content of the highest-density interval quoted next to the ±1σ errors.
HDI_PROB = 0.6827
#: Convergence thresholds (Vehtari et al. 2021, as used by ArviZ).
RHAT_MAX = 1.01
ESS_MIN = 400


@dataclass(frozen=True)
class PosteriorSummary:
    """The NUTS posterior of one parameter, summarised with ArviZ.

    Attributes
    ----------
    mean, sd : float
    hdi_68 : (float, float)
        68.27 % highest-density interval.
    r_hat, ess_bulk : float
        Convergence diagnostics (Vehtari et al. 2021).
    """

    mean: float
    sd: float
    hdi_68: tuple
    r_hat: float
    ess_bulk: float


@dataclass(frozen=True)
class ParameterResult:
    """The three fits of one parameter: ``res["mu"]``.

    Attributes
    ----------
    name : str
    mle, hesse : float
        Maximum-likelihood value and its HESSE error.
    minos : (float, float)
        MINOS (lower, upper) errors, lower negative; NaN where MINOS failed.
    map, laplace_sd : float
        Posterior mode and its Laplace standard deviation.
    posterior : PosteriorSummary or None
        Without ``sample=True``, None.
    unit : str
    """

    name: str
    mle: float
    hesse: float
    minos: tuple
    map: float
    laplace_sd: float
    posterior: PosteriorSummary | None
    unit: str = ""


@dataclass
class FitResult:
    """Everything the three fits produced for one model and its data.

    Index it by parameter name (``res["mu"].mle``), print it for the comparison table, and
    write every output of the command line with :meth:`save`.

    Attributes
    ----------
    problem : bayesfit.problem.Problem
        The model bound to its data.
    mle : bayesfit.mle.MLEResult
    map : bayesfit.bayes.MAPResult
    idata : arviz.InferenceData or None
        NUTS posterior, when sampling was asked for.
    comparison : dict
        Per-parameter comparison (see :func:`compare`).
    gof : dict
        ``{"chi2", "ndf", "p_value"}`` at the MLE.
    diagnostics : dict
        Validity flags and the list of ``warnings`` to show the user.
    timing_s : dict
        Wall time of each stage in seconds: ``mle``, ``map_laplace_compile`` (obtaining the
        compiled function: compiling, loading or reusing it), ``map_laplace``, and with NUTS
        ``nuts_compile`` and ``nuts``; ``total``.
    notes : list of str
        What :func:`bayesfit.fit` decided for the user (binning, dropped values).
    compiled : dict
        How each compiled stage got its functions: ``{"map_laplace": ..., "nuts": ...}``, each
        ``"compiled"``, ``"loaded from the disk cache"`` or ``"reused in process"``
        (:mod:`bayesfit.compiled`).
    ppc : dict or None
        The posterior-predictive check (:func:`posterior_predictive`), with a posterior.
    coverage : dict or None
        With ``check_coverage``: per parameter and interval the toys' coverage and a verdict
        (:func:`bayesfit.toys.coverage_advice`).
    """

    problem: object
    mle: MLEResult
    map: MAPResult
    idata: object = None
    comparison: dict = field(default_factory=dict)
    gof: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    timing_s: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    compiled: dict = field(default_factory=dict)
    ppc: dict = None
    coverage: dict = None

    @property
    def names(self) -> list:
        """Return the parameter names in order."""
        return list(self.problem.names)

    @property
    def minuit(self):
        """Return the ``iminuit.Minuit`` object of the maximum-likelihood fit."""
        return self.mle.minuit

    def __getitem__(self, name) -> ParameterResult:
        try:
            c = self.comparison[name]
        except KeyError:
            raise KeyError(f"no parameter {name!r}; the parameters are {', '.join(self.names)}") from None
        post = c["posterior"]
        if post is not None:
            post = PosteriorSummary(post["mean"], post["sd"], tuple(post["hdi_68"]), post["r_hat"],
                                    post["ess_bulk"])
        unit = next((p.unit for p in self.problem.params if p.name == name), "")
        return ParameterResult(name, c["mle"], c["hesse"], tuple(c["minos"]), c["map"], c["laplace_sd"],
                               post, unit)

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def to_dict(self) -> dict:
        """Return exactly what ``result.json`` holds (JSON-safe; NaN and inf become None)."""
        return result_dict(self)

    def save(self, directory, *, log=None) -> list:
        """Write every output of the command line into ``directory``.

        ``result.json``, ``summary.md``, the plots as PNG and PDF, and with a posterior
        ``posterior.nc``; see :func:`bayesfit.report.write_report`.

        Parameters
        ----------
        directory : str or path-like
        log : callable, optional
            Receives a line before the profile and contour scans, which refit the model.

        Returns
        -------
        list of pathlib.Path
        """
        from .report import write_report

        return write_report(self, directory, log=log)

    def __repr__(self):
        from .report import summary_text

        return summary_text(self)

    def _repr_html_(self):
        from .report import summary_html

        return summary_html(self)


def posterior_draws(idata, names) -> np.ndarray:
    """Return the posterior draws of ``names``, chains concatenated, shape ``(draws, len(names))``."""
    return np.stack([np.asarray(idata.posterior[n]).ravel() for n in names], axis=1)


def posterior_correlation(idata, names) -> np.ndarray:
    """Return the correlation matrix of the posterior draws of ``names``.

    Parameters
    ----------
    idata : arviz.InferenceData
    names : sequence of str

    Returns
    -------
    numpy.ndarray
    """
    return np.atleast_2d(np.corrcoef(posterior_draws(idata, names), rowvar=False))


def compare(names, mle: MLEResult, map_: MAPResult, idata=None) -> dict:
    """Put the three fits side by side, parameter by parameter.

    Parameters
    ----------
    names : sequence of str
        Parameter names.
    mle, map_ : MLEResult, MAPResult
    idata : arviz.InferenceData, optional
        NUTS posterior.

    Returns
    -------
    dict
        ``{name: {"mle", "hesse", "minos", "map", "laplace_sd", "posterior",
        "laplace_over_hesse", "sd_over_hesse", "map_minus_mle_in_hesse"}}`` where
        ``posterior`` is ``{"mean", "sd", "hdi_68", "r_hat", "ess_bulk"}`` or ``None``.
    """
    summary = None
    if idata is not None:
        hdi = az.hdi(idata, var_names=list(names), hdi_prob=HDI_PROB)
        ess = az.ess(idata, var_names=list(names), method="bulk")
        rhat = az.rhat(idata, var_names=list(names))
        summary = {
            n: {
                "mean": float(idata.posterior[n].mean()),
                "sd": float(idata.posterior[n].std(ddof=1)),
                "hdi_68": [float(v) for v in hdi[n].values],
                "r_hat": float(rhat[n]),
                "ess_bulk": float(ess[n]),
            }
            for n in names
        }
    out = {}
    laplace_sd = map_.sd
    for i, n in enumerate(names):
        hesse = float(mle.errors[i])
        post = summary[n] if summary else None
        out[n] = {
            "mle": float(mle.values[i]),
            "hesse": hesse,
            "minos": list(mle.minos[n]),
            "map": float(map_.values[i]),
            "laplace_sd": float(laplace_sd[i]),
            "posterior": post,
            "laplace_over_hesse": float(laplace_sd[i] / hesse),
            "sd_over_hesse": float(post["sd"] / hesse) if post else None,
            "map_minus_mle_in_hesse": float((map_.values[i] - mle.values[i]) / hesse),
        }
    return out


def _diagnostics(mle: MLEResult, map_: MAPResult, idata, comparison) -> dict:
    warnings = []
    if not mle.valid:
        warnings.append("MIGRAD did not find a valid minimum: the frequentist errors are unreliable")
    elif not mle.accurate:
        warnings.append("the HESSE covariance is not accurate (not positive definite or forced)")
    if mle.at_limit:
        warnings.append(f"parameter(s) at a bound: {', '.join(mle.at_limit)}; widen the bounds")
    cut = mle.minos_at_limit
    if cut:
        warnings.append("MINOS interval cut off by a parameter bound (the error on that side is only the "
                        "distance to the bound): " + ", ".join(f"{n} ({side})" for n, side in cut.items()))
    bad_minos = [n for n, ok in mle.minos_valid.items() if not ok and n not in cut]
    if mle.valid and bad_minos:
        warnings.append(f"MINOS interval invalid for: {', '.join(bad_minos)}")
    if not map_.converged:
        warnings.append(f"the MAP search did not converge ({map_.message})")
    if not map_.posdef:
        warnings.append("the Hessian at the MAP is not positive definite: no Laplace errors")
    diag = {
        "migrad_valid": mle.valid,
        "hesse_accurate": mle.accurate,
        "minos_valid": mle.minos_valid,
        "minos_at_limit": mle.minos_at_limit,
        "at_limit": list(mle.at_limit),
        "nll_min": mle.fval,
        "nfcn": mle.nfcn,
        "map_converged": map_.converged,
        "laplace_posdef": map_.posdef,
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
    χ² of the replica at θ (the model's :meth:`~bayesfit.problem.Problem.discrepancy`). The
    Bayesian p-value is the fraction of draws whose replica has the larger χ²: near 0 the
    data fit worse than the model's own datasets, near 1 better. Unlike the frequentist
    χ² p-value it needs no asymptotic distribution and it averages over the posterior
    instead of plugging in the MLE.

    Parameters
    ----------
    problem : bayesfit.problem.Problem
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
        arrays of χ² per draw; ``None`` where the model has no discrepancy.
    """
    post = posterior_draws(idata, problem.names)
    pick = np.unique(np.linspace(0, len(post) - 1, min(draws, len(post))).round().astype(int))
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1] if seed is not None else None)
    out = problem.discrepancy(post[pick], rng)
    if out is None:
        return None
    observed, replicated = out
    p = float(np.mean(replicated >= observed))
    return {"p_value": p, "p_value_error": math.sqrt(p * (1 - p) / len(pick)), "draws": int(len(pick)),
            "observed": observed, "replicated": replicated}


def run_fits(problem, *, sample=False, draws=1000, tune=1000, chains=4, seed=None,
             sampler="auto", progressbar=True, log=print, notes=(), minos=True, ppc=True) -> FitResult:
    """Fit one problem three ways: iminuit, MAP + Laplace, and (optionally) NUTS.

    Parameters
    ----------
    problem : bayesfit.problem.Problem
        The model and its data.
    sample : bool
        Also sample the posterior with NUTS.
    draws, tune, chains : int
        NUTS settings (per chain).
    seed : int, optional
        Random seed of the sampler.
    sampler : {"auto", "pymc", "nutpie"}
        NUTS backend; ``"auto"`` picks with :func:`bayesfit.bayes.default_sampler`.
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

    Returns
    -------
    FitResult
    """
    from .compiled import COMPILED, LOADED, WAITING, cache_dir, map_function, nuts_model, start_numba_cache_fill

    names = problem.names
    timing, compiled = {}, {}
    t0 = time.perf_counter()
    with _stage(log, "maximum likelihood (iminuit MIGRAD, HESSE, MINOS)", timing, "mle"):
        mle = fit_problem(problem, minos=minos)

    model = problem.pymc_model()
    fill = None
    if sample:
        if sampler == "auto":
            sampler = default_sampler()
        nuts_pm = problem.sampling_model()
        nuts_pm = model if nuts_pm is None else nuts_pm
        if sampler == "nutpie":
            fill = start_numba_cache_fill(nuts_pm)
            if fill is not None:
                log("compiling the sampler's model for PyTensor's numba cache in a background process "
                    "(first run of this model only) ...")
    try:
        fn, compiled["map_laplace"] = _obtain(log, timing, "map_laplace_compile", partial(map_function, model, names), {
            COMPILED: "compiling the posterior's log p, gradient and Hessian-vector product for MAP + Laplace "
                      f"(first run of this model only, then cached in {cache_dir()}) ...",
            LOADED: "loading the compiled MAP + Laplace functions from the disk cache ...",
            WAITING: "another process is compiling this model's MAP + Laplace functions; waiting for it ..."})
        with _stage(log, "posterior mode and Laplace covariance (PyMC/PyTensor)", timing, "map_laplace"):
            # From the MLE when MIGRAD found one: a warm start, a few evaluations of the graph
            # instead of a hundred. The mode is found and checked (distance to it below 1e-3 σ)
            # with the PyMC graph's own gradient and Hessian, so MAP = MLE stays a comparison
            # of two codes.
            start = mle.values if mle.valid and np.all(np.isfinite(mle.values)) else problem.start
            map_ = find_map_laplace(names=names, start=start, bounds=problem.bounds, function=fn)

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

    comparison = compare(names, mle, map_, idata)
    gof = problem.gof(mle.values)
    predictive = posterior_predictive(problem, idata, seed=seed) if idata is not None and ppc else None
    diagnostics = _diagnostics(mle, map_, idata, comparison)
    if sample:
        diagnostics["sampler"] = sampler
    if problem.warnings:
        diagnostics["warnings"].extend(problem.warnings)
        diagnostics["ok"] = False
    if problem.meta.get("independent_mle") is False:
        diagnostics["warnings"].append("a component has no numpy/scipy reference: the MLE evaluated the "
                                       "same PyTensor graph as the MAP, so MAP = MLE is not an "
                                       "independent check")
        diagnostics["ok"] = False
    timing["total"] = time.perf_counter() - t0
    return FitResult(problem, mle, map_, idata, comparison, gof, diagnostics, timing, list(notes), compiled, predictive)


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


def _clean(obj):
    """Make ``obj`` JSON-safe: numpy to Python, NaN and inf to ``None``."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def result_dict(fit: FitResult) -> dict:
    """Return the documented ``result.json`` structure of a fit.

    Parameters
    ----------
    fit : FitResult

    Returns
    -------
    dict
        JSON-safe; NaN and infinities become ``null``.
    """
    p = fit.problem
    names = p.names
    params = {
        n: {k: c[k] for k in ("mle", "hesse", "minos", "map", "laplace_sd", "posterior",
                              "laplace_over_hesse", "sd_over_hesse", "map_minus_mle_in_hesse")}
        for n, c in fit.comparison.items()
    }
    out = {
        "model": p.name,
        "n_data": int(p.n_data),
        "parameter_order": list(names),
        "parameters": params,
        "correlation": {
            "hesse": fit.mle.correlation,
            "laplace": fit.map.correlation,
            "posterior": posterior_correlation(fit.idata, names) if fit.idata is not None else None,
        },
        "gof": fit.gof,
        "coverage": fit.coverage,
        "ppc": None if fit.ppc is None else {
            "statistic": "Pearson chi2 at each posterior draw, observed vs replicated data",
            "p_value": fit.ppc["p_value"], "p_value_error": fit.ppc["p_value_error"],
            "draws": fit.ppc["draws"], "chi2_observed_mean": float(np.mean(fit.ppc["observed"])),
            "chi2_replicated_mean": float(np.mean(fit.ppc["replicated"]))},
        "diagnostics": fit.diagnostics,
        "timing_s": fit.timing_s,
        "compiled": fit.compiled,
        "notes": list(fit.notes),
        "meta": p.meta,
    }
    return _clean(out)
