"""Di-muon Crystal Ball + exponential fit: three fits agree; data input and bad input."""

import json

import numpy as np
import pytest
from scipy import integrate, stats

import bayesfit as bf
from bayesfit.cli import main
from bayesfit.core.io import InputError, read_masses
from bayesfit.models.dimuon_model import NAMES, START, WINDOW, simulate

TRUTH = np.array([START[k] for k in NAMES])


def Dimuon(data, fit_bins=None):
    """Return the di-muon model bound to ``data`` (unbinned unless ``fit_bins``)."""
    return bf.models.dimuon().bind(data, fit_bins=fit_bins)


@pytest.fixture(scope="module")
def sample20k():
    return simulate(20_000, TRUTH, rng=np.random.default_rng(42))


@pytest.fixture(scope="module")
def fit20k(sample20k):
    return bf.fit(bf.models.dimuon(), sample20k, log=None)


def test_simulation_follows_the_model(sample20k):
    problem = Dimuon(sample20k)
    assert problem.n_data == 20_000
    grid = np.linspace(*WINDOW, 2001)
    cdf = np.concatenate([[0], integrate.cumulative_trapezoid(problem.model.pdf(TRUTH, grid)[0], grid)])
    assert cdf[-1] == pytest.approx(1.0, abs=1e-5)
    assert stats.kstest(sample20k, lambda x: np.interp(x, grid, cdf)).pvalue > 0.01


def test_expected_counts_are_cdf_differences(sample20k):
    problem = Dimuon(sample20k)
    expected = problem.expected(TRUTH)
    assert expected.sum() == pytest.approx(20_000, rel=1e-10)
    e = problem.edges
    by_quad = [20_000 * integrate.quad(lambda x: problem.model.pdf(TRUTH, x)[0], a, b)[0] for a, b in zip(e[:-1], e[1:])]
    np.testing.assert_allclose(expected, by_quad, rtol=1e-7)


def test_fused_unbinned_nll_matches_scipy(sample20k):
    """The one-pass numba likelihood iminuit minimises equals the sum of scipy log densities."""
    problem = Dimuon(sample20k)
    lo, hi = WINDOW
    rng = np.random.default_rng(3)
    points = [TRUTH] + [[rng.uniform(*b) for b in problem.bounds] for _ in range(6)]
    for mu, sigma, alpha, n, slope, f in points:
        cb = stats.crystalball(alpha, n, loc=mu, scale=sigma)
        sig = cb.pdf(sample20k) / (cb.cdf(hi) - cb.cdf(lo))
        bkg = slope * np.exp(slope * (sample20k - lo)) / np.expm1(slope * (hi - lo))
        reference = -np.sum(np.log(f * sig + (1 - f) * bkg))
        assert problem.nll([mu, sigma, alpha, n, slope, f]) == pytest.approx(reference, rel=1e-11)


def test_map_equals_mle_and_laplace_equals_hesse(fit20k):
    assert fit20k.mle.valid and fit20k.map.converged and fit20k.map.posdef
    for name, c in fit20k.comparison.items():
        assert abs(c["map_minus_mle_in_hesse"]) < 0.01, name
        assert c["laplace_over_hesse"] == pytest.approx(1.0, abs=0.02), name


def test_mle_recovers_truth_and_gof(fit20k):
    pulls = (fit20k.mle.values - TRUTH) / fit20k.mle.errors
    assert np.all(np.abs(pulls) < 4)
    g = fit20k.gof
    assert 80 <= g["ndf"] <= 94 and g["p_value"] > 1e-4


def test_short_nuts_recovers_truth(sample20k, quick_nuts):
    fit = bf.fit(bf.models.dimuon(), sample20k[:5_000], sample=True, log=None, **quick_nuts)
    for name, t in zip(NAMES, TRUTH):
        post = fit.comparison[name]["posterior"]
        assert abs(post["mean"] - t) < 3 * post["sd"], name
        assert post["r_hat"] < 1.05, name
    assert fit.diagnostics["divergences"] is not None


