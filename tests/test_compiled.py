"""Compile once, fit many: new data reuse the compiled functions and still give the right answer."""

import numpy as np
import pytest

import bayesfit as bf
from bayesfit.backend import compiled
from bayesfit.models import dimuon_model
from bayesfit.models.weighted_mean_model import closed_form


def _check_map_equals_mle(res, tol=0.01):
    for name, c in res.comparison.items():
        assert abs(c["map_minus_mle_in_hesse"]) < tol, name
        assert c["laplace_over_hesse"] == pytest.approx(1.0, abs=0.02), name


def test_refit_of_new_data_of_another_length_reuses_the_compiled_map():
    model = dimuon_model.dimuon()
    first = bf.fit(model, model.simulate(dimuon_model.TRUTH, 3000, 1), binned=False, log=None)
    # A second problem of the same structure, new events of another length: nothing compiles,
    # and MAP = MLE still holds, which it could not if the old events were still in the graph.
    again = bf.fit(model, model.simulate(dimuon_model.TRUTH, 2200, 2), binned=False, log=None)
    assert again.compiled["map_laplace"] == compiled.REUSED
    assert again.timing_s["map_laplace_compile"] < 0.5
    assert again.problem.n_data == 2200
    _check_map_equals_mle(first)
    _check_map_equals_mle(again)
    assert abs(again["mu"].mle - first["mu"].mle) > 1e-6  # a different dataset, a different answer


def test_map_from_the_mle_takes_newton_steps_to_the_same_mode():
    """The engine starts the MAP at the MLE: a few evaluations, and the mode and Hessian L-BFGS-B
    finds from the model's start values."""
    from bayesfit.engine.bayes import POLISH_DISTANCE, find_map_laplace
    from bayesfit.engine.mle import fit_problem

    model = dimuon_model.dimuon()
    problem, _ = model.prepare(model.simulate(dimuon_model.TRUTH, 3000, 1), binned=False)
    fn, _ = compiled.map_function(problem.pymc_model(), problem.names)
    calls = []
    counted = lambda x, v: calls.append(bool(np.any(v))) or fn(x, v)  # noqa: E731
    mle = fit_problem(problem, minos=False)
    assert mle.valid and not mle.at_limit
    far = find_map_laplace(names=problem.names, start=problem.start, bounds=problem.bounds, function=counted)
    far_values = calls.count(False)  # evaluations of log p and gradient (no Hessian product)
    del calls[:]
    warm = find_map_laplace(names=problem.names, start=mle.values, bounds=problem.bounds, function=counted)
    assert far.converged and warm.converged
    assert warm.message.startswith("trust-exact") and far.message.startswith("L-BFGS-B")
    assert f"within {POLISH_DISTANCE:g}" in warm.message
    assert calls.count(False) <= 8 < far_values
    sd = np.sqrt(np.diag(warm.covariance))
    np.testing.assert_array_less(np.abs(warm.values - far.values) / sd, 1e-4)
    np.testing.assert_allclose(warm.hessian, far.hessian, rtol=1e-4)


def test_nuts_reuses_nutpie_model_with_new_data():
    pytest.importorskip("nutpie")
    model = bf.models.weighted_mean()
    kw = dict(sample=True, draws=400, tune=400, chains=2, seed=3, progressbar=False, log=None)
    x1, s1 = np.array([0.5, 0.2, 0.3]), np.array([0.25, 0.1, 0.1])
    x2, s2 = np.array([1.5, 1.1, 1.3, 1.2, 0.9]), np.array([0.2, 0.2, 0.1, 0.3, 0.1])
    bf.fit(model, {"x": x1, "sigma": s1}, **kw)
    res = bf.fit(model, {"x": x2, "sigma": s2}, **kw)
    assert res.compiled == {"map_laplace": compiled.REUSED, "nuts": compiled.REUSED}
    mean, err, _ = closed_form(x2, s2)
    post = res["mean"].posterior
    assert abs(post.mean - mean) < 0.15 * err  # the new data reached the sampler
    assert post.sd == pytest.approx(err, rel=0.15)
    assert res["mean"].map == pytest.approx(mean, abs=1e-4 * err)


