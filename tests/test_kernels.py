"""The one-pass likelihood Op NUTS samples unbinned di-muon fits with."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import bayesfit as bf
from bayesfit.kernels import cb_exp_loglike_op
from bayesfit.models.dimuon_model import simulate


@pytest.fixture(scope="module")
def problem():
    return bf.models.dimuon().bind(simulate(3_000, rng=np.random.default_rng(8)))


def _points(model, k, seed):
    rng = np.random.default_rng(seed)
    return [{v.name: rng.normal(0.0, 1.5) for v in model.value_vars} for _ in range(k)]


def test_op_matches_the_pytensor_graph(problem):
    """Same log density and gradient as the plain graph differentiated by PyTensor."""
    plain, fast = problem.pymc_model(), problem.sampling_model()
    assert [v.name for v in plain.value_vars] == [v.name for v in fast.value_vars]
    logp = [m.compile_logp() for m in (plain, fast)]
    dlogp = [m.compile_dlogp() for m in (plain, fast)]
    for point in _points(plain, 8, 1):
        assert logp[1](point) == pytest.approx(logp[0](point), rel=1e-12)
        np.testing.assert_allclose(dlogp[1](point), dlogp[0](point), rtol=1e-9, atol=1e-9)


def test_numba_implementation_matches_perform(problem):
    """The numba dispatch nutpie compiles gives what the Python ``perform`` gives."""
    fast = problem.sampling_model()
    logp = [fast.compile_logp(mode=m) for m in ("FAST_RUN", "NUMBA")]
    dlogp = [fast.compile_dlogp(mode=m) for m in ("FAST_RUN", "NUMBA")]
    for point in _points(fast, 4, 2):
        assert logp[1](point) == pytest.approx(logp[0](point), rel=1e-13)
        np.testing.assert_allclose(dlogp[1](point), dlogp[0](point), rtol=1e-12, atol=1e-12)


def test_gradient_finite_at_the_junction(problem):
    """Events exactly at t = −α, where the shape switches from core to tail."""
    mu, sigma, alpha = 10.575, 0.04, 1.5
    x = np.array([mu - alpha * sigma, mu - alpha * sigma + 1e-12, mu - alpha * sigma - 1e-12, 10.3])
    params = pt.dvector("p")
    value = cb_exp_loglike_op(x, *[params[i] for i in range(7)], 10.2)
    fn = pytensor.function([params], [value, pt.grad(value, params)])
    v, g = fn(np.array([mu, sigma, alpha, 5.0, 3.0, -1.0, -1.5]))
    assert np.isfinite(v) and np.all(np.isfinite(g))


def test_no_second_derivative(problem):
    params = pt.dvector("p")
    value = cb_exp_loglike_op(problem.data, *[params[i] for i in range(7)], problem.lo)
    g = pt.grad(value, params)
    with pytest.raises(NotImplementedError, match="differentiable once"):
        pt.grad(g.sum(), params)


def test_binned_fit_has_no_separate_sampling_model():
    assert bf.models.dimuon().bind(simulate(2_000, rng=1), fit_bins=100).sampling_model() is None


def test_other_structures_have_no_fast_path():
    """A Gaussian peak or yields take the generic graph."""
    mu = bf.Parameter("mu", 10.57, 10.5, 10.65)
    s = bf.Parameter("s", 0.04, 0.01, 0.1)
    slope = bf.Parameter("slope", 1.0, -10, 10)
    f = bf.Parameter("f", 0.5, 0.01, 0.99)
    model = bf.WindowModel((10.2, 10.8), [bf.Gaussian(mu, s), bf.Exponential(slope)], fractions=[f])
    assert model.bind(simulate(500, rng=1)).sampling_model() is None


def test_serial_and_parallel_sums_agree(monkeypatch):
    """Small samples use the one-thread kernel; it gives the parallel kernel's sum."""
    from bayesfit import kernels
    from bayesfit.models.dimuon_model import TRUTH

    model = bf.models.dimuon()
    problem = model.prepare(model.simulate(TRUTH, 3_000, rng=2), binned=False)[0]
    args = (problem.data, 10.57, 0.045, 1.4, 6.0, -1.2, -0.8, -0.9, problem.lo)
    assert kernels.cb_exp_loglike_serial(*args) == pytest.approx(kernels.cb_exp_loglike(*args), rel=1e-12)
    called = []
    monkeypatch.setattr(kernels, "cb_exp_loglike", lambda *a: called.append(1) or 0.0)
    problem.nll(problem.start)
    assert called == []  # 3,000 < PARALLEL_ABOVE events: no threads
    monkeypatch.setattr(kernels, "PARALLEL_ABOVE", 1_000)
    problem.nll(problem.start)
    assert called == [1]
