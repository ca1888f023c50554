"""The maximum-likelihood fit's own flags."""

import numpy as np
import pytest

from bayesfit.engine.mle import fit_mle


def test_minos_interval_cut_off_by_a_bound_is_not_valid():
    # Gaussian likelihood of x with σ = 0.1 at 0.1, and a bound at 0: the lower MINOS error
    # would be −0.1 exactly where the bound is, and iminuit calls it valid.
    nll = lambda v: 0.5 * ((v[0] - 0.1) / 0.1) ** 2 + 0.5 * ((v[1] - 3.0) / 0.5) ** 2
    res = fit_mle(nll, [0.5, 2.0], names=["x", "y"], bounds=[(0.05, None), (None, None)])
    assert res.minos_at_limit == {"x": "lower"}
    assert res.minos["x"][0] == pytest.approx(-0.05, abs=1e-3)
    assert res.minos_valid == {"x": False, "y": True}
    assert res.minos["y"] == pytest.approx((-0.5, 0.5), abs=1e-3)
    assert np.all(np.isfinite(res.errors))