def test_digest_follows_the_structure_not_the_data():
    model = dimuon_model.dimuon()
    p1, _ = model.prepare(model.simulate(dimuon_model.TRUTH, 500, 1), binned=50)
    p2, _ = model.prepare(model.simulate(dimuon_model.TRUTH, 900, 2), binned=50)
    p3, _ = model.prepare(model.simulate(dimuon_model.TRUTH, 900, 2), binned=60)
    digest = lambda p: compiled.graph_digest([p._build_pymc_model().logp()])
    assert digest(p1) == digest(p2)
    assert digest(p1) != digest(p3)
    # Bounds are data too (a guess may derive them from each dataset) ...
    wider = model.with_params({"mu": model.params[0].replace(upper=10.7)})
    p4, _ = wider.prepare(model.simulate(dimuon_model.TRUTH, 500, 1), binned=50)
    assert digest(p4) == digest(p1)
    # ... but the window is structure.
    other = dimuon_model.dimuon(window=(10.3, 10.8))
    p5, _ = other.prepare(model.simulate(dimuon_model.TRUTH, 900, 2), binned=50)
    assert digest(p5) != digest(p1)


def test_padded_events_change_no_value_and_refits_reuse_the_compiled_code():
    """Events padded to a fixed length with weight 0: log p, gradient and HVP as without padding,
    against the same graph in PyTensor's Python linker; a refit whose count falls in the same
    padded length compiles nothing (XLA's code is per length)."""
    import jax

    from bayesfit.backend.graphs import padded_events, padded_length
    from tests.conftest import graph_mode

    assert [padded_length(n) for n in (0, 1, 64, 65, 70, 1000)] == [64, 64, 64, 70, 70, 1021]
    lengths = [padded_length(n) for n in range(1, 20_000)]
    assert all(b >= a for a, b in zip(lengths, lengths[1:]))
    assert max(padded_length(n) / n for n in range(65, 20_000)) < 2 ** 0.125 + 1e-3

    model = dimuon_model.dimuon()
    problem, _ = model.prepare(model.simulate(dimuon_model.TRUTH, 1000, 5), binned=False)
    pm_model = problem.pymc_model()
    compiled.clear_memory()
    fn, how = compiled.map_function(pm_model, problem.names)
    assert how == compiled.COMPILED
    data = compiled.model_data(pm_model)
    assert len(padded_events(data)["events"]) == 1021 > len(data["events"]) == 1000

    import pytensor
    import pytensor.tensor as pt

    flat, logp = compiled._map_logp(pm_model, problem.names)
    grad = pt.grad(logp, flat)
    v = pt.dvector("v")
    reference = pytensor.function([flat, v], [logp, grad, pt.grad(pt.dot(grad, v), flat)], mode=graph_mode())
    x = np.asarray(problem.start, dtype=float) * 1.001
    for direction in np.eye(len(x))[:3]:
        for got, want in zip(fn(x, direction), reference(x, direction)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)

    compiles = []
    with jax.log_compiles(True):
        import logging

        class Count(logging.Handler):
            def emit(self, record):
                compiles.append(record.getMessage())

        handler = Count()
        logging.getLogger("jax").addHandler(handler)
        try:
            again, _ = model.prepare(model.simulate(dimuon_model.TRUTH, 1010, 6), binned=False)
            fn2, how2 = compiled.map_function(again.pymc_model(), again.names)
            fn2(x, np.zeros(len(x)))
        finally:
            logging.getLogger("jax").removeHandler(handler)
    assert how2 == compiled.REUSED and fn2 is fn
    assert not [m for m in compiles if "Compiling" in m]  # 1,010 events: padded to 1,021 as well


