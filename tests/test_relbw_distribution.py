"""Relativistic Breit–Wigner: kernels and PyMC distribution against scipy.stats.rel_breitwigner."""

import functools

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats

from bayesfit.distributions import RelBreitWigner
from bayesfit.distributions import relbw
from tests.conftest import graph_mode

RHOS = [0.05, 0.3, 1.0, 2.0, 36.5, 1e3, 1e4]


@functools.cache
def _kernels():
    """log pdf, log cdf and the gradient of their sum in (ρ, scale), compiled by the first test
    that needs them (not at import: every pytest-xdist worker imports every test module)."""
    x_, rho_, sc_ = pt.dvector("x"), pt.dscalar("rho"), pt.dscalar("scale")
    logpdf, logcdf, mode = relbw.logpdf(x_, rho_, sc_), relbw.logcdf(x_, rho_, sc_), graph_mode()
    return (pytensor.function([x_, rho_, sc_], logpdf, mode=mode), pytensor.function([x_, rho_, sc_], logcdf, mode=mode),
            pytensor.function([x_, rho_, sc_], pt.grad(pt.sum(logpdf) + pt.sum(logcdf), [rho_, sc_]), mode=mode))


_logpdf = lambda *a: _kernels()[0](*a)  # noqa: E731
_logcdf = lambda *a: _kernels()[1](*a)  # noqa: E731
_grad = lambda *a: _kernels()[2](*a)  # noqa: E731


def _points(rho):
    # x = 0, the peak and its sides, and the far tail
    return np.array([0.0, 1e-6, 0.3 * rho, 0.99 * rho, rho, 1.01 * rho, 3 * rho + 1, 1e3 * (rho + 1)])


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("scale", [1.0, 2.4952])
def test_logpdf_matches_scipy(rho, scale):
    x = scale * _points(rho)
    np.testing.assert_allclose(_logpdf(x, rho, scale), stats.rel_breitwigner.logpdf(x, rho, scale=scale),
                               rtol=1e-10, atol=1e-12)
    assert _logpdf(np.array([-1.0]), rho, scale)[0] == -np.inf


@pytest.mark.parametrize("rho", RHOS)
def test_logcdf_matches_scipy_and_quad(rho):
    x = _points(rho)[1:]
    ours = _logcdf(x, rho, 1.0)
    np.testing.assert_allclose(ours, stats.rel_breitwigner.logcdf(x, rho), rtol=1e-9, atol=1e-12)
    for xi, lp in zip(x[2:5], ours[2:5]):
        ref = integrate.quad(lambda t: stats.rel_breitwigner.pdf(t, rho), 0, xi, epsabs=0, epsrel=1e-12, limit=200)[0]
        assert np.exp(lp) == pytest.approx(ref, rel=1e-9)
    assert _logcdf(np.array([0.0]), rho, 1.0)[0] == -np.inf


@pytest.mark.parametrize("rho", RHOS)
def test_gradients_finite(rho):
    x = _points(rho)
    for g in _grad(x, rho, 1.3):
        assert np.isfinite(g)


@pytest.mark.parametrize("rho", [0.2, 1.0, 3.5, 36.5])
def test_moments_by_integration(rho):
    pdf = lambda t: stats.rel_breitwigner.pdf(t, rho)
    pts = [rho]
    m1 = integrate.quad(lambda t: t * pdf(t), 0, np.inf, limit=400)[0]
    m2 = integrate.quad(lambda t: t * t * pdf(t), 0, 10 * rho + 10, points=pts, limit=400)[0] + \
        integrate.quad(lambda t: t * t * pdf(t), 10 * rho + 10, np.inf, limit=400)[0]
    assert relbw.mean(rho) == pytest.approx(m1, rel=1e-6)
    assert relbw.second_moment(rho) == pytest.approx(m2, rel=1e-6)
    np.testing.assert_allclose(stats.rel_breitwigner.stats(rho, moments="m"), relbw.mean(rho), rtol=1e-8)


def test_random_draws_ks_against_our_cdf():
    draws = pm.draw(RelBreitWigner.dist(rho=2.0, scale=1.5), draws=5000, random_seed=3)
    x = pt.dvector("x")
    cdf = pytensor.function([x], pt.exp(relbw.logcdf(x, 2.0, 1.5)), mode=graph_mode())
    assert stats.kstest(draws, cdf).pvalue > 0.01


def test_mass_width_constructor_and_model():
    m0, width = 91.1876, 2.4952
    dist = RelBreitWigner.dist(mass=m0, width=width)
    x = np.array([85.0, 91.0, 95.0])
    np.testing.assert_allclose(pm.logp(dist, x).eval(),
                               stats.rel_breitwigner.logpdf(x, m0 / width, scale=width), rtol=1e-8)
    with pm.Model() as model:
        rho = pm.LogNormal("rho", 0, 0.7)
        RelBreitWigner("x", rho=rho, observed=[1.5, 2.2])
    assert np.isfinite(model.compile_logp()(model.initial_point()))
    with pytest.raises(ValueError, match="either rho"):
        RelBreitWigner.dist(rho=2.0, mass=91.0, width=2.5)
    with pytest.raises(Exception, match="rho > 0"):
        pm.logp(RelBreitWigner.dist(rho=-1.0), 1.0).eval()


@pytest.mark.parametrize("mass,width,sigma", [(91.19, 2.5, 0.9), (2.0, 1.0, 0.5), (10.0, 0.01, 0.2), (0.3, 1.0, 0.1)])
def test_convolution_reference_is_scipys_breit_wigner_at_the_nodes(mass, width, sigma):
    from scipy import special

    from bayesfit.distributions import relbw_gauss

    # the MLE's reference, against scipy's own density at the same Gauss–Hermite nodes
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(mass - 10 * width, mass + 10 * width, 500), [0.0, -1.0, 1e-3, 1e3]])
    shifted = x[:, None] - np.sqrt(2.0) * sigma * relbw_gauss.NODES
    expected = special.logsumexp(stats.rel_breitwigner.logpdf(shifted, mass / width, scale=width)
                                 + relbw_gauss.LOG_W, axis=-1)
    got = relbw_gauss.ref_logpdf(x, mass, width, sigma)
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-13, atol=1e-13)
    assert np.isnan(relbw_gauss.ref_logpdf(x, mass, 0.0, sigma)).all()
    assert np.isnan(relbw_gauss.ref_logpdf(x, -mass, width, sigma)).all()
