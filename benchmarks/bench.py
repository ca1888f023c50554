"""Benchmark of the di-muon fit against its peers: ``python benchmarks/bench.py [--quick]``.

On the same simulated data, in one run (ratios are taken pair by pair, the machine is noisy):

- **MLE** (MIGRAD + HESSE) wall time: bayesfit's likelihood (one compiled pass over the
  events), iminuit with ``numba_stats`` densities (``iminuit.cost.UnbinnedNLL``), and the
  seed's approach (scipy L-BFGS-B plus a finite-difference Hessian), at 1e4, 1e5 and 1e6 events (bayesfit binned too);
- **NUTS**: compile time, sampling time and minimum bulk ESS per second over all parameters,
  for bayesfit unbinned and binned (nutpie) and a plain PyMC model (mixture log-likelihood in
  a ``pm.Potential``, PyMC's NUTS), at 1e5 events, and bayesfit binned at 1e7;
- **refits** (compile once, fit many, :mod:`bayesfit.backend.compiled`): in one process, new
  2,000-event datasets fitted by MLE + HESSE + MINOS + MAP + Laplace against iminuit +
  ``numba_stats`` MLE + HESSE alone on the same data; a NUTS refit of a new binned 1e5-event
  dataset; binned NUTS at 1e7 events, first fit of the process and a refit, in ESS per second
  of the whole NUTS stage (compilation included);
- **end to end**: ``python -m bayesfit dimuon --sample``, cold (empty PyTensor, numba and
  bayesfit caches: the fit stage from ``result.json`` and the whole command) and warm (the whole
  command); ``--quick`` measures the warm run only.

- **toys** (:mod:`bayesfit.studies.toys`): MLE + HESSE toys per second on one core against a plain
  loop of iminuit + ``numba_stats``, two Dask workers against one, and 1,000 toys with MLE +
  MAP + Laplace on every core (``--toys-only`` runs just this and writes ``toys.md``).

Writes ``bench.md`` and ``bench.json`` into ``--out`` (default ``benchmarks/results``).
``--quick`` shrinks every size and chain so that the test suite can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bayesfit.engine.bayes import NUTPIE_OPTIONS
from bayesfit.modeling.window import FIT_BINS

__all__ = ["main", "bench_mle", "bench_nuts", "bench_refit", "bench_cli", "bench_toys"]

TRUTH = [10.575, 0.040, 1.5, 5.0, 3.0, 0.65]
WINDOW = (10.2, 10.8)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _peer_numba_stats(data, start, bounds):
    """iminuit + numba_stats: the unbinned fit as a user of those libraries writes it."""
    from iminuit import Minuit
    from iminuit.cost import UnbinnedNLL
    from numba_stats import crystalball

    lo, hi = WINDOW

    def pdf(x, mu, sigma, alpha, n, slope, f_sig):
        norm = np.diff(crystalball.cdf(np.array([lo, hi]), alpha, n, mu, sigma))[0]
        sig = crystalball.pdf(x, alpha, n, mu, sigma) / norm
        w = hi - lo
        bkg = np.exp(slope * (x - lo)) * slope / np.expm1(slope * w)
        return f_sig * sig + (1 - f_sig) * bkg

    m = Minuit(UnbinnedNLL(data, pdf), *start, name=["mu", "sigma", "alpha", "n", "slope", "f_sig"])
    m.limits = bounds
    m.migrad()
    m.hesse()
    return m.valid


def _peer_scipy_seed(problem):
    """The seed's approach: L-BFGS-B, then a forward finite-difference Hessian."""
    from scipy.optimize import minimize

    res = minimize(problem.nll, problem.start, method="L-BFGS-B", bounds=problem.bounds,
                   options={"maxiter": 10_000, "ftol": 1e-14, "gtol": 1e-8})
    k, eps, f0 = len(res.x), 1e-5, problem.nll(res.x)
    fi = [problem.nll(res.x + eps * np.eye(k)[i]) for i in range(k)]
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            step = res.x + eps * (np.eye(k)[i] + np.eye(k)[j])
            hess[i, j] = hess[j, i] = (problem.nll(step) - fi[i] - fi[j] + f0) / eps**2
    return bool(res.success)


