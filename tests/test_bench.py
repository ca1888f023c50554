"""The benchmark runs end to end in its reduced mode, so that it cannot rot."""

import json

from bayesfit.bench import main
from bayesfit.window import FIT_BINS


def test_quick_benchmark_writes_table_and_json(tmp_path):
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench.json").read_text())
    assert [r["events"] for r in result["mle"]] == [2000, 5000]
    for row in result["mle"]:
        assert all(row[k] > 0 for k in ("bayesfit_unbinned_s", "iminuit_numba_stats_s", "scipy_lbfgsb_fd_hessian_s"))
    models = {r["model"] for r in result["nuts"]}
    assert {"bayesfit unbinned", f"bayesfit binned ({FIT_BINS} bins)", "plain PyMC (Potential)"} <= models
    assert all(r["min_ess_bulk"] > 0 and r["ess_per_s"] > 0 for r in result["nuts"])
    assert result["cli"]["warm_s"] > 0
    assert result["cli"]["cold_s"] is None  # the cold run (a full recompile) is full-mode only
    text = (tmp_path / "bench.md").read_text()
    assert "| events |" in text and "end to end" in text and "not measured (--quick)" in text
