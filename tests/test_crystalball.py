"""Crystal Ball: PyTensor kernels and the PyMC distribution against scipy.stats.crystalball."""

import functools

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats

from bayesfit.distributions import CrystalBallDist as CrystalBall
from bayesfit.distributions import crystalball as cb
from tests.conftest import graph_mode

# (mu, sigma, alpha, n) including the hard corners: small/large alpha, n close to 1, large n.
GRID = [
    (0.0, 1.0, 1.5, 5.0),
    (10.575, 0.04, 1.5, 5.0),
    (0.0, 1.0, 0.1, 1.1),
    (0.0, 1.0, 0.1, 20.0),
    (0.0, 1.0, 5.0, 1.1),
    (0.0, 1.0, 5.0, 20.0),
    (2.0, 0.5, 1.0, 1.001),
    (-3.0, 2.0, 3.0, 2.0),
]
T = np.array([-50.0, -20.0, -5.0, -3.0, -1.5, -0.1, 0.0, 0.7, 3.0, 8.0, 20.0, 35.0])

x_, mu_, s_, a_, n_ = (pt.dvector("x"), pt.dscalar("mu"), pt.dscalar("s"), pt.dscalar("a"), pt.dscalar("n"))


@functools.cache
def _kernels():
    """log pdf, log cdf and the gradient of their sum, compiled by the first test that needs them
    (not at import: every pytest-xdist worker imports every test module)."""
    args = [x_, mu_, s_, a_, n_]
    logpdf, logcdf = cb.logpdf(*args), cb.logcdf(*args)
    mode = graph_mode()
    return (pytensor.function(args, logpdf, mode=mode), pytensor.function(args, logcdf, mode=mode),
            pytensor.function(args, pt.grad(pt.sum(logpdf) + pt.sum(logcdf), args), mode=mode))


_logpdf = lambda *a: _kernels()[0](*a)  # noqa: E731
_logcdf = lambda *a: _kernels()[1](*a)  # noqa: E731
_grads = lambda *a: _kernels()[2](*a)  # noqa: E731