def bench_mle(sizes, rng=1):
    """Time the MLE (MIGRAD + HESSE) of bayesfit and its peers on the same samples.

    Parameters
    ----------
    sizes : sequence of int
        Event counts.
    rng : int
        Seed of the simulation.

    Returns
    -------
    list of dict
        One row per size with wall times in seconds and the ratios to bayesfit.
    """
    from bayesfit.engine.mle import fit_problem
    from bayesfit.models.dimuon_model import dimuon, simulate

    Dimuon = lambda data, fit_bins=None: dimuon().bind(data, fit_bins=fit_bins)
    rows = []
    for n in sizes:
        data = simulate(n, TRUTH, rng=rng)
        unbinned, binned = Dimuon(data), Dimuon(data, fit_bins=FIT_BINS)
        fit = lambda p: fit_problem(p, minos=False)
        for warm_up in (unbinned.nll, unbinned.nll_grad, unbinned.nll_hessian):  # numba JIT or cache load,
            warm_up(unbinned.start)                                               # as for the peer
        _, t_ours = _timed(lambda: fit(unbinned))
        _, t_binned = _timed(lambda: fit(binned))
        _peer_numba_stats(data[:1000], unbinned.start, unbinned.bounds)  # numba JIT warm-up
        _, t_numba = _timed(lambda: _peer_numba_stats(data, unbinned.start, unbinned.bounds))
        _, t_scipy = _timed(lambda: _peer_scipy_seed(unbinned))
        rows.append({"events": n, "bayesfit_unbinned_s": t_ours, "bayesfit_binned_s": t_binned,
                     "iminuit_numba_stats_s": t_numba, "scipy_lbfgsb_fd_hessian_s": t_scipy,
                     "numba_stats_over_bayesfit": t_numba / t_ours, "scipy_over_bayesfit": t_scipy / t_ours})
    return rows


def _plain_pymc_model(data):
    """The straightforward PyMC model of issue 5: mixture log-likelihood in a Potential."""
    import pymc as pm
    import pytensor.tensor as pt

    from bayesfit.distributions import crystalball as cb
    from bayesfit.distributions import exponential as truncexpon
    from bayesfit.models.dimuon_model import BOUNDS

    lo, hi = WINDOW
    with pm.Model() as model:
        mu, sigma, alpha, n, slope, f = (pm.Uniform(k, *BOUNDS[k]) for k in ("mu", "sigma", "alpha", "n", "slope", "f_sig"))
        log_sig = cb.logpdf(data, mu, sigma, alpha, n) - cb.log_window(lo, hi, mu, sigma, alpha, n)
        log_bkg = truncexpon.logpdf(data, slope, lo, hi)
        pm.Potential("loglike", pt.sum(pt.logaddexp(pt.log(f) + log_sig, pt.log1p(-f) + log_bkg)))
    return model


def _nuts_model(problem):
    """Return the model bayesfit's engine gives NUTS for ``problem``."""
    model = problem.sampling_model()
    return problem.pymc_model() if model is None else model


def _nuts_row(label, model, n, draws, tune, chains, sampler):
    import arviz as az
    import nutpie
    import pymc as pm

    if sampler == "nutpie":
        from bayesfit.backend.compiled import model_data, nuts_model

        # Compiled once per structure and process, as in bayesfit's fits: a later row of the
        # same structure (binned at 1e5, then 1e7 events) reuses it and records ~0 s.
        nuts, t_compile = _timed(lambda: nuts_model(model)[0])
        compiled = nuts.prepared(model_data(model), None)
        idata, t_sample = _timed(lambda: nutpie.sample(compiled, draws=draws, tune=tune, chains=chains,
                                                        seed=1, progress_bar=False, **NUTPIE_OPTIONS))
    else:
        t_compile = None  # PyMC compiles inside pm.sample: included in the sampling time
        with model:
            idata, t_sample = _timed(lambda: pm.sample(draws=draws, tune=tune, chains=chains, cores=2,
                                                       random_seed=1, progressbar=False,
                                                       compute_convergence_checks=False))
    ess = az.ess(idata, method="bulk")
    min_ess = float(min(ess[v] for v in ess.data_vars))
    return {"model": label, "events": n, "sampler": sampler, "compile_s": t_compile,
            "sample_s": t_sample, "min_ess_bulk": min_ess, "ess_per_s": min_ess / t_sample}


def bench_nuts(n_unbinned, n_large, draws, tune, chains=2, plain=True):
    """Measure NUTS compile time, sampling time and minimum bulk ESS per second.

    Parameters
    ----------
    n_unbinned : int
        Events for the unbinned, binned and plain-PyMC comparisons.
    n_large : int
        Events for the binned large-sample run.
    draws, tune, chains : int
        NUTS settings per chain.
    plain : bool
        Include the plain PyMC model (slow: minutes at 1e5 events).

    Returns
    -------
    list of dict
    """
    from bayesfit.models.dimuon_model import dimuon, simulate

    Dimuon = lambda data, fit_bins=None: dimuon().bind(data, fit_bins=fit_bins)
    data = simulate(n_unbinned, TRUTH, rng=2)
    rows = [
        _nuts_row("bayesfit unbinned", _nuts_model(Dimuon(data)), n_unbinned, draws, tune, chains, "nutpie"),
        _nuts_row(f"bayesfit binned ({FIT_BINS} bins)", _nuts_model(Dimuon(data, fit_bins=FIT_BINS)), n_unbinned,
                  draws, tune, chains, "nutpie"),
    ]
    if plain:
        rows.append(_nuts_row("plain PyMC (Potential)", _plain_pymc_model(data), n_unbinned, draws, tune,
                              chains, "pymc"))
    big = simulate(n_large, TRUTH, rng=3)
    rows.append(_nuts_row(f"bayesfit binned ({FIT_BINS} bins)", _nuts_model(Dimuon(big, fit_bins=FIT_BINS)), n_large,
                          draws, tune, chains, "nutpie"))
    return rows


