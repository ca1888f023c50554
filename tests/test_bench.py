"""The benchmark runs end to end in its reduced mode, so that it cannot rot."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytensor
import pytest

import bayesfit as bf
from bayesfit.models.dimuon_model import simulate
from bayesfit.modeling.window import FIT_BINS
from tests.conftest import graph_mode

# The benchmark is a script beside the package (benchmarks/bench.py), not part of bayesfit.
_spec = importlib.util.spec_from_file_location("bench", Path(__file__).parents[1] / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
TRUTH, _plain_pymc_model, main = bench.TRUTH, bench._plain_pymc_model, bench.main


def test_quick_benchmark_writes_table_and_json(tmp_path):
    # --no-plain: the plain PyMC model compiles a structure of its own (30 s of CPU cold) for a
    # row of timings; its likelihood is checked below, and the full benchmark samples it.
    assert main(["--quick", "--no-plain", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench.json").read_text())
    assert [r["events"] for r in result["mle"]] == [2000, 5000]
    for row in result["mle"]:
        assert all(row[k] > 0 for k in ("bayesfit_unbinned_s", "iminuit_numba_stats_s", "scipy_lbfgsb_fd_hessian_s"))
    models = {r["model"] for r in result["nuts"]}
    assert models == {"bayesfit unbinned", f"bayesfit binned ({FIT_BINS} bins)"}
    assert all(r["min_ess_bulk"] > 0 and r["ess_per_s"] > 0 for r in result["nuts"])
    assert result["cli"]["warm_s"] > 0
    assert result["cli"]["cold_s"] is None  # the cold run (a full recompile) is full-mode only
    text = (tmp_path / "bench.md").read_text()
    assert "| events |" in text and "end to end" in text and "not measured (--quick)" in text


def test_the_plain_pymc_peer_has_our_likelihood():
    """The benchmark's plain PyMC model (its Potential) is the di-muon log-likelihood, −NLL."""
    data = simulate(2_000, TRUTH, rng=2)
    plain = _plain_pymc_model(data)
    loglike = pytensor.function(plain.free_RVs, plain.potentials[0], mode=graph_mode())
    problem = bf.models.dimuon().bind(data)
    assert [rv.name for rv in plain.free_RVs] == problem.names
    rng = np.random.default_rng(1)
    for _ in range(4):
        values = [rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)) for lo, hi in problem.bounds]
        assert float(loglike(*values)) == pytest.approx(-problem.nll(values), rel=1e-10)


_spec_s = importlib.util.spec_from_file_location("structures", Path(__file__).parents[1] / "benchmarks" / "structures.py")
structures = importlib.util.module_from_spec(_spec_s)
_spec_s.loader.exec_module(structures)


@pytest.mark.parametrize("name", sorted(structures.USER_MODELS))
def test_the_structure_benchmarks_peer_fits_the_same_model(name):
    """iminuit + numba_stats in the new-structure benchmark: the peer's density is bayesfit's model,
    normalised on the window, at the start values (the timings compare the same fits)."""
    from scipy import integrate

    model, _, _ = structures.USER_MODELS[name]()
    pdf, names, starts, _ = structures._peer_pdf(name)
    assert sorted(names) == sorted(p.name for p in model.params)
    lo, hi = float(model.lo), float(model.hi)
    total, _ = integrate.quad(lambda x: pdf(np.array([x]), *starts)[0], lo, hi, limit=200, points=[starts[0]])
    assert total == pytest.approx(1.0, abs=1e-6)
    x = np.linspace(lo, hi, 101)[1:-1]
    start = dict(zip(names, starts))
    problem, _ = model.prepare(model.simulate([start[p.name] for p in model.params], 500, 3), binned=False)
    values = np.array([start[p.name] for p in problem.params])
    ours = -problem.nll(values)
    theirs = np.sum(np.log(pdf(problem.data, *starts)))
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert np.all(np.isfinite(pdf(x, *starts)))
