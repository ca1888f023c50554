"""The exact binned likelihood against the unbinned one, and when it is switched on."""

import numpy as np
import pytest

import bayesfit as bf
from bayesfit.engine.mle import fit_mle
from bayesfit.models.dimuon_model import NAMES, START, simulate
from bayesfit.modeling.window import BINNED_ABOVE, FIT_BINS

TRUTH = [START[k] for k in NAMES]


def Dimuon(data, fit_bins=None):
    return bf.models.dimuon().bind(data, fit_bins=fit_bins)


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
    fits = [bf.fit(bf.models.dimuon(), data, binned=b, sample=True, log=None, **quick_nuts)
            for b in (False, 400)]
    for name in NAMES:
        a, b = (f.comparison[name]["posterior"] for f in fits)
        # short chains of a posterior with long tails (n up to its bound drags α, slope, f_sig):
        # the means agree within a fifth of a σ or within four Monte-Carlo errors sd/√ESS
        mcse = np.hypot(a["sd"] / np.sqrt(a["ess_bulk"]), b["sd"] / np.sqrt(b["ess_bulk"]))
        assert abs(a["mean"] - b["mean"]) < max(0.2 * a["sd"], 4 * mcse), name
    binned = fits[1]
    assert binned.problem.meta["likelihood"] == "binned, 400 bins"
    for name, c in binned.comparison.items():
        assert abs(c["map_minus_mle_in_hesse"]) < 0.01, name
        assert c["laplace_over_hesse"] == pytest.approx(1.0, abs=0.02), name


@pytest.mark.parametrize("binned,n,expected", [
    (None, BINNED_ABOVE - 1, None),
    (None, BINNED_ABOVE, FIT_BINS),
    (False, 2 * BINNED_ABOVE, None),
    (True, 200, FIT_BINS),
    (250, 200, 250),
])
def test_binning_choice(binned, n, expected):
    data = simulate(n, TRUTH, rng=3)
    problem, notes = bf.models.dimuon().prepare(data, binned=binned)
    assert problem.fit_bins == expected
    assert any("binned likelihood" in t for t in notes) == (binned is None and expected is not None)


def test_binning_refuses_one_bin():
    with pytest.raises(bf.InputError, match="at least 2 bins"):
        bf.models.dimuon().prepare(simulate(200, TRUTH, rng=3), binned=1)


def test_ten_million_events_from_npy(tmp_path):
    from bayesfit.cli import main

    path = tmp_path / "big.npy"
    np.save(path, simulate(10_000_000, TRUTH, rng=1))
    assert main(["dimuon", "--data", str(path), "--out", str(tmp_path / "o")]) == 0