def bench_refit(n_events, n_binned, n_large, draws, tune, chains=2, repeats=10):
    """Measure fits of new data with the compiled functions of an earlier fit (same process).

    Parameters
    ----------
    n_events : int
        Events per dataset of the unbinned MLE + MAP refits.
    n_binned, n_large : int
        Events of the binned NUTS refit and of the large binned NUTS run.
    draws, tune, chains : int
        NUTS settings per chain.
    repeats : int
        New datasets in the unbinned refit comparison (medians are reported).

    Returns
    -------
    dict
    """
    import arviz as az

    import bayesfit as bf

    from bayesfit.models.dimuon_model import dimuon

    model = dimuon()
    quiet = dict(log=None, progressbar=False)
    bf.fit(model, model.simulate(TRUTH, n_events, 100), binned=False, **quiet)  # compiles (or loads)
    ours, peer, map_s, mle_s, how = [], [], [], [], set()
    warm = model.simulate(TRUTH, n_events, 99)
    _peer_numba_stats(warm, *(lambda p: (p.start, p.bounds))(model.bind(warm)))  # the peer's numba JIT
    for k in range(repeats):
        data = model.simulate(TRUTH, n_events, 101 + k)
        res, t = _timed(lambda: bf.fit(model, data, binned=False, **quiet))
        how.add(res.compiled["map_laplace"])
        ours.append(t)
        mle_s.append(res.timing_s["mle"])
        map_s.append(res.timing_s["map_laplace"] + res.timing_s["map_laplace_compile"])
        problem = model.bind(data)
        peer.append(_timed(lambda: _peer_numba_stats(data, problem.start, problem.bounds))[1])
    out = {"events": n_events, "repeats": repeats, "bayesfit_fit_s": float(np.median(ours)),
           "bayesfit_mle_hesse_minos_s": float(np.median(mle_s)), "bayesfit_map_laplace_s": float(np.median(map_s)),
           "iminuit_numba_stats_mle_hesse_s": float(np.median(peer)), "map_laplace_compiled": sorted(how)}

    nuts = dict(sample=True, draws=draws, tune=tune, chains=chains, seed=1, binned=FIT_BINS, **quiet)
    bf.fit(model, model.simulate(TRUTH, n_binned, 200), **nuts)
    res, t = _timed(lambda: bf.fit(model, model.simulate(TRUTH, n_binned, 201), **nuts))
    out["nuts_refit"] = {"events": n_binned, "fit_s": t, "nuts_s": res.timing_s["nuts"],
                         "nuts_compile_s": res.timing_s["nuts_compile"], "compiled": res.compiled}
    large = []
    for seed in (300, 301):
        res = bf.fit(model, model.simulate(TRUTH, n_large, seed), **nuts)
        ess = az.ess(res.idata, method="bulk")
        min_ess = float(min(ess[v] for v in ess.data_vars))
        stage = res.timing_s["nuts"] + res.timing_s["nuts_compile"]
        large.append({"events": n_large, "nuts_compile_s": res.timing_s["nuts_compile"], "nuts_s": res.timing_s["nuts"],
                      "min_ess_bulk": min_ess, "ess_per_s": min_ess / stage, "compiled": res.compiled["nuts"]})
    out["nuts_large"] = large
    return out


def _category_model(tag, shared):
    """A Gaussian peak on an exponential, one category of the benchmark; ``shared`` parameters by name."""
    import bayesfit as bf

    sigma = shared.get("sigma") or bf.Parameter(f"sigma_{tag}", 0.1, 0.02, 0.5)
    return bf.WindowModel((0.0, 2.0), [bf.Gaussian(shared["mu"], sigma),
                                       bf.Exponential(bf.Parameter(f"slope_{tag}", -1.0, -5.0, 5.0))],
                          fractions=[bf.Parameter(f"f_{tag}", 0.3, 0.01, 0.99)], name=tag)


#: The two-category models of :func:`bench_categories`: what the categories share.
SHARED = {"mean": ("mu",), "mean and width": ("mu", "sigma")}


