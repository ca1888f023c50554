"""Shared fixtures: seeded generators and short NUTS settings for the test suite."""

import numpy as np
import pytest

#: Short chains: enough for Monte-Carlo-error checks, short enough for CI's two cores.
QUICK_NUTS = dict(draws=500, tune=500, chains=4, seed=11, progressbar=False)


@pytest.fixture
def rng():
    """Return a seeded random generator."""
    return np.random.default_rng(20261122)


@pytest.fixture
def quick_nuts():
    """Return keyword arguments for a short NUTS run."""
    return dict(QUICK_NUTS)