def test_xla_code_is_kept_on_disk(tmp_path):
    """A new process finds the MAP function's rewritten graph and XLA code in bayesfit's cache folder;
    a damaged graph file is rewritten again, never fatal."""
    import subprocess
    import sys

    script = """
import numpy as np, bayesfit as bf
from bayesfit.backend import compiled
problem, _ = bf.models.line_fit().prepare({"v": [0.0, 1.0, 2.0, 3.0], "x": [0.1, 1.1, 1.9, 3.2], "sigma": [0.1] * 4})
fn, how = compiled.map_function(problem.pymc_model(), problem.names)
print(how, repr(fn(problem.start + 0.1, np.ones(len(problem.names)))[0].item()))
"""
    env = {**__import__("os").environ, "BAYESFIT_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert list(tmp_path.rglob("xla/*")), "no XLA code stored"
    assert list(tmp_path.rglob("map-*-graph.pkl")), "no rewritten graph stored"
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert first.stdout == second.stdout  # the same value from the stored code
    assert first.stdout.startswith(compiled.COMPILED)
    for f in tmp_path.rglob("map-*-graph.pkl"):
        f.write_bytes(b"not a pickle")
    third = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert third.stdout == first.stdout


def test_the_jax_erfcx_matches_scipy():
    """PyTensor's Erfcx has no JAX translation of its own: bayesfit's, against scipy's erfcx."""
    import jax
    import pytensor.tensor as pt
    from scipy import special

    from bayesfit.backend.jax_functions import rewritten_graph, translate

    x = pt.dvector("x")
    f = translate(rewritten_graph([pt.erfcx(x)], [x])[0])
    grid = np.concatenate([np.linspace(-20, 26, 2001), np.logspace(1.4, 3, 50)])
    np.testing.assert_allclose(np.asarray(f(grid)[0]), special.erfcx(grid), rtol=3e-8)
    near = grid[grid < 25]
    np.testing.assert_allclose(np.asarray(f(near)[0]), special.erfcx(near), rtol=5e-15)
    slope = jax.vmap(jax.grad(lambda t: f(t[None])[0][0]))(near[near < 10])
    np.testing.assert_allclose(np.asarray(slope), 2 * near[near < 10] * special.erfcx(near[near < 10]) - 2 / np.sqrt(np.pi),
                               rtol=1e-11, atol=1e-14)


def test_numba_cache_fill_runs_beside_and_can_be_stopped(tmp_path, monkeypatch):
    """The child that fills PyTensor's numba cache: stopped cleanly, or marks its structure done."""
    pytest.importorskip("nutpie")
    import pytensor.link.numba.cache as numba_cache

    monkeypatch.setattr(numba_cache, "NUMBA_CACHE_PATH", tmp_path)  # where the markers go
    problem, _ = bf.models.weighted_mean().prepare({"x": [0.5, 0.2, 0.3], "sigma": [0.25, 0.1, 0.1]})
    model = problem.pymc_model()
    fill = compiled.start_numba_cache_fill(model)
    assert fill is not None and fill.payload.exists()
    fill.cancel()  # a fit that failed before NUTS stops its child
    assert fill.process.poll() is not None and not fill.payload.exists()
    assert not fill.marker.exists()
    fill = compiled.start_numba_cache_fill(model)
    fill.wait()
    assert fill.process.returncode == 0 and fill.marker.exists() and not fill.payload.exists()
    assert compiled.start_numba_cache_fill(model) is None  # marked: nothing to fill
    # other rewrites give other numba code: the marker of this set does not stand for them
    monkeypatch.setattr(compiled, "SKIPPED_REWRITES", ())
    compiled.clear_memory()  # the structure keys remembered per model
    other = compiled.start_numba_cache_fill(model)
    assert other is not None and other.marker != fill.marker
    other.cancel()


def test_numba_cache_fill_compiles_at_the_samplers_optimisation_level(tmp_path, monkeypatch):
    """The child compiles with numba's NUMBA_OPT = SAMPLER_NUMBA_OPT, or the user's; the level names the marker."""
    import subprocess
    from types import SimpleNamespace

    import pytensor.link.numba.cache as numba_cache

    from bayesfit.backend import nutpie_callbacks

    monkeypatch.setattr(numba_cache, "NUMBA_CACHE_PATH", tmp_path)
    environments = []
    monkeypatch.setattr(subprocess, "Popen",
                        lambda cmd, **kwargs: environments.append(kwargs["env"]) or SimpleNamespace(poll=lambda: 0))
    problem, _ = bf.models.weighted_mean().prepare({"x": [0.5, 0.2, 0.3], "sigma": [0.25, 0.1, 0.1]})
    model = problem.pymc_model()
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    ours = compiled.start_numba_cache_fill(model)
    monkeypatch.setenv("NUMBA_OPT", "2")
    users = compiled.start_numba_cache_fill(model)
    for fill in (ours, users):
        fill.cancel()  # the fake child has "ended": only the payload is removed
    assert [env["NUMBA_OPT"] for env in environments] == [nutpie_callbacks.SAMPLER_NUMBA_OPT, "2"]
    assert nutpie_callbacks.SAMPLER_NUMBA_OPT == "1" and ours.marker != users.marker
    assert nutpie_callbacks.sampler_numba_opt() == "2"


def test_numba_cache_fill_child_compiles_a_structure_once(tmp_path, monkeypatch):
    """A second child for a structure another one has filled meanwhile compiles nothing."""
    import sys

    import cloudpickle

    from bayesfit.backend import nutpie_callbacks

    calls = []
    monkeypatch.setattr(nutpie_callbacks, "compile_model", lambda model, cache_file=None: calls.append(cache_file))
    problem, _ = bf.models.weighted_mean().prepare({"x": [0.5, 0.2], "sigma": [0.25, 0.1]})
    payload, marker = tmp_path / "model.pkl", tmp_path / "bayesfit-cb-test"
    payload.write_bytes(cloudpickle.dumps(problem.pymc_model()))
    monkeypatch.setattr(sys, "argv", ["-c", str(payload), str(marker)])
    compiled._compile_child()
    assert len(calls) == 1 and marker.exists()  # compiled, and marked by the child itself
    compiled._compile_child()
    assert len(calls) == 1  # marked meanwhile: waits for the lock, then nothing to do


def test_skipped_rewrites_are_pytensor_rewrites_and_are_skipped():
    import pytensor
    import pytensor.tensor as pt
    from pytensor.compile.mode import Mode

    # ((a/x + b/y)·x·y → a·y + b·x is local_greedy_distributor's own example; PyTensor's Python
    # linker: no C compiler needed to see the rewritten graph
    a, b, x, y = pt.dscalars("a", "b", "x", "y")
    out = (a / x + b / y) * x * y
    plain = Mode(linker="py", optimizer="fast_run")
    ops = [str(pytensor.function([a, b, x, y], out, mode=mode).maker.fgraph.toposort())
           for mode in (plain, plain.excluding(*compiled.SKIPPED_REWRITES))]
    assert "/" not in ops[0], ops[0]  # distributed: the divisions are gone
    assert ops[1].count("/") == 2, ops[1]  # left as written (fused into one loop)


def test_a_seed_gives_the_same_draws_in_a_cold_and_a_warm_process(tmp_path):
    """The first process of a structure (rewriting the graph, XLA compiling) and the next one (both
    from the disk cache) start NUTS at the same MAP and draw the same samples."""
    import subprocess
    import sys

    import arviz as az

    env = {**__import__("os").environ, "BAYESFIT_CACHE_DIR": str(tmp_path / "cache")}
    draws = []
    for run in ("cold", "warm"):
        out = tmp_path / run
        subprocess.run([sys.executable, "-m", "bayesfit", "weighted-mean", "--sample", "--draws", "200", "--tune",
                        "200", "--chains", "2", "--seed", "5", "--no-progress", "--out", str(out)],
                       env=env, check=True, capture_output=True)
        draws.append(az.from_netcdf(out / "posterior.nc").posterior["mean"].values)
    assert list((tmp_path / "cache").rglob("map-*-graph.pkl"))  # the warm run had the cache to use
    np.testing.assert_array_equal(draws[0], draws[1])