def bench_categories(n_events=2_000, repeats=10):
    """Refits of new data: two-category simultaneous models against one category alone (same process).

    Each category is a Gaussian peak on an exponential with ``n_events`` events; the two share
    the peak position (7 free parameters), or the position and the width (6), as in
    :data:`SHARED`. After one fit of each structure (compiling or loading its MAP + Laplace
    function), ``repeats`` new datasets are fitted (MLE + HESSE, MAP + Laplace; no MINOS).

    Returns
    -------
    dict
        Per model: median refit times, the ratio to one category, the stages' times and
        MIGRAD's calls, and how the compiled functions were obtained.
    """
    import bayesfit as bf
    from bayesfit.engine.bayes import hessian_directions

    truth = [1.0, 0.08, -1.0, 0.3]
    quiet = dict(log=None, minos=False)
    out = {"events_per_category": n_events, "repeats": repeats, "models": {}}
    for label, names in SHARED.items():
        shared = {"mu": bf.Parameter("mu", 1.0, 0.5, 1.5)}
        if "sigma" in names:
            shared["sigma"] = bf.Parameter("sigma", 0.1, 0.02, 0.5)
        one = _category_model("a", shared)
        two = bf.Simultaneous({"a": one, "b": _category_model("b", shared)}, name="two_categories")
        bf.fit(one, one.simulate(truth, n_events, 1), **quiet)  # compiles (or loads) each structure
        bf.fit(two, {k: one.simulate(truth, n_events, 2 + i) for i, k in enumerate("ab")}, **quiet)
        times, how = {"one": [], "two": []}, set()
        stages = {key: {"mle_s": [], "map_laplace_s": [], "migrad_calls": []} for key in times}
        for k in range(repeats):
            data = {c: one.simulate(truth, n_events, 100 + 2 * k + i) for i, c in enumerate("ab")}
            for key, model, sample in (("one", one, data["a"]), ("two", two, data)):
                res, t = _timed(lambda: bf.fit(model, sample, **quiet))
                times[key].append(t)
                how.add(res.compiled["map_laplace"])
                stages[key]["mle_s"].append(res.timing_s["mle"])
                stages[key]["map_laplace_s"].append(res.timing_s["map_laplace"])
                stages[key]["migrad_calls"].append(res.mle.nfcn)
        one_s, two_s = float(np.median(times["one"])), float(np.median(times["two"]))
        out["models"][label] = {
            "one_category_refit_s": one_s, "two_category_refit_s": two_s, "ratio": two_s / one_s,
            "parameters": {"one": len(one.names), "two": len(two.names)},
            "hessian_vector_products": {"one": len(one.names), "two": len(hessian_directions(
                two.prepare(data)[0].hessian_groups, len(two.names))[0])},
            "stages": {key: {name: float(np.median(v)) for name, v in parts.items()} for key, parts in stages.items()},
            "refits_compiled": sorted(how)}
    return out


