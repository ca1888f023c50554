"""Simulation-based calibration: the rank statistics on a conjugate Gaussian, then a real run.

For a Gaussian mean with known σ and a Gaussian prior the posterior is known exactly: ranks of
the truth among exact posterior draws are uniform (the test passes), among draws of a posterior
half as wide they pile up at both ends, and among draws of a shifted posterior at one end (the
test must reject both).
"""

import numpy as np
import pytest

from bayesfit.studies.sbc import N_RANKS, prior_draws, ranks, sbc, uniformity
from tests.conftest import gaussian_peak as _gauss


def _conjugate_ranks(width=1.0, shift=0.0, sims=1000, seed=0):
    rng = np.random.default_rng(seed)
    n, sigma, tau = 20, 1.0, 2.0  # data points, their σ, the prior's σ (mean 0)
    out = []
    for _ in range(sims):
        mu = rng.normal(0, tau)
        y = rng.normal(mu, sigma, n)
        var = 1 / (1 / tau**2 + n / sigma**2)
        mean = var * y.sum() / sigma**2
        draws = rng.normal(mean + shift * np.sqrt(var), width * np.sqrt(var), (400, 1))
        out.append(ranks([mu], draws)[0])
    return np.array(out)


def test_exact_posterior_gives_uniform_ranks():
    r = _conjugate_ranks()
    assert r.min() >= 0 and r.max() <= N_RANKS
    assert uniformity(r) > 0.001


@pytest.mark.parametrize("width, shift", [(0.5, 0.0), (1.0, 0.5), (2.0, 0.0)])
def test_miscalibrated_posteriors_are_rejected(width, shift):
    assert uniformity(_conjugate_ranks(width, shift)) < 1e-4


def test_rank_counts_draws_below_the_truth():
    draws = np.arange(1000.0)[:, None]
    assert ranks([-1.0], draws)[0] == 0
    assert ranks([2000.0], draws)[0] == N_RANKS
    assert ranks([500.0], draws)[0] == 49  # thinned to 99 evenly spaced draws: 0, 10.2, …
    with pytest.raises(ValueError, match="at least 99"):
        ranks([0.0], draws[:50])


def test_prior_draws_follow_the_flat_priors():
    d = prior_draws(_gauss(), 4000, seed=1)
    assert d.shape == (4000, 2)
    assert d[:, 0].min() >= -1 and d[:, 0].max() <= 1 and d[:, 1].min() >= 0.5 and d[:, 1].max() <= 2
    assert abs(d[:, 0].mean()) < 0.05 and abs(d[:, 1].mean() - 1.25) < 0.03


def test_sbc_run_records_ranks_and_saves(tmp_path):
    res = sbc(_gauss(), 12, 200, seed=3, draws=200, tune=200, workers=1, progress=False)
    assert len(res.records) == 12 and all(r["ok"] for r in res.records)
    assert res.rank_array.shape == (12, 2)
    assert set(res.p_values()) == {"mu", "sigma"}
    files = {p.name for p in res.save(tmp_path)}
    assert {"sbc.json", "sbc.png", "sbc.pdf"} <= files
    again = sbc(_gauss(), 12, 200, seed=3, draws=200, tune=200, workers=1, progress=False)
    assert [r["ranks"] for r in again.records] == [r["ranks"] for r in res.records]
