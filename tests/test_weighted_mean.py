"""The lecture's weighted mean, fitted three ways, against the closed form."""

import numpy as np
import pytest

import bayesfit as bf
from bayesfit.models.weighted_mean_model import R, SIGMA, closed_form

MEAN, ERR, CHI2 = 58 / 216, 1 / np.sqrt(216), 1.4259


def test_closed_form_matches_lecture():
    mean, err, chi2 = closed_form(R, SIGMA)
    assert mean == pytest.approx(0.268519, rel=1e-5)
    assert err == pytest.approx(0.068041, rel=1e-5)
    assert chi2 == pytest.approx(CHI2, rel=1e-4)


@pytest.fixture(scope="module")
def fit():
    from tests.conftest import QUICK_NUTS

    return bf.fit(bf.models.weighted_mean(), {"x": R, "sigma": SIGMA}, sample=True, log=None, **QUICK_NUTS)


def test_mle_reproduces_lecture(fit):
    c = fit.comparison["mean"]
    assert c["mle"] == pytest.approx(MEAN, rel=1e-4)
    assert c["hesse"] == pytest.approx(ERR, rel=1e-4)
    # Linear Gaussian model: MINOS is symmetric and equals HESSE.
    assert -c["minos"][0] == pytest.approx(ERR, rel=1e-3)
    assert c["minos"][1] == pytest.approx(ERR, rel=1e-3)
    assert fit.gof["chi2"] == pytest.approx(CHI2, rel=1e-4)
    assert fit.gof["ndf"] == 2
    assert fit.diagnostics["migrad_valid"]


def test_map_equals_mle_and_laplace_equals_hesse(fit):
    c = fit.comparison["mean"]
    assert abs(c["map"] - c["mle"]) < 1e-3 * c["hesse"]
    assert c["laplace_sd"] == pytest.approx(c["hesse"], rel=1e-3)
    # The Laplace σ is exact here: 1/sqrt(<1>).
    assert c["laplace_sd"] == pytest.approx(ERR, rel=1e-9)
    assert fit.map.posdef


def test_nuts_matches_analytic_posterior(fit):
    post = fit.comparison["mean"]["posterior"]
    mcse_mean = ERR / np.sqrt(post["ess_bulk"])
    assert abs(post["mean"] - MEAN) < 4 * mcse_mean
    # sd of a Gaussian estimated from n effective draws: relative error ~ 1/sqrt(2 n).
    assert abs(post["sd"] / ERR - 1) < 4 / np.sqrt(2 * post["ess_bulk"])
    lo, hi = post["hdi_68"]
    assert lo < MEAN < hi
    assert post["r_hat"] < 1.02