def _categories_markdown(c):
    lines = ["", "## Simultaneous fits: refits of new data", "",
             f"Two categories of {c['events_per_category']:,} events each (a Gaussian peak on an exponential) "
             f"against one category alone, median of {c['repeats']} new datasets each, whole `bf.fit` without "
             "MINOS, in one process after a first fit of each structure:", "",
             "| categories share | one category [s] | two categories [s] | ratio | free parameters (one, two) "
             "| MLE stage [s] (one, two) | MIGRAD + HESSE calls (one, two) | MAP + Laplace [s] (one, two) "
             "| Hessian-vector products per Laplace Hessian (one, two) | refits compiled |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, m in c["models"].items():
        one, two = m["stages"]["one"], m["stages"]["two"]
        hvp = m.get("hessian_vector_products", {"one": "–", "two": "–"})
        lines.append(f"| the {label} | {m['one_category_refit_s']:.3f} | {m['two_category_refit_s']:.3f} "
                     f"| {m['ratio']:.2f} | {m['parameters']['one']}, {m['parameters']['two']} "
                     f"| {one['mle_s']:.4f}, {two['mle_s']:.4f} | {one['migrad_calls']:.0f}, {two['migrad_calls']:.0f} "
                     f"| {one['map_laplace_s']:.4f}, {two['map_laplace_s']:.4f} | {hvp['one']}, {hvp['two']} "
                     f"| {', '.join(m['refits_compiled'])} |")
    lines += ["", "MIGRAD's numerical derivatives move one parameter at a time and need calls in proportion to the "
              "free parameters, but a two-category call costs about one category: each category's likelihood is "
              "remembered at its last 64 parameter points and evaluated only where its own parameters moved. The "
              "Laplace Hessian of the two categories takes as many Hessian-vector products as one category's: "
              "parameters of different categories share a direction (`hessian_directions`)."]
    return lines


def bench_toys(n_toys, n_events, n_map_toys, n_dask_toys=None, seed=1234):
    """Toy studies of the di-muon model (:mod:`bayesfit.studies.toys`) against a plain loop.

    Measures MLE + HESSE toys per second on one core in process (simulation included), the
    same fits as a plain loop of iminuit + numba_stats on the same datasets (simulation not
    included), a study of ``n_dask_toys`` toys on two Dask workers against the in-process rate
    (the local cluster's start and the workers' imports included, and after the start), and
    the wall time of ``n_map_toys`` toys with MLE + HESSE + MAP + Laplace on all cores.
    """
    from bayesfit import models
    from bayesfit.studies.toys import toys

    n_dask_toys = n_dask_toys or n_toys
    model = models.dimuon()
    truth = [p.start for p in model.params]
    one = toys(model, n_toys, n_events, seed=seed, minos=False, workers=1, progress=False)
    prepared = model.prepare(model.simulate(truth, n_events, rng=0), binned=False)[0]
    datasets = [model.simulate(truth, n_events, rng=np.random.default_rng(s))
                for s in np.random.SeedSequence(seed).spawn(n_toys)]
    _peer_numba_stats(datasets[0], prepared.start, prepared.bounds)  # numba JIT warm-up
    t0 = time.perf_counter()
    for d in datasets:
        _peer_numba_stats(d, prepared.start, prepared.bounds)
    peer_rate = n_toys / (time.perf_counter() - t0)
    two = toys(model, n_dask_toys, n_events, seed=seed, minos=False, workers=2, progress=False)
    both = toys(model, n_map_toys, n_events, seed=seed, fits=("mle", "map"), minos=False, progress=False)
    return {"events": n_events, "toys": n_toys,
            "bayesfit_1_worker_toys_per_s": one.timing_s["toys_per_s"],
            "iminuit_numba_stats_loop_toys_per_s": peer_rate,
            "bayesfit_over_loop": one.timing_s["toys_per_s"] / peer_rate,
            "dask_toys": n_dask_toys,
            "bayesfit_2_workers_toys_per_s": two.timing_s["toys_per_s"],
            "two_over_one_worker": two.timing_s["toys_per_s"] / one.timing_s["toys_per_s"],
            "two_workers_cluster_start_s": two.timing_s["cluster_start"],
            "two_over_one_worker_after_start": two.timing_s["toys_per_s_after_start"] / one.timing_s["toys_per_s"],
            # the same seeds: the first n_toys toys of the longer study are the one-worker toys
            "identical_for_1_and_2_workers": one.records == two.records[:n_toys],
            "map_toys": n_map_toys, "map_toys_workers": both.workers, "map_toys_wall_s": both.timing_s["wall"]}


def _toys_markdown(t):
    return ["", "## Toys (di-muon, MLE + HESSE per toy unless said)", "",
            f"{t['toys']:,} toys of {t['events']:,} events: bayesfit on one core, in process, "
            f"{t['bayesfit_1_worker_toys_per_s']:.1f} toys/s (simulation included); a plain loop of iminuit + "
            f"numba_stats on the same datasets {t['iminuit_numba_stats_loop_toys_per_s']:.1f} toys/s (fits only): "
            f"{t['bayesfit_over_loop']:.2f}×. {t.get('dask_toys', t['toys']):,} toys on two Dask workers: "
            f"{t['bayesfit_2_workers_toys_per_s']:.1f} toys/s, {t['two_over_one_worker']:.2f}× one in process, "
            f"everything included (the local cluster took {t['two_workers_cluster_start_s']:.1f} s to start and "
            f"receive the model, while this process fitted toys); the same toys for 1 and 2 "
            f"workers: {t['identical_for_1_and_2_workers']}. {t['map_toys']:,} toys with MLE + HESSE + MAP + Laplace "
            f"on {t['map_toys_workers']} workers: {t['map_toys_wall_s']:.1f} s."]


def bench_cli(extra_args, cold_dir, *, cold=True):
    """Time ``python -m bayesfit dimuon --sample`` end to end, cold then warm.

    Parameters
    ----------
    extra_args : list of str
        Extra command-line arguments (the quick mode shrinks the run).
    cold_dir : str or None
        An empty folder used as PyTensor's and numba's compile caches for the cold run, then
        reused warm. ``None`` uses PyTensor's own (warm) cache.
    cold : bool
        Measure the cold run (a full recompilation, minutes); ``False`` records ``None``.

    Returns
    -------
    dict
        ``{"cold_s", "warm_s"}``.
    """
    # PyTensor's C modules and numba cache live under base_compiledir; numba's own cache
    # (bayesfit's likelihood kernel) under NUMBA_CACHE_DIR: both start empty in the cold run.
    env = ({"PYTENSOR_FLAGS": f"base_compiledir={cold_dir}", "NUMBA_CACHE_DIR": str(Path(cold_dir) / "numba_kernels"),
            "BAYESFIT_CACHE_DIR": str(Path(cold_dir) / "bayesfit")}
           if cold_dir else {})
    out = {"cold_s": None, "cold_fit_s": None, "cold_timing_s": None}
    with tempfile.TemporaryDirectory() as outdir:
        for label in (("cold", "warm") if cold else ("warm",)):
            cmd = [sys.executable, "-m", "bayesfit", "dimuon", "--sample", "--no-progress",
                   "--out", outdir, *extra_args]
            _, out[f"{label}_s"] = _timed(lambda: subprocess.run(cmd, check=True, capture_output=True,
                                                                env={**os.environ, **env}))
            timing = json.loads((Path(outdir) / "result.json").read_text())["timing_s"]
            out[f"{label}_fit_s"], out[f"{label}_timing_s"] = timing["total"], timing
    return out


def _markdown(result):
    m = result["machine"]
    lines = [f"# bayesfit benchmark ({'quick' if result['quick'] else 'full'})", "",
             f"Machine: {m['cpus']} CPUs, {m['processor']}, Python {m['python']}; {result['date']}.", "",
             "## MLE (MIGRAD + HESSE) wall time [s]", "",
             "| events | bayesfit unbinned | bayesfit binned | iminuit + numba_stats | scipy L-BFGS-B + FD Hessian "
             "| numba_stats / bayesfit | scipy / bayesfit |", "|---|---|---|---|---|---|---|"]
    for r in result["mle"]:
        lines.append(f"| {r['events']:,} | {r['bayesfit_unbinned_s']:.2f} | {r['bayesfit_binned_s']:.2f} "
                     f"| {r['iminuit_numba_stats_s']:.2f} | {r['scipy_lbfgsb_fd_hessian_s']:.2f} "
                     f"| {r['numba_stats_over_bayesfit']:.2f} | {r['scipy_over_bayesfit']:.2f} |")
    lines += ["", "## NUTS", "", "| model | events | sampler | compile [s] | sampling [s] | min bulk ESS | ESS/s |",
              "|---|---|---|---|---|---|---|"]
    for r in result["nuts"]:
        compile_s = "in sampling" if r["compile_s"] is None else f"{r['compile_s']:.1f}"
        lines.append(f"| {r['model']} | {r['events']:,} | {r['sampler']} | {compile_s} | "
                     f"{r['sample_s']:.1f} | {r['min_ess_bulk']:.0f} | {r['ess_per_s']:.1f} |")
    r = result["refit"]
    lines += ["", "## Refits: compile once, fit many (same process)", "",
              f"New {r['events']:,}-event datasets, unbinned, median of {r['repeats']}: bayesfit "
              f"MLE + HESSE + MINOS {r['bayesfit_mle_hesse_minos_s']:.3f} s, MAP + Laplace "
              f"{r['bayesfit_map_laplace_s']:.3f} s, whole `bf.fit` {r['bayesfit_fit_s']:.3f} s; iminuit + "
              f"numba_stats MLE + HESSE alone {r['iminuit_numba_stats_mle_hesse_s']:.3f} s.", ""]
    n = r["nuts_refit"]
    lines += [f"NUTS refit, binned, {n['events']:,} events: whole `bf.fit` {n['fit_s']:.2f} s (NUTS stage "
              f"{n['nuts_s']:.2f} s, compilation {n['nuts_compile_s']:.2f} s: {n['compiled']['nuts']}).", "",
              "Binned NUTS refits of new data (the structure was compiled earlier in the process; the NUTS "
              "table above gives the compilation of a new process):", "",
              "| binned NUTS | events | compile [s] | sampling [s] | min bulk ESS | ESS/s (compile included) |",
              "|---|---|---|---|---|---|"]
    for k, row in enumerate(r["nuts_large"]):
        lines.append(f"| refit {k + 1} ({row['compiled']}) | {row['events']:,} | "
                     f"{row['nuts_compile_s']:.2f} | {row['nuts_s']:.2f} | {row['min_ess_bulk']:.0f} | "
                     f"{row['ess_per_s']:.0f} |")
    c = result["cli"]
    cold = ("not measured (--quick)" if c["cold_s"] is None else
            f"{c['cold_s']:.1f} s for the whole command, fit stage {c['cold_fit_s']:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in c["cold_timing_s"].items() if k != "total") + ")")
    lines += ["", "## `python -m bayesfit dimuon --sample` end to end", "",
              f"Cold (empty PyTensor, numba and bayesfit caches): {cold}.", "",
              f"Warm (second run, new process): {c['warm_s']:.1f} s for the whole command, fit stage "
              f"{c['warm_fit_s']:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in c["warm_timing_s"].items()
                                                       if k != "total") + ")",
              "", f"Arguments: {' '.join(result['cli_args']) or 'default'}."]
    if "categories" in result:
        lines += _categories_markdown(result["categories"])
    if "toys" in result:
        lines += _toys_markdown(result["toys"])
    return "\n".join(lines) + "\n"


