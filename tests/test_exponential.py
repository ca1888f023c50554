"""Window-normalised exponential: normalisation, cdf, bin probabilities, slope → 0, draws."""

import functools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats

from bayesfit.distributions import exponential as truncexpon
from tests.conftest import graph_mode

LO, HI = 10.2, 10.8


@functools.cache
def _kernels():
    """log pdf, log cdf, d(Σ log pdf)/ds, compiled by the first test that needs them (not at
    import: every pytest-xdist worker imports every test module)."""
    x_, s_ = pt.dvector("x"), pt.dscalar("s")
    logpdf, mode = truncexpon.logpdf(x_, s_, LO, HI), graph_mode()
    return (pytensor.function([x_, s_], logpdf, mode=mode),
            pytensor.function([x_, s_], truncexpon.logcdf(x_, s_, LO, HI), mode=mode),
            pytensor.function([x_, s_], pt.grad(pt.sum(logpdf), s_), mode=mode))


_logpdf = lambda *a: _kernels()[0](*a)  # noqa: E731
_logcdf = lambda *a: _kernels()[1](*a)  # noqa: E731
_grad = lambda *a: _kernels()[2](*a)  # noqa: E731

SLOPES = [-10.0, -3.0, -1e-9, 0.0, 1e-9, 3.0, 10.0]


@pytest.mark.parametrize("slope", SLOPES)
def test_density_integrates_to_one_and_cdf_matches(slope):
    pdf = lambda x: np.exp(_logpdf(np.atleast_1d(x), slope))[0]
    assert integrate.quad(pdf, LO, HI)[0] == pytest.approx(1.0, rel=1e-10)
    x = np.array([10.25, 10.5, 10.79])
    ref = [integrate.quad(pdf, LO, xi)[0] for xi in x]
    np.testing.assert_allclose(np.exp(_logcdf(x, slope)), ref, rtol=1e-9)
    assert np.isfinite(_grad(x, slope))


@pytest.mark.parametrize("slope", SLOPES)
def test_bin_probabilities_are_cdf_differences(slope):
    edges = np.linspace(LO, HI, 11)
    logp = truncexpon.log_bin_probabilities(edges, pt.as_tensor_variable(slope), LO, HI).eval()
    cdf = np.exp(_logcdf(edges[1:], slope))
    np.testing.assert_allclose(np.exp(logp), np.diff(np.concatenate([[0.0], cdf])), rtol=1e-9, atol=1e-15)
    assert np.exp(logp).sum() == pytest.approx(1.0, rel=1e-12)


def test_flat_limit_is_uniform():
    x = np.linspace(LO, HI, 5)
    np.testing.assert_allclose(np.exp(_logpdf(x, 0.0)), 1 / (HI - LO), rtol=1e-12)


@pytest.mark.parametrize("slope", [-4.0, 0.0, 4.0])
def test_random_draws_follow_the_cdf(slope):
    draws = truncexpon.random(slope, LO, HI, rng=np.random.default_rng(1), size=5000)
    assert draws.min() >= LO and draws.max() <= HI
    cdf = lambda x: np.exp(_logcdf(np.clip(np.atleast_1d(x), LO + 1e-12, HI), slope))
    assert stats.kstest(draws, cdf).pvalue > 0.01


@pytest.mark.parametrize("slope", SLOPES)
def test_numpy_twins_match(slope):
    x = np.linspace(LO, HI, 7)
    np.testing.assert_allclose(truncexpon.ref_logpdf(x, slope, LO, HI), _logpdf(x, slope), rtol=1e-12, atol=1e-12)
    edges = np.linspace(LO, HI, 13)
    ref = np.exp(truncexpon.log_bin_probabilities(edges, pt.as_tensor_variable(slope), LO, HI).eval())
    np.testing.assert_allclose(truncexpon.ref_bin_probabilities(edges, slope, LO, HI), ref, rtol=1e-9)


@pytest.mark.parametrize("slope", [-300.0, -10.0, -0.5, -0.02, -4e-3, -5e-4, 0.0, 1e-9, 7e-4, 5e-3, 0.3, 10.0, 300.0])
def test_log_norm_derivatives_are_mean_and_variance(slope):
    """d/ds and d²/ds² of log ∫ exp(s(x − lo)): the mean and variance of x − lo, by quadrature."""
    first, second = truncexpon.ref_log_norm_derivatives(slope, LO, HI)
    pdf = lambda u: np.exp(truncexpon.ref_logpdf(LO + u, slope, LO, HI))  # noqa: E731
    mean = integrate.quad(lambda u: u * pdf(u), 0, HI - LO, epsabs=0, epsrel=1e-13)[0]
    var = integrate.quad(lambda u: (u - mean) ** 2 * pdf(u), 0, HI - LO, epsabs=0, epsrel=1e-13)[0]
    assert first == pytest.approx(mean, rel=1e-10)
    assert second == pytest.approx(var, rel=1e-8)
