"""The complementary log-log interval map NUTS uses for the Crystal Ball's n."""

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

from bayesfit.modeling.transforms import CLogLogInterval


def test_forward_backward_and_jacobian():
    tr = CLogLogInterval(1.1, 20.0)
    u = pt.dvector("u")
    x = tr.backward(u)
    fn = pytensor.function([u], [x, tr.forward(x), tr.log_jac_det(u),
                                 pt.log(pt.abs(pt.grad(pt.sum(x), u)))])
    grid = np.linspace(-8, 2.5, 43)
    x_v, back, log_jac, autodiff = fn(grid)
    assert np.all((x_v > 1.1) & (x_v < 20.0))
    np.testing.assert_allclose(back, grid, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(log_jac, autodiff, rtol=1e-12, atol=1e-12)
    # logarithmic near the lower bound: x − lower ≈ (upper − lower)·eᵘ
    assert x_v[0] - 1.1 == pytest.approx(18.9 * np.exp(-8), rel=1e-3)


def test_rejects_empty_interval():
    with pytest.raises(ValueError, match="lower < upper"):
        CLogLogInterval(2.0, 2.0)


def test_prior_stays_uniform_under_nuts():
    """Sampled through the map, a Uniform prior is still uniform: the Jacobian is right."""
    with pm.Model():
        pm.Uniform("n", 1.1, 20.0, default_transform=CLogLogInterval(1.1, 20.0))
        idata = pm.sample(draws=2000, tune=500, chains=2, cores=1, random_seed=5, progressbar=False,
                          compute_convergence_checks=False)
    draws = idata.posterior["n"].values.ravel()
    assert stats.kstest(thin := draws[::4], stats.uniform(1.1, 18.9).cdf).pvalue > 0.01, len(thin)