@pytest.mark.parametrize("mu,sigma,alpha,n", GRID)
def test_logpdf_matches_scipy(mu, sigma, alpha, n):
    x = mu + sigma * T
    ref = stats.crystalball.logpdf(x, alpha, n, loc=mu, scale=sigma)
    np.testing.assert_allclose(_logpdf(x, mu, sigma, alpha, n), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mu,sigma,alpha,n", GRID)
def test_logcdf_matches_scipy(mu, sigma, alpha, n):
    x = mu + sigma * T[T < 8]  # above, scipy's logcdf rounds to 0 like ours
    ref = stats.crystalball.logcdf(x, alpha, n, loc=mu, scale=sigma)
    np.testing.assert_allclose(_logcdf(x, mu, sigma, alpha, n), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mu,sigma,alpha,n", GRID)
def test_gradients_finite_everywhere(mu, sigma, alpha, n):
    x = mu + sigma * np.concatenate([T, [-alpha, -alpha + 1e-12, -alpha - 1e-12, 1e3]])
    for g in _grads(x, mu, sigma, alpha, n):
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("lo,hi,mu,sigma,alpha,n", [
    (10.2, 10.8, 10.575, 0.04, 1.5, 5.0),
    (9.0, 9.7, 9.46, 0.07, 1.2, 3.0),
    (-1.0, 1.0, 0.0, 1.0, 0.1, 1.1),
])
def test_window_integral_matches_quad(lo, hi, mu, sigma, alpha, n):
    got = np.exp(cb.log_window(lo, hi, mu, sigma, alpha, n).eval())
    ref, _ = integrate.quad(lambda x: stats.crystalball.pdf(x, alpha, n, loc=mu, scale=sigma), lo, hi,
                            points=[mu - alpha * sigma, mu], epsabs=1e-13, epsrel=1e-12)
    assert got == pytest.approx(ref, rel=1e-9)


# For n → 1 the low quantiles lie beyond the float range (x = −inf, as in scipy).
@pytest.mark.parametrize("mu,sigma,alpha,n", [g for g in GRID if g[3] >= 1.1])
def test_ppf_inverts_scipy_cdf(mu, sigma, alpha, n):
    q = np.array([1e-9, 1e-4, 0.01, 0.2, 0.5, 0.8, 0.99, 0.999999])
    x = cb.ppf(q, mu, sigma, alpha, n)
    np.testing.assert_allclose(stats.crystalball.cdf(x, alpha, n, loc=mu, scale=sigma), q, rtol=1e-7)


def test_random_draws_pass_ks_against_scipy():
    draws = pm.draw(CrystalBall.dist(mu=1.0, sigma=0.5, alpha=1.2, n=3.0), draws=20_000, random_seed=5)
    assert stats.kstest(draws, stats.crystalball(1.2, 3.0, loc=1.0, scale=0.5).cdf).pvalue > 0.01


def test_pymc_distribution_logp_logcdf_and_truncation():
    dist = CrystalBall.dist(mu=10.575, sigma=0.04, alpha=1.5, n=5.0)
    x = np.array([10.3, 10.5, 10.6])
    ref = stats.crystalball(1.5, 5.0, loc=10.575, scale=0.04)
    # PyMC's graph rewrites reorder a few operations: agreement to ~1e-9 relative.
    np.testing.assert_allclose(pm.logp(dist, x).eval(), ref.logpdf(x), rtol=1e-8)
    np.testing.assert_allclose(pm.logcdf(dist, x).eval(), ref.logcdf(x), rtol=1e-8)
    trunc = pm.Truncated.dist(CrystalBall.dist(mu=10.575, sigma=0.04, alpha=1.5, n=5.0), lower=10.2, upper=10.8)
    norm = ref.cdf(10.8) - ref.cdf(10.2)
    np.testing.assert_allclose(pm.logp(trunc, x).eval(), ref.logpdf(x) - np.log(norm), rtol=1e-8)
    draws = pm.draw(trunc, draws=2000, random_seed=1)
    assert draws.min() >= 10.2 and draws.max() <= 10.8


def test_observed_in_a_model_and_bad_parameters():
    data = cb.random(0.0, 1.0, 1.5, 4.0, rng=np.random.default_rng(3), size=500)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        CrystalBall("obs", mu=mu, sigma=1.0, alpha=1.5, n=4.0, observed=data)
    lp = model.compile_logp()({"mu": 0.0})
    ref = stats.norm.logpdf(0.0, 0, 1) + stats.crystalball.logpdf(data, 1.5, 4.0).sum()
    assert lp == pytest.approx(ref, rel=1e-10)
    with pytest.raises(Exception, match="n > 1"):
        pm.logp(CrystalBall.dist(mu=0.0, sigma=1.0, alpha=1.5, n=0.9), 0.0).eval()


@pytest.mark.parametrize("mu,sigma,alpha,n", GRID)
def test_numpy_twin_matches_scipy(mu, sigma, alpha, n):
    x = mu + sigma * T
    ref = stats.crystalball(alpha, n, loc=mu, scale=sigma)
    np.testing.assert_allclose(cb.ref_logpdf(x, mu, sigma, alpha, n), ref.logpdf(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cb.ref_cdf(x, mu, sigma, alpha, n), ref.cdf(x), rtol=1e-9, atol=1e-300)


# windows: across core and tail, core only, tail only, open on either side
WINDOWS = [(10.2, 10.8, 10.575, 0.04, 1.5, 5.0), (10.2, 10.8, 10.51, 0.09, 0.3, 1.2),
           (10.2, 10.8, 10.64, 0.006, 4.8, 19.0), (10.5, 10.8, 10.575, 0.04, 1.5, 5.0),
           (10.2, 10.45, 10.575, 0.04, 1.5, 5.0), (-np.inf, 1.0, 0.0, 1.0, 1.5, 3.0),
           (-1.0, np.inf, 0.0, 1.0, 1.5, 3.0), (-3.0, -2.0, 0.0, 1.0, 0.5, 2.5)]


@functools.cache
def _window_derivatives_function():
    """log S, its gradient and Hessian by PyTensor's autodiff (compiled by the first test using it)."""
    lo_, hi_ = pt.dscalar("lo"), pt.dscalar("hi")
    log_s = pt.log(s_) + cb.log_shape_integral(a_, n_) + cb.log_window(lo_, hi_, mu_, s_, a_, n_)
    theta = [mu_, s_, a_, n_]
    grad_s = pt.stack(pt.grad(log_s, theta))
    return pytensor.function([lo_, hi_, *theta],
                             [log_s, grad_s, pt.stack([pt.grad(grad_s[i], theta) for i in range(4)])],
                             mode=graph_mode())


_window_derivatives = lambda *a: _window_derivatives_function()(*a)  # noqa: E731


@pytest.mark.parametrize("lo,hi,mu,sigma,alpha,n", WINDOWS)
def test_window_log_integral_and_derivatives(lo, hi, mu, sigma, alpha, n):
    """ref_log_window: the value against scipy, gradient and Hessian against PyTensor's autodiff."""
    log_s, grad, hess = cb.ref_log_window(lo, hi, mu, sigma, alpha, n, derivatives=2)
    c, d = cb._np_weights(alpha, n)
    mass = np.diff(stats.crystalball.cdf([lo, hi], alpha, n, loc=mu, scale=sigma))[0]
    assert log_s == pytest.approx(np.log(sigma * (c + d) * mass), rel=1e-12, abs=1e-12)
    assert cb.ref_log_window(lo, hi, mu, sigma, alpha, n) == log_s
    assert cb.ref_log_window(lo, hi, mu, sigma, alpha, n, derivatives=1)[1] == pytest.approx(grad, rel=1e-15)
    if np.isinf(lo) or np.isinf(hi):  # PyTensor's graph takes finite edges
        lo, hi = max(lo, mu - 1e6 * sigma), min(hi, mu + 1e6 * sigma)
    ref_value, ref_grad, ref_hess = _window_derivatives(lo, hi, mu, sigma, alpha, n)
    assert log_s == pytest.approx(ref_value, rel=1e-11, abs=1e-11)
    scale = np.abs(ref_grad).max()
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-9 * scale)
    np.testing.assert_allclose(hess, ref_hess, rtol=1e-7, atol=1e-8 * np.abs(ref_hess).max())
    np.testing.assert_array_equal(hess, hess.T)
