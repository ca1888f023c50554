"""RelBW models: the ρ posterior (exact mode, flat prior, scipy fit) and the Z line shape."""

import json

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from bayesfit.cli import main
import bayesfit as bf
from bayesfit.models.relbw_model import log_prior, seed_data


@pytest.fixture(scope="module")
def data():
    return seed_data()


def exact_mode(x):
    """Posterior mode from scipy alone: rel_breitwigner.logpdf plus the LogNormal prior."""
    f = lambda r: -(stats.rel_breitwigner.logpdf(x, r).sum() + log_prior(r))
    return optimize.minimize_scalar(f, bounds=(0.5, 5), method="bounded", options={"xatol": 1e-10}).x


def test_seed_data_and_grid_posterior(data):
    from bayesfit.models.relbw_model import GRID, grid_posterior

    assert data.size == 400
    assert grid_posterior(data, fixed=GRID)["mode"] == pytest.approx(2.0230, abs=1e-4)  # the seed's grid value
    grid = bf.models.relbw().prepare(data)[0].meta["grid_posterior"]
    assert grid["mode"] == pytest.approx(2.0230, abs=0.01) and grid["at_bound"] is None


def _quadrature_moments(x, lo, hi):
    """Posterior mean and sd of ρ by adaptive quadrature on [lo, hi] (scipy.integrate.quad)."""
    from bayesfit.models.relbw_model import log_posterior

    peak = max(log_posterior(x, r)[0] for r in np.geomspace(lo, hi, 2000))
    f = lambda r, k: r**k * np.exp(log_posterior(x, r)[0] - peak)
    m = [integrate.quad(f, lo, hi, args=(k,), limit=500, points=None)[0] for k in range(3)]
    return m[1] / m[0], np.sqrt(m[2] / m[0] - (m[1] / m[0]) ** 2)


@pytest.mark.parametrize("rho", [0.15, 12.0])
def test_grid_follows_the_posterior_beyond_the_seed_grid(rho):
    """True ρ outside the seed's [0.2, 8]: the grid moves there and matches quadrature."""
    x = stats.rel_breitwigner.rvs(rho, size=400, random_state=np.random.default_rng(3))
    problem = bf.models.relbw().prepare(x)[0]
    grid = problem.meta["grid_posterior"]
    mean, sd = _quadrature_moments(x, *grid["grid"][:2])
    assert grid["mean"] == pytest.approx(mean, abs=0.01 * sd)
    assert grid["sd"] == pytest.approx(sd, rel=0.01)
    assert abs(grid["mean"] - rho) < 5 * sd
    assert grid["at_bound"] is None and problem.warnings == []


def test_posterior_at_the_bound_is_flagged():
    """True ρ = 0.02 lies below the bound 0.05: the posterior is cut there, and the fit says so."""
    x = stats.rel_breitwigner.rvs(0.02, size=400, random_state=np.random.default_rng(3))
    problem = bf.models.relbw().prepare(x)[0]
    assert problem.meta["grid_posterior"]["at_bound"] == 0.05
    assert len(problem.warnings) == 1 and "reaches its bound 0.05" in problem.warnings[0]


def test_map_is_exact_posterior_mode_not_mle(data, quick_nuts):
    fit = bf.fit(bf.models.relbw(), data, sample=True, log=None, **quick_nuts)
    c = fit.comparison["rho"]
    assert c["map"] == pytest.approx(exact_mode(data), abs=1e-4)
    # The prior pulls the mode below the MLE by a few per cent of an error: reported, not zero.
    assert c["map"] < c["mle"] and 0.01 < abs(c["map_minus_mle_in_hesse"]) < 0.2
    post = c["posterior"]
    grid = fit.problem.meta["grid_posterior"]
    assert post["mean"] == pytest.approx(grid["mean"], abs=4 * grid["sd"] / np.sqrt(post["ess_bulk"]))
    assert post["sd"] == pytest.approx(grid["sd"], rel=0.15)
    assert c["laplace_sd"] == pytest.approx(grid["sd"], rel=0.05)


def test_flat_prior_map_equals_mle(data):
    fit = bf.fit(bf.models.relbw(flat_prior=True), data, log=None)
    c = fit.comparison["rho"]
    assert abs(c["map_minus_mle_in_hesse"]) < 0.01
    assert c["laplace_over_hesse"] == pytest.approx(1.0, abs=0.01)


def test_mle_agrees_with_scipy_fit():
    x = stats.rel_breitwigner.rvs(2.5, size=5000, random_state=np.random.default_rng(7))
    rho_s, _, scale_s = stats.rel_breitwigner.fit(x, floc=0)
    fit = bf.fit(bf.models.relbw(flat_prior=True, fit_scale=True), x, log=None)
    (rho, scale), (e_rho, e_scale) = fit.mle.values, fit.mle.errors
    assert abs(rho - rho_s) < 0.05 * e_rho and abs(scale - scale_s) < 0.05 * e_scale
    assert abs(rho - 2.5) < 4 * e_rho


def test_relbw_bad_input(tmp_path, capsys):
    path = tmp_path / "x.txt"
    path.write_text("1.2\n-0.5\n2.0\n")
    out = tmp_path / "o"
    assert main(["relbw", "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "only 2 events in the window [0, inf]" in err and str(path) in err and "Traceback" not in err
    assert not out.exists()


def test_zpeak_bad_input(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["zpeak", "--range", "120", "60", "--out", str(out)]) == 2
    assert "need finite lo < hi (got 120, 60)" in capsys.readouterr().err
    path = tmp_path / "z.txt"
    path.write_text("\n".join(["91.0"] * 20))
    assert main(["zpeak", "--data", str(path), "--out", str(out)]) == 2
    assert "only 20 events" in capsys.readouterr().err
    assert not out.exists()


def test_z_fit_converges_near_pdg(tmp_path):
    out = tmp_path / "z"
    assert main(["zpeak", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["diagnostics"]["migrad_valid"]
    m0 = result["parameters"]["M0"]
    assert abs(m0["mle"] - 91.1876) < 0.5
    for name, p in result["parameters"].items():
        assert abs(p["map"] - p["mle"]) < 0.01 * p["hesse"], name
        assert p["laplace_sd"] == pytest.approx(p["hesse"], rel=0.02), name
    assert (out / "zpeak_fit.png").exists()