def _header(quick) -> dict:
    """Return what every benchmark file starts with: the mode, the date and the machine."""
    return {"quick": quick, "date": time.strftime("%Y-%m-%d"),
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                        "python": platform.python_version()}}


def _search_model(n_events):
    """A narrow Gaussian signal of fixed shape on an exponential, the yield the parameter of interest."""
    import bayesfit as bf

    return bf.WindowModel((3.6, 4.0), [bf.Gaussian(3.80, 0.01), bf.Exponential(bf.Parameter("slope", -1.0, -10, 10))],
                          yields=[bf.Parameter("n_sig", 10.0, 0.0, 400.0, unit="events", boundary="lower"),
                                  bf.Parameter("n_bkg", float(n_events), 0.5 * n_events, 1.5 * n_events)],
                          name="search")


def bench_limits(n_events=2_000, toys=1_000, grid=4, count_toys=1_000):
    """Upper limits: the time of each method on a window model, and asymptotics against toys by count size.

    Returns
    -------
    dict
        ``window``: asymptotic CLs and Bayesian limits (the latter timed after a first call that
        compiles), the toys' time per grid point; ``counts``: CLs limits of a counting experiment
        written as a window model, asymptotic and from toys, against the exact Poisson sums.
    """
    import bayesfit as bf

    model = _search_model(n_events)
    data = model.simulate([-2.0, 0.0, float(n_events)], None, rng=1)
    out = {"events": int(data.size), "toys": toys, "grid_points": grid + 1}
    asym, t_asym = _timed(lambda: bf.upper_limit(model, data, poi="n_sig", methods=("cls",), log=None))
    _, t_first = _timed(lambda: bf.upper_limit(model, data, poi="n_sig", methods=("bayes",), log=None))
    bayes, t_bayes = _timed(lambda: bf.upper_limit(model, data, poi="n_sig", methods=("bayes",), log=None, seed=1))
    toy, t_toys = _timed(lambda: bf.upper_limit(model, data, poi="n_sig", methods=("cls", "fc"), toys=toys, grid=grid,
                                                log=None, progress=False))
    out["window"] = {"cls_asymptotic": asym.limits["cls"], "cls_asymptotic_s": t_asym,
                     "bayes": bayes.limits["bayes"], "bayes_first_s": t_first, "bayes_s": t_bayes,
                     "cls_toys": toy.limits["cls"], "fc_toys": list(toy.intervals["fc"]), "toys_s": toy.timing_s["toys"],
                     "toys_per_point_s": toy.timing_s["toys"] / (grid + 1), "whole_toys_call_s": t_toys}
    counts = []
    for n, b in ((105, 100.0), (110, 100.0), (4, 3.0), (6, 3.0)):
        s = bf.Parameter("s", 1.0, 0.0, 100.0, unit="events", boundary="lower")
        counting = bf.WindowModel((0.0, 1.0), [bf.Uniform(), bf.Uniform()], yields=[s, b], name="count")
        x = np.linspace(0.0005, 0.9995, n)
        a = bf.upper_limit(counting, x, poi="s", methods=("cls",), log=None)
        t = bf.upper_limit(counting, x, poi="s", methods=("cls",), toys=count_toys, grid=8, log=None, progress=False)
        exact = bf.upper_limit(bf.Counting(n, b), methods=("cls",))
        counts.append({"n": n, "b": b, "asymptotic": a.limits["cls"], "toys": t.limits["cls"],
                       "exact": exact.limits["cls"]})
    out["counts"] = counts
    return out


