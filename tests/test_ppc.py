"""The posterior-predictive χ² check against closed forms and against the frequentist χ².

- least squares: at fixed parameters the replicated χ² is χ²(N) exactly (mean N, variance 2N),
  the observed one equals the fit's χ² there;
- window models: the observed χ² at a draw equals the goodness of fit's χ² at those values;
  the replicated χ² of a multinomial histogram has mean ≈ bins − 1 and of a Poisson one ≈ bins;
- the Bayesian p-value: near ½ for data drawn from the model, near 0 for data that are not.
"""

import arviz as az
import numpy as np
import pytest
from scipy import stats

import bayesfit as bf
from bayesfit.engine.fits import posterior_predictive


def _line_problem(y, sigma):
    a = bf.Parameter("a", 1.0, -10.0, 10.0)
    b = bf.Parameter("b", 0.0, -10.0, 10.0)
    model = bf.LeastSquares(lambda x, a, b: a * x + b, [a, b])
    x = np.linspace(0.0, 1.0, y.size)
    problem, _ = model.prepare({"x": x, "y": y, "sigma": sigma})
    return problem


def _idata(names, draws):
    return az.from_dict(posterior={n: draws[None, :, k] for k, n in enumerate(names)})


def test_least_squares_replicas_follow_chi2_of_n():
    rng = np.random.default_rng(5)
    n = 12
    sigma = np.full(n, 0.3)
    y = 2.0 * np.linspace(0, 1, n) + 0.5 + sigma * rng.standard_normal(n)
    problem = _line_problem(y, sigma)
    values = np.array([2.0, 0.5])
    obs, rep = problem.discrepancy(np.tile(values, (20_000, 1)), np.random.default_rng(1))
    assert np.all(obs == pytest.approx(problem.gof(values)["chi2"], rel=1e-12))
    assert rep.mean() == pytest.approx(n, abs=4 * np.sqrt(2 * n / rep.size))
    assert rep.var() == pytest.approx(2 * n, rel=0.05)
    assert stats.kstest(rep, stats.chi2(n).cdf).pvalue > 1e-3


def _gauss(extended=False):
    mu = bf.Parameter("mu", 0.5, 0.0, 1.0)
    sigma = bf.Parameter("sigma", 0.1, 0.01, 0.5)
    if extended:
        nu = bf.Parameter("nu", 1000.0, 1.0, 1e5)
        return bf.WindowModel((0.0, 1.0), [bf.Gaussian(mu, sigma)], yields=[nu], nbins=40, name="g_ext")
    return bf.WindowModel((0.0, 1.0), [bf.Gaussian(mu, sigma)], nbins=40, name="g")


@pytest.mark.parametrize("extended", [False, True])
def test_window_observed_chi2_is_the_gof_and_replicas_have_the_expected_mean(extended):
    model = _gauss(extended)
    truth = [0.5, 0.12] + ([3000.0] if extended else [])
    data = model.simulate(truth, 3000, rng=np.random.default_rng(2))
    problem, _ = model.prepare(data, binned=False)
    values = np.array(truth)
    obs, rep = problem.discrepancy(np.tile(values, (4000, 1)), np.random.default_rng(3))
    gof = problem.gof(values)
    assert obs[0] == pytest.approx(gof["chi2"], rel=1e-12)
    # Pearson χ² of a multinomial histogram: mean k − 1 + (small terms); Poisson: k exactly
    k = gof["bins_used"]
    expected_mean = k if extended else k - 1
    assert rep.mean() == pytest.approx(expected_mean, abs=0.05 * k)


def test_bayesian_p_value_tells_a_good_fit_from_a_bad_one():
    model = _gauss()
    rng = np.random.default_rng(4)
    good = model.simulate([0.5, 0.12], 3000, rng=rng)
    # a Gaussian fitted to a flat distribution: the shape cannot follow the data
    bad = rng.uniform(0.2, 0.8, 3000)
    for data, lo, hi in ((good, 0.05, 0.95), (bad, 0.0, 0.01)):
        fit = bf.fit(model, data, binned=False, log=None)
        # a Gaussian posterior from the Laplace fit stands in for NUTS draws
        draws = np.random.default_rng(5).multivariate_normal(fit.map.values, fit.map.covariance, 1000)
        ppc = posterior_predictive(fit.problem, _idata(fit.names, draws), seed=6)
        assert ppc["draws"] == 1000
        assert lo <= ppc["p_value"] <= hi, ppc["p_value"]
        # the frequentist χ² agrees on which fit is good
        assert (fit.gof["p_value"] > 0.01) == (lo > 0)


def test_posterior_predictive_is_reproducible_with_a_seed():
    model = _gauss()
    data = model.simulate([0.5, 0.12], 500, rng=np.random.default_rng(7))
    problem, _ = model.prepare(data, binned=False)
    draws = np.column_stack([np.full(300, 0.5), np.full(300, 0.12)])
    a = posterior_predictive(problem, _idata(problem.names, draws), seed=11)
    b = posterior_predictive(problem, _idata(problem.names, draws), seed=11)
    assert np.array_equal(a["replicated"], b["replicated"]) and a["p_value"] == b["p_value"]
