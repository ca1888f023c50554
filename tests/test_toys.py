"""Toy studies: pulls and coverage against their known values, seeds, failures, resume, Dask.

A Gaussian peak on a wide window is the reference: its MLE is (nearly) unbiased and its HESSE
errors right, so pulls must be N(0, 1) and every ±1σ interval must cover 68.27 % of the toys,
within the toys' own statistical errors.
"""

import json

import numpy as np
import pytest
from scipy import stats

import bayesfit as bf
from bayesfit.cli import main
from bayesfit.studies.checkpoint import FILENAME as CHECKPOINT
from bayesfit.core.binomial import clopper_pearson
from bayesfit.core.constants import ONE_SIGMA as NOMINAL
from bayesfit.studies.toys import toys
from tests.conftest import gaussian_peak as _gauss


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (683, 1000)])
def test_clopper_pearson_is_scipys_exact_interval(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=NOMINAL, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.fixture(scope="module")
def study():
    return toys(_gauss(), 200, 400, truth={"mu": 0.1}, seed=11, fits=("mle", "map"), workers=1, progress=False)


def test_pulls_are_unit_gaussians_and_intervals_cover(study):
    s = study.summary()
    assert s["toys"] == 200 and s["failed"] == 0
    for name in ("mu", "sigma"):
        p = s["parameters"][name]
        assert abs(p["pull_mean"]) < 4 * p["pull_mean_error"], (name, p)
        assert abs(p["pull_width"] - 1) < 4 * p["pull_width_error"], (name, p)
        for kind in ("hesse", "minos", "laplace"):
            c = p["coverage"][kind]
            assert c["n"] == 200
            assert abs(c["share"] - NOMINAL) < 4 * np.sqrt(NOMINAL * (1 - NOMINAL) / c["n"]), (name, kind, c)
        # MAP and MLE: two codes of one likelihood
        assert p["map_minus_mle_in_hesse"]["max_abs"] < 0.01  # MIGRAD places its minimum to ~0.005 σ


def test_truth_and_records(study):
    assert study.truth.tolist() == [0.1, 1.0]
    r = study.records[0]
    assert set(r) >= {"mle", "hesse", "minos", "map", "laplace", "flags", "ok"}
    # each toy's pull is what the summary used
    pulls = [(r["mle"][0] - 0.1) / r["hesse"][0] for r in study.records]
    assert study.summary()["parameters"]["mu"]["pull_mean"] == pytest.approx(np.mean(pulls))


def test_same_seed_same_toys_and_a_different_seed_differs():
    import numba

    threads = numba.get_num_threads()
    a = toys(_gauss(), 12, 200, seed=3, minos=False, workers=1, progress=False)
    assert numba.get_num_threads() == threads  # the user's process keeps its threads
    b = toys(_gauss(), 12, 200, seed=3, minos=False, workers=1, progress=False)
    c = toys(_gauss(), 12, 200, seed=4, minos=False, workers=1, progress=False)
    assert a.records == b.records
    assert a.records[0]["mle"] != c.records[0]["mle"]


def test_failing_toys_are_recorded_not_raised():
    s = toys(_gauss(), 5, 1, seed=1, workers=1, progress=False)  # one event cannot fit two parameters
    summary = s.summary()
    assert summary["failed"] == 5 and summary["toys"] == 5
    assert all("error" in r and r["flags"][0].startswith("failed: InputError") for r in s.records)
    assert "failed" in s.table()


def test_bad_truth_is_refused():
    with pytest.raises(ValueError, match="unknown parameter"):
        toys(_gauss(), 2, 100, truth={"nu": 1.0}, workers=1, progress=False)
    with pytest.raises(ValueError, match="outside its bounds"):
        toys(_gauss(), 2, 100, truth={"mu": 5.0}, workers=1, progress=False)


def test_an_interrupted_study_resumes_to_the_same_result(tmp_path):
    path = tmp_path / "toys.jsonl"
    whole = toys(_gauss(), 20, 200, seed=9, minos=False, workers=1, progress=False, checkpoint=path)
    lines = path.read_text().splitlines()
    assert len(lines) == 21  # the study's header, then one line per toy
    path.write_text("\n".join(lines[:8]) + "\n" + lines[8][:25])  # 7 toys, then a line cut short
    resumed = toys(_gauss(), 20, 200, seed=9, minos=False, workers=1, progress=False, checkpoint=path)
    assert resumed.timing_s["toys_fitted"] == 13
    assert resumed.records == whole.records
    with pytest.raises(ValueError, match="another study"):
        toys(_gauss(), 20, 200, seed=10, minos=False, workers=1, progress=False, checkpoint=path)


def test_dask_workers_give_the_same_toys():
    local = toys(_gauss(), 30, 200, seed=5, minos=False, workers=1, progress=False)
    spread = toys(_gauss(), 30, 200, seed=5, minos=False, workers=2, progress=False)
    assert spread.workers == 2
    assert spread.records == local.records


def test_command_line_toys(tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["toys", "dimuon", "--toys", "12", "--no-minos", "--workers", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    names = {p.name for p in out.iterdir()}
    assert {"toys.json", "toys.md", "pulls.png", "pulls.pdf", "coverage.png", "coverage.pdf", CHECKPOINT} <= names
    result = json.loads((out / "toys.json").read_text())
    assert result["n_events"] == 2000 and len(result["records"]) == 12
    assert result["truth"]["mu"] == pytest.approx(10.575)
    text = capsys.readouterr().out
    assert "pull mean" in text and "toys/s" in text
    # --resume with more toys fits only the new ones
    assert main([*argv[:3], "20", *argv[4:], "--resume"]) == 0
    assert "8 toys fitted" in capsys.readouterr().out
    assert main(["toys", "dimuon", "--truth", "mu", "--out", str(out)]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def _synthetic_study(error_scale, n=2000, seed=0):
    """A study of one parameter whose MLE scatters with σ = 1 and whose error says error_scale."""
    from bayesfit.studies.toys import ToyStudy

    rng = np.random.default_rng(seed)
    v = rng.normal(0.0, 1.0, n)
    records = [{"ok": True, "flags": [], "mle": [x], "hesse": [error_scale], "minos": [[-error_scale, error_scale]],
                "minos_valid": [True], "at_limit": []} for x in v]
    return ToyStudy("synthetic", ["x"], np.array([0.0]), 100, False, 0, ("mle",), records)


@pytest.mark.parametrize("scale, verdict", [(1.0, "trusted"), (0.5, "undercovers"), (2.0, "overcovers")])
def test_coverage_advice_verdicts(scale, verdict):
    from bayesfit.studies.coverage import coverage_advice

    advice = coverage_advice(_synthetic_study(scale))
    assert advice["parameters"]["x"]["hesse"]["verdict"] == verdict
    assert advice["parameters"]["x"]["minos"]["verdict"] == verdict
    assert any("too narrow" in w for w in advice["warnings"]) == (verdict == "undercovers")


def test_coverage_advice_needs_enough_toys():
    from bayesfit.studies.coverage import coverage_advice

    advice = coverage_advice(_synthetic_study(1.0, n=30))
    hesse = advice["parameters"]["x"]["hesse"]
    assert hesse["verdict"] == "undetermined" and hesse["versus_nominal"] == "consistent with 68.3 %"
    assert hesse["error"] == pytest.approx(np.sqrt(hesse["coverage"] * (1 - hesse["coverage"]) / 30))
    assert hesse["toys_to_decide"] > 30


@pytest.mark.parametrize("scale, n, versus", [(0.9, 500, "below"), (1.15, 500, "above")])
def test_coverage_says_what_the_toys_at_hand_show_and_how_many_would_decide(scale, n, versus):
    """An interval too narrow or wide by a little: measured beyond 68.3 % at 99 % CL, undetermined
    against the ±5 % band, and the toys it takes to decide (the 99 % Clopper–Pearson interval at
    that many toys just clears the band's nearer edge)."""
    from bayesfit.core.binomial import clopper_pearson
    from bayesfit.output.report import coverage_text
    from bayesfit.studies.coverage import COVERAGE_TOLERANCE, VERDICT_CL, coverage_advice

    advice = coverage_advice(_synthetic_study(scale, n=n, seed=4))
    c = advice["parameters"]["x"]["hesse"]
    assert c["verdict"] == "undetermined" and c["versus_nominal"] == f"{versus} 68.3 % at 99 % CL"
    need = c["toys_to_decide"]
    lo, hi = clopper_pearson(round(c["coverage"] * need), need, VERDICT_CL)
    edge = NOMINAL - COVERAGE_TOLERANCE if versus == "below" else NOMINAL + COVERAGE_TOLERANCE
    inside = NOMINAL - COVERAGE_TOLERANCE <= c["coverage"] <= NOMINAL + COVERAGE_TOLERANCE
    reach = (lo if inside == (versus == "below") else hi)  # the interval's end nearest that edge
    assert abs(reach - edge) < 0.15 * abs(c["coverage"] - edge)
    text = coverage_text(advice)
    assert f"{versus} 68.3 % at 99 % CL: x HESSE" in text and f"about {need:,} toys would tell" in text


def test_fit_with_check_coverage(tmp_path):
    data = _gauss().simulate([0.0, 1.0], 300, rng=np.random.default_rng(2))
    res = bf.fit(_gauss(), data, log=None, check_coverage=40, workers=1, seed=1)
    cov = res.coverage
    assert cov["toys"] == 40 and cov["n_events"] == 300
    assert set(cov["parameters"]["mu"]) >= {"hesse", "minos", "laplace", "pull_mean"}
    assert res.to_dict()["coverage"]["toys"] == 40
    assert "coverage at this sample size" in repr(res)
    assert "coverage at this sample size" in res._repr_html_()
    with pytest.raises(bf.InputError, match="simulates"):
        bf.fit(bf.models.weighted_mean(), {"x": [0.5, 0.2, 0.3], "sigma": [0.25, 0.1, 0.1]}, log=None,
               check_coverage=5)


def test_toys_with_nuts_measure_hdi_coverage():
    s = toys(_gauss(), 4, 300, seed=2, fits=("nuts",), minos=False, nuts={"draws": 200, "tune": 200},
             workers=1, progress=False)
    assert s.fits == ("mle", "map", "nuts")
    assert all(len(r["hdi_68"]) == 2 for r in s.records)
    c = s.summary()["parameters"]["mu"]["coverage"]
    assert set(c) == {"hesse", "laplace", "hdi_68"} and c["hdi_68"]["n"] == 4
    assert "cover hdi_68" in s.table()


def test_toys_and_signal_into_the_folder_of_another_run_leave_one_complete_set(tmp_path, capsys):
    """Each command's files replace the previous run's set as a whole (no result.json of a fit beside toys)."""
    from bayesfit.output.folder import MANIFEST

    out = tmp_path / "shared"
    assert main(["weighted-mean", "--out", str(out)]) == 0
    (out / "mine.txt").write_text("not bayesfit's")
    assert (out / "result.json").exists() and (out / "summary.md").exists()
    assert main(["toys", "dimuon", "--toys", "12", "--no-minos", "--workers", "1", "--no-progress",
                 "--out", str(out)]) == 0
    listed = json.loads((out / MANIFEST).read_text())["files"]
    present = {p.name for p in out.iterdir()} - {MANIFEST, "mine.txt"}
    assert present == set(listed) and {"toys.json", CHECKPOINT} <= present
    assert not (out / "result.json").exists() and not (out / "summary.md").exists()
    assert main(["signal", "--toys", "20", "--no-smc", "--out", str(out)]) == 0
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert {p.name for p in out.iterdir()} - {MANIFEST, "mine.txt"} == set(listed) == {
        "result.json", "null_distribution.png", "null_distribution.pdf"}
    assert (out / "mine.txt").read_text() == "not bayesfit's"
    capsys.readouterr()


def test_an_interrupt_inside_a_compiled_callback_stops_the_study(monkeypatch):
    """A Ctrl-C or SIGTERM that numba or iminuit turns into SystemError is not a failed toy."""
    import bayesfit.studies.toys as toy_module

    def interrupted(problem, *, minos=True):
        try:
            raise SystemExit(143)
        except SystemExit as err:
            raise SystemError("CPUDispatcher(<function kernel>) returned a result with an exception set") from err

    monkeypatch.setattr("bayesfit.engine.mle.fit_problem", interrupted)  # what each toy fits with
    with pytest.raises(SystemExit) as stop:
        toys(_gauss(), 3, 100, workers=1, progress=False)
    assert stop.value.code == 143
    # any other error is recorded as the toy's failure, as before
    monkeypatch.setattr("bayesfit.engine.mle.fit_problem", lambda problem, *, minos=True: 1 / 0)
    study = toy_module.toys(_gauss(), 3, 100, workers=1, progress=False)
    assert [r["error"] for r in study.records] == ["ZeroDivisionError: division by zero"] * 3