def _limits_markdown(c):
    w = c["window"]
    lines = ["", "## Upper limits", "",
             f"A narrow Gaussian signal of fixed shape on an exponential background, {c['events']:,} events, the "
             "signal yield the parameter of interest (2 free nuisance parameters); the whole `bf.upper_limit` call "
             "of each method:", "",
             "| method | limit [events] | time [s] |", "|---|---|---|",
             f"| CLs, asymptotic (Asimov) | {w['cls_asymptotic']:.2f} | {w['cls_asymptotic_s']:.2f} |",
             f"| Bayesian, NUTS 4 × 1,000 (the process's first call, which compiles or loads the model: "
             f"{w['bayes_first_s']:.1f} s) "
             f"| {w['bayes']:.2f} | {w['bayes_s']:.2f} |",
             f"| CLs and Feldman–Cousins, {c['toys']:,} toys of each kind per point, {c['grid_points']} points, Dask "
             f"| CLs {w['cls_toys']:.2f}, FC [{w['fc_toys'][0]:.2f}, {w['fc_toys'][1]:.2f}] "
             f"| {w['toys_s']:.1f} ({w['toys_per_point_s']:.1f} per point) |", "",
             "Asymptotic against toys by the size of the counts: a counting experiment written as a window model "
             "(two flat components, the background known), the 95 % CLs limit three ways:", "",
             "| n | b | asymptotic | toys | exact (Poisson sums) | asymptotic − exact |", "|---|---|---|---|---|---|"]
    for r in c["counts"]:
        lines.append(f"| {r['n']} | {r['b']:g} | {r['asymptotic']:.2f} | {r['toys']:.2f} | {r['exact']:.2f} "
                     f"| {r['asymptotic'] - r['exact']:+.2f} ({100 * (r['asymptotic'] / r['exact'] - 1):+.0f} %) |")
    lines += ["", "With a hundred background events the asymptotic formulae and the toys agree within the toys' "
              "error; with three, the discreteness of the counts is outside the formulae and the asymptotic "
              "limit is off by the amount in the last column."]
    return lines


