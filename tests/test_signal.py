"""The signal test: the seed's number exactly, Chernoff's law against toys, SMC against quadrature."""

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayesfit.cli import main
from bayesfit.studies.discovery import SEARCH_SETUP, _Mixture, simulate_search_data, simple_vs_simple_test, signal_test


def test_seed_simple_test_is_reproduced_draw_for_draw():
    r = simple_vs_simple_test()
    assert r["t_obs"] == pytest.approx(96.15435313231501, abs=1e-9)  # the seed prints 96.15435313231501
    assert r["p_value"] == 0.0  # the seed prints "Monte Carlo p-value: 0.0"
    assert r["p_bound_95"] == pytest.approx(1 - 0.05 ** (1 / 400))
    assert r["t_null"].size == 400 and r["t_null"].max() < 0  # a fixed w = 0.15 fits no background toy


@pytest.fixture(scope="module")
def composite():
    return signal_test(toys=600, smc=True, smc_draws=1000, smc_chains=4)


def test_composite_fit_and_p_value(composite):
    r = composite
    assert r["w_hat"] == pytest.approx(0.15, abs=0.04)
    assert r["t_obs"] > 80 and r["p_toys"] == 0 and r["p_bound_95"] == pytest.approx(1 - 0.05 ** (1 / 600))
    assert r["z_asymptotic"] == pytest.approx(stats.norm.isf(0.5 * stats.chi2.sf(r["t_obs"], 1)))


def test_chernoff_half_chi2_describes_the_toys(composite):
    t = np.asarray(composite["t_null"])
    assert np.all(t >= 0)
    # half the toys have ŵ on the boundary (T = 0), the rest follow χ²₁
    assert np.mean(t < 1e-6) == pytest.approx(0.5, abs=4 * math.sqrt(0.25 / t.size))
    for c in composite["asymptotic_check"]:
        p = c["asymptotic"]
        assert abs(c["toys"] - p) < 4 * math.sqrt(p * (1 - p) / t.size) + 1e-3, c


def test_bayes_factor_smc_agrees_with_quadrature(composite):
    r = composite
    assert r["ln_b10_smc"] == pytest.approx(r["ln_b10_quad"], abs=5 * r["ln_b10_smc_error"] + 0.05)


def test_quadrature_evidence_against_a_plain_grid():
    x = simulate_search_data(np.random.default_rng(3), n=150)
    m = _Mixture(x, SEARCH_SETUP["L"], SEARCH_SETUP["rho"], SEARCH_SETUP["scale"])
    w = np.linspace(0, 1, 200_001)
    ll = np.array([m.loglike(v) for v in w[::10]])
    w = w[::10]
    peak = ll.max()
    grid = peak + math.log(integrate.trapezoid(np.exp(ll - peak), w))
    assert m.log_evidence_quad()[0] == pytest.approx(grid, abs=1e-4)


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="window"):
        signal_test(np.array([1.0, 250.0]), toys=5, smc=False)


def test_command_line_signal(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["signal", "--toys", "50", "--no-smc", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["simple_test"]["t_obs"] == pytest.approx(96.154, abs=1e-3)
    c = result["composite_test"]
    assert len(c["t_null"]) == 50 and c["p_bound_95"] is not None and "ln_b10_quad" in c
    assert (out / "null_distribution.png").exists() and (out / "null_distribution.pdf").exists()
    text = capsys.readouterr().out
    assert "T_obs = 96.154" in text and "Bayes factor" in text
    data = tmp_path / "m.txt"
    data.write_text("10\n20\n500\n")
    assert main(["signal", "--data", str(data), "--no-smc", "--out", str(out)]) == 2
    assert "window" in capsys.readouterr().err