def test_upsilon_example_converges(tmp_path):
    out = tmp_path / "ups"
    assert main(["dimuon", "--example", "upsilon", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["diagnostics"]["migrad_valid"]
    assert result["n_data"] > 19_000
    mu = result["parameters"]["mu"]["mle"]
    assert 9.43 < mu < 9.48  # PDG Υ(1S): 9.4603 GeV
    assert result["meta"]["window"] == [9.0, 9.7]


@pytest.fixture
def masses(tmp_path):
    values = simulate(3000, TRUTH, rng=7)
    return tmp_path, values


def test_reads_txt_csv_npy_root(masses):
    tmp_path, values = masses
    (tmp_path / "m.txt").write_text("# masses\n" + "\n".join(repr(float(v)) for v in values) + "\nnan\n")
    (tmp_path / "m.csv").write_text("run,mass\n" + "\n".join(f"1,{float(v)!r}" for v in values) + "\n")
    np.save(tmp_path / "m.npy", values)
    import uproot

    with uproot.recreate(tmp_path / "m.root") as f:
        f.mktree("events", {"InvM": np.float64})
        f["events"].extend({"InvM": values})
        f["rntuple"] = {"mass": values}  # uproot's default writer makes an RNTuple
    for name, kwargs, dropped in (("m.txt", {}, 1), ("m.csv", {"column": "mass"}, 0), ("m.npy", {}, 0),
                                  ("m.root", {"tree": "events", "branch": "InvM"}, 0),
                                  ("m.root", {"tree": "rntuple", "branch": "mass"}, 0)):
        got, n_dropped = read_masses(tmp_path / name, **kwargs)
        np.testing.assert_array_equal(got, values)
        assert n_dropped == dropped
    with pytest.raises(InputError, match="choose a tree with --tree"):
        read_masses(tmp_path / "m.root", branch="InvM")
    with pytest.raises(InputError, match="has no branch 'M'"):
        read_masses(tmp_path / "m.root", tree="events")
    out = tmp_path / "out"
    assert main(["dimuon", "--data", str(tmp_path / "m.root"), "--tree", "events", "--branch", "InvM",
                 "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["n_data"] == 3000 and result["diagnostics"]["migrad_valid"]


def _run_bad(tmp_path, capsys, args):
    out = tmp_path / "out"
    code = main(["dimuon", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    return err


def test_bad_inputs(tmp_path, capsys):
    err = _run_bad(tmp_path, capsys, ["--data", str(tmp_path / "missing.txt")])
    assert "no such file" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("10.5\n10.6\nten\n")
    assert "line 3: 'ten' is not a number" in _run_bad(tmp_path, capsys, ["--data", str(bad)])
    few = tmp_path / "few.txt"
    few.write_text("\n".join(["10.5"] * 50))
    assert "only 50 events in the window" in _run_bad(tmp_path, capsys, ["--data", str(few)])
    assert "no events in the window [1, 2]" in _run_bad(tmp_path, capsys, ["--data", str(few), "--range", "1", "2"])
    assert "need finite lo < hi" in _run_bad(tmp_path, capsys, ["--range", "10.8", "10.2"])
    csv = tmp_path / "m.csv"
    csv.write_text("M\n10.5\n")
    assert "no column 'mass'" in _run_bad(tmp_path, capsys, ["--data", str(csv), "--column", "mass"])
    other = tmp_path / "m.json"
    other.write_text("[10.5]")
    assert "unknown file type '.json'" in _run_bad(tmp_path, capsys, ["--data", str(other)])
    assert "either --data or --example" in _run_bad(tmp_path, capsys, ["--data", str(csv), "--example", "upsilon"])


def test_nan_dropped_and_reported(tmp_path, capsys):
    values = simulate(500, TRUTH, rng=3)
    path = tmp_path / "m.txt"
    path.write_text("\n".join(f"{v}" for v in values) + "\nnan\ninf\n")
    out = tmp_path / "o"
    assert main(["dimuon", "--data", str(path), "--out", str(out)]) == 0
    assert "dropped 2 NaN/inf value(s)" in capsys.readouterr().err


def test_bad_npy_files(tmp_path, capsys):
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    assert "not a readable .npy file" in _run_bad(tmp_path, capsys, ["--data", str(empty)])
    archive = tmp_path / "archive.npy"
    with open(archive, "wb") as fh:
        np.savez(fh, a=np.ones(3))
    assert "an .npz archive" in _run_bad(tmp_path, capsys, ["--data", str(archive)])
    cplx = tmp_path / "complex.npy"
    np.save(cplx, np.ones(300, dtype=complex))
    assert "complex numbers" in _run_bad(tmp_path, capsys, ["--data", str(cplx)])
