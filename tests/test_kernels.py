"""The one-pass likelihood Op NUTS samples unbinned di-muon fits with."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import bayesfit as bf
from bayesfit.modeling.kernels import cb_exp_loglike_op
from bayesfit.models.dimuon_model import simulate
from tests.conftest import graph_mode


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
    both = [m.compile_fn([m.logp(), m.dlogp()], mode=graph_mode()) for m in (plain, fast)]
    for point in _points(plain, 8, 1):
        (logp0, dlogp0), (logp1, dlogp1) = (f(point) for f in both)
        assert logp1 == pytest.approx(logp0, rel=1e-12)
        np.testing.assert_allclose(dlogp1, dlogp0, rtol=1e-9, atol=1e-9)


def test_numba_implementation_matches_perform(problem):
    """The numba function nutpie samples with gives what the Python ``perform`` gives."""
    from bayesfit.backend.compiled import model_data, nuts_model

    fast = problem.sampling_model()
    logp, dlogp = fast.compile_logp(mode=graph_mode()), fast.compile_dlogp(mode=graph_mode())
    compiled = nuts_model(fast)[0].prepared(model_data(fast), None)  # the fits' own, compiled once
    shared = {v.name: v for v in compiled.logp_func.get_shared()}
    for name, value in compiled.shared_data.items():  # this problem's events
        shared[name].set_value(value)
    for point in _points(fast, 4, 2):
        numba_logp, numba_grad = compiled.logp_func(np.array([point[v.name] for v in fast.value_vars]))
        assert float(numba_logp) == pytest.approx(logp(point), rel=1e-13)
        np.testing.assert_allclose(numba_grad, dlogp(point), rtol=1e-12, atol=1e-12)


def test_gradient_finite_at_the_junction(problem):
    """Events exactly at t = −α, where the shape switches from core to tail."""
    mu, sigma, alpha = 10.575, 0.04, 1.5
    x = np.array([mu - alpha * sigma, mu - alpha * sigma + 1e-12, mu - alpha * sigma - 1e-12, 10.3])
    params = pt.dvector("p")
    value = cb_exp_loglike_op(x, *[params[i] for i in range(7)], 10.2)
    fn = pytensor.function([params], [value, pt.grad(value, params)], mode=graph_mode())
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
    from bayesfit.modeling import kernels
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


def _map_derivatives(problem, x):
    """∇ and ∇² of −log p from the MAP function (JAX's autodiff of the PyMC graph)."""
    from bayesfit.backend.compiled import map_function

    fn = map_function(problem.pymc_model(), problem.names)[0]
    _, grad, _ = fn(x, np.zeros(len(x)))
    return -grad, -np.array([fn(x, v)[2] for v in np.eye(len(x))])


@pytest.mark.parametrize("events", [400, 150_000])
def test_analytic_gradient_and_hessian_match_autodiff(events, monkeypatch):
    """The MLE's hand-derived derivatives (kernels + window normalisations) against PyTensor's.

    Inside the flat priors' box, −log p of the MAP function is the NLL up to a constant, so
    its derivatives must agree, on random points and on both the serial and parallel kernels.
    """
    from bayesfit.modeling import kernels

    monkeypatch.setattr(kernels, "PARALLEL_ABOVE", 100_000)
    model = bf.models.dimuon()
    problem = model.prepare(simulate(events, rng=np.random.default_rng(events)), binned=False)[0]
    rng = np.random.default_rng(3)
    for _ in range(6):
        x = np.array([rng.uniform(lo + 0.02 * (hi - lo), hi - 0.02 * (hi - lo)) for lo, hi in problem.bounds])
        grad, hess = _map_derivatives(problem, x)
        np.testing.assert_allclose(problem.nll_grad(x), grad, rtol=1e-8, atol=1e-9 * np.abs(grad).max())
        scale = np.sqrt(np.abs(np.outer(np.diag(hess), np.diag(hess)))) + 1e-9 * np.abs(hess).max()
        assert np.max(np.abs(problem.nll_hessian(x) - hess) / scale) < 1e-8


def test_derivatives_with_a_fixed_and_a_shared_parameter():
    """A constant α and one parameter in two slots (μ and the slope, for the test's sake)."""
    mu = bf.Parameter("mu", 10.575, 10.5, 10.65)
    sigma = bf.Parameter("sigma", 0.04, 0.005, 0.1)
    n = bf.Parameter("n", 5.0, 1.1, 20.0)
    f = bf.Parameter("f_sig", 0.6, 0.01, 0.999)
    model = bf.WindowModel((10.2, 10.8), [bf.CrystalBall(mu, sigma, 1.5, n), bf.Exponential(mu)], fractions=[f])
    problem = model.prepare(simulate(1_000, rng=np.random.default_rng(4)), binned=False)[0]
    assert problem.nll_grad is not None and problem.names == ["mu", "sigma", "n", "f_sig"]
    x = np.array([10.57, 0.043, 4.0, 0.62])
    grad, hess = _map_derivatives(problem, x)
    np.testing.assert_allclose(problem.nll_grad(x), grad, rtol=1e-8)
    np.testing.assert_allclose(problem.nll_hessian(x), hess, rtol=1e-7, atol=1e-7 * np.abs(hess).max())


def test_analytic_hessian_gives_hesse_errors():
    """fit_problem's HESSE (analytic Hessian) is the inverse of PyTensor's Hessian at the minimum.

    iminuit with numerical derivatives only finds the same minimum; its second differences
    scatter by a per cent or two on 20,000 events (two HESSE calls differ by that much).
    """
    from bayesfit.engine.mle import fit_mle, fit_problem

    model = bf.models.dimuon()
    problem = model.prepare(simulate(20_000, rng=np.random.default_rng(7)), binned=False)[0]
    fast = fit_problem(problem, minos=False)
    plain = fit_mle(problem.nll, problem.start, names=problem.names, bounds=problem.mle_limits, minos=False)
    assert fast.valid and plain.valid and not fast.at_limit and fast.accurate
    assert fast.fval <= plain.fval + 1e-4
    assert np.all(np.abs(fast.values - plain.values) < 0.01 * plain.errors)
    _, hess = _map_derivatives(problem, fast.values)
    np.testing.assert_allclose(fast.covariance, np.linalg.inv(hess), rtol=1e-6)
    np.testing.assert_allclose(fast.errors, plain.errors, rtol=0.04)
    # the returned Minuit has no Hessian: MINOS and profiles fix parameters
    assert fast.minuit.hessian is None
