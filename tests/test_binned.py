"""The exact binned likelihood against the unbinned one, and when it is switched on."""

import argparse

import numpy as np
import pytest

from bayesfit.engine import run_fits
from bayesfit.mle import fit_mle
from bayesfit.windowed import BINNED_ABOVE, FIT_BINS, fit_bins_from_args
from models.dimuon import NAMES, START, Dimuon, simulate

TRUTH = [START[k] for k in NAMES]


def _mle(problem):
    return fit_mle(problem.nll, problem.start, names=problem.names, bounds=problem.mle_limits, minos=False)


def test_binned_and_unbinned_mle_agree_on_100k_events():
    data = simulate(100_000, TRUTH, rng=99)
    unbinned, binned = _mle(Dimuon(data)), _mle(Dimuon(data, fit_bins=FIT_BINS))
    assert unbinned.valid and binned.valid
    np.testing.assert_array_less(np.abs(binned.values - unbinned.values) / unbinned.errors, 0.1)
    np.testing.assert_allclose(binned.errors, unbinned.errors, rtol=0.05)


def test_binned_nuts_matches_unbinned(quick_nuts):
    data = simulate(5_000, TRUTH, rng=5)
    fits = [run_fits(Dimuon(data, fit_bins=b), sample=True, log=lambda m: None, **quick_nuts)
            for b in (None, 400)]
    for name in NAMES:
        a, b = (f.comparison[name]["posterior"] for f in fits)
        assert abs(a["mean"] - b["mean"]) < 0.2 * a["sd"], name
    binned = fits[1]
    assert binned.problem.meta["likelihood"] == "binned, 400 bins"
    for name, c in binned.comparison.items():
        assert abs(c["map_minus_mle_in_hesse"]) < 0.01, name
        assert c["laplace_over_hesse"] == pytest.approx(1.0, abs=0.02), name


@pytest.mark.parametrize("binned,unbinned,n,expected", [
    (None, False, BINNED_ABOVE - 1, None),
    (None, False, BINNED_ABOVE, FIT_BINS),
    (None, True, 10 * BINNED_ABOVE, None),
    (250, False, 100, 250),
])
def test_binning_choice(binned, unbinned, n, expected):
    bins, note = fit_bins_from_args(argparse.Namespace(binned=binned, unbinned=unbinned), n)
    assert bins == expected
    assert (note is not None) == (binned is None and expected is not None)


def test_ten_million_events_from_npy(tmp_path):
    from bayesfit.cli import main

    path = tmp_path / "big.npy"
    np.save(path, simulate(10_000_000, TRUTH, rng=1))
    assert main(["dimuon", "--data", str(path), "--out", str(tmp_path / "o")]) == 0