def _write_part(args, key, title, figures, markdown) -> int:
    """Write one part of the benchmark alone as ``{key}.md`` and ``{key}.json``, and print it."""
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {**_header(args.quick), key: figures}
    (args.out / f"{key}.json").write_text(json.dumps(doc, indent=2) + "\n")
    m = doc["machine"]
    text = "\n".join([f"# bayesfit {title} benchmark ({'quick' if args.quick else 'full'})", "",
                      f"Machine: {m['cpus']} CPUs, {m['processor']}, Python {m['python']}; {doc['date']}.",
                      *markdown(figures)]) + "\n"
    (args.out / f"{key}.md").write_text(text)
    print(text)
    return 0


def main(argv=None) -> int:
    """Run the benchmark and write ``bench.md`` and ``bench.json``.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        0 on success.
    """
    import warnings

    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and chains (for the test suite)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results", help="output folder")
    parser.add_argument("--no-plain", action="store_true", help="skip the slow plain-PyMC NUTS run")
    parser.add_argument("--toys-only", action="store_true",
                        help="run only the toy benchmark; write toys.md and toys.json")
    parser.add_argument("--limits-only", action="store_true",
                        help="run only the upper-limit benchmark; write limits.md and limits.json")
    parser.add_argument("--categories-only", action="store_true",
                        help="run only the simultaneous-fit refit benchmark; write categories.md and categories.json")
    args = parser.parse_args(argv)
    if args.limits_only:
        sizes = dict(toys=100, grid=2, count_toys=100) if args.quick else {}
        return _write_part(args, "limits", "upper-limit", bench_limits(**sizes), _limits_markdown)
    if args.categories_only:
        return _write_part(args, "categories", "simultaneous-fit", bench_categories(repeats=3 if args.quick else 10),
                           _categories_markdown)
    if args.toys_only:
        n = (40, 2_000, 40) if args.quick else (1_000, 2_000, 1_000, 4_000)
        return _write_part(args, "toys", "toy", bench_toys(*n), _toys_markdown)
    if args.quick:
        sizes, n_nuts, n_large, draws, tune = [2_000, 5_000], 2_000, 20_000, 100, 100
        cli_args = ["--events", "2000", "--draws", "100", "--tune", "100", "--chains", "2"]
    else:
        sizes, n_nuts, n_large, draws, tune = [10_000, 100_000, 1_000_000], 100_000, 10_000_000, 1000, 1000
        cli_args = []
    say = lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)
    result = _header(args.quick)
    say(f"MLE at {sizes} events ...")
    result["mle"] = bench_mle(sizes)
    say(f"NUTS at {n_nuts:,} and {n_large:,} events ...")
    result["nuts"] = bench_nuts(n_nuts, n_large, draws, tune, plain=not args.no_plain)
    say("refits of new data with the compiled functions ...")
    result["refit"] = bench_refit(2_000, n_nuts, n_large, draws, tune, repeats=3 if args.quick else 10)
    if args.quick:  # the cold run recompiles everything (minutes): full mode only
        say("end-to-end CLI, warm ...")
        result["cli"] = bench_cli(cli_args, None, cold=False)
    else:
        say("end-to-end CLI, cold and warm ...")
        with tempfile.TemporaryDirectory() as cold:
            result["cli"] = bench_cli(cli_args, cold)
    result["cli_args"] = cli_args
    if not args.quick:  # two more structures to compile: full mode (and --categories-only) only
        say("simultaneous fits: refits of two categories against one ...")
        result["categories"] = bench_categories()
    say("toy studies ...")
    result["toys"] = bench_toys(*((40, 2_000, 40) if args.quick else (1_000, 2_000, 1_000, 4_000)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    text = _markdown(result)
    (args.out / "bench.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
