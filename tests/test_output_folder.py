"""The output folder holds one complete set of files: the old run's or the new one's."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import bayesfit as bf
from bayesfit.output import figures
from bayesfit.output import folder as output_folder

DATA = {"x": [0.5, 0.2, 0.3], "sigma": [0.25, 0.1, 0.1]}


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _check_one_complete_set(folder: Path, foreign=()):
    assert not [p for p in folder.iterdir() if p.name.startswith(".bayesfit-new") or p.name.startswith(".bayesfit-old")]
    listed = json.loads((folder / output_folder.MANIFEST).read_text())["files"]
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name not in (output_folder.MANIFEST, *foreign)}
    assert present == set(listed)


@pytest.fixture(scope="module")
def fits():
    model = bf.models.weighted_mean()
    kw = dict(log=None, draws=200, tune=200, chains=2, seed=1, progressbar=False)
    return bf.fit(model, DATA, sample=True, **kw), bf.fit(model, DATA, **kw)


def test_run_without_posterior_removes_the_old_posterior(tmp_path, fits):
    sampled, plain = fits
    sampled.save(tmp_path)
    assert (tmp_path / "posterior.nc").exists()
    (tmp_path / "notes.txt").write_text("mine")  # not bayesfit's: must stay
    written = plain.save(tmp_path)
    assert not (tmp_path / "posterior.nc").exists()
    assert not list(tmp_path.glob("posterior_marginals.*"))
    assert {p.name for p in written} == {p.name for p in tmp_path.iterdir()} - {"notes.txt", output_folder.MANIFEST}
    assert (tmp_path / "notes.txt").read_text() == "mine"
    _check_one_complete_set(tmp_path, foreign=["notes.txt"])


def test_failure_while_writing_leaves_the_old_set(tmp_path, fits, monkeypatch):
    sampled, plain = fits
    sampled.save(tmp_path)
    before = _snapshot(tmp_path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(figures, "save_figure", broken)
    with pytest.raises(OSError, match="disk full"):
        plain.save(tmp_path)
    assert _snapshot(tmp_path) == before
    _check_one_complete_set(tmp_path)


@pytest.mark.parametrize("fail_at", [1, 3, 9])
def test_interrupt_while_swapping_restores_the_old_set(tmp_path, fits, monkeypatch, fail_at):
    sampled, plain = fits
    sampled.save(tmp_path)
    before = _snapshot(tmp_path)
    calls = {"n": 0}
    original = Path.replace

    def flaky(self, target):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt
        return original(self, target)

    monkeypatch.setattr(Path, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        plain.save(tmp_path)
    monkeypatch.setattr(Path, "replace", original)
    assert _snapshot(tmp_path) == before
    _check_one_complete_set(tmp_path)


def test_signal_during_the_swap_is_held_until_the_set_is_whole(tmp_path, fits, monkeypatch):
    """SIGTERM arriving while files are being swapped is delivered after the swap and clean-up."""
    sampled, plain = fits
    sampled.save(tmp_path)
    calls = {"n": 0}
    original = Path.replace

    def signalled(self, target):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, target)

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        monkeypatch.setattr(Path, "replace", signalled)
        with pytest.raises(SystemExit) as stop:
            plain.save(tmp_path)
    finally:
        signal.signal(signal.SIGTERM, previous)
    monkeypatch.setattr(Path, "replace", original)
    assert stop.value.code == 143
    assert not (tmp_path / "posterior.nc").exists()  # the new set (no posterior) stands whole
    _check_one_complete_set(tmp_path)


def test_writable_out_under_read_only_parent(tmp_path, fits):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    out = tmp_path / "parent" / "out"
    out.mkdir(parents=True)
    (tmp_path / "parent").chmod(0o555)
    try:
        fits[1].save(out)
        _check_one_complete_set(out)
    finally:
        (tmp_path / "parent").chmod(0o755)


@pytest.mark.parametrize("sig,delay", [(signal.SIGTERM, 1.0), (signal.SIGTERM, 4.0), (signal.SIGINT, 4.0),
                                       (signal.SIGTERM, 6.0)])
def test_signal_to_a_real_run_leaves_old_or_new_set(tmp_path, fits, sig, delay):
    out = tmp_path / "out"
    fits[0].save(out)
    old = _snapshot(out)
    cmd = [sys.executable, "-m", "bayesfit", "weighted-mean", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        assert proc.returncode in (130, 143, -sig), err
        assert "Traceback" not in err
    if _snapshot(out) != old:  # the new set: the run finished, or was stopped after the swap
        assert not (out / "posterior.nc").exists(), err
    _check_one_complete_set(out)


def test_ctrl_c_while_sampling_stops_with_one_line(tmp_path, fits):
    """nutpie catches SIGINT and returns a partial trace: the run still stops, with one line."""
    out = tmp_path / "out"
    fits[0].save(out)
    old = _snapshot(out)
    cmd = [sys.executable, "-m", "bayesfit", "weighted-mean", "--sample", "--no-progress", "--draws", "1000000",
           "--chains", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # wait until the sampler runs
        lines.append(line)
        if "NUTS (" in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=300)[1], None
    err = "".join(lines) + rest
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert rest.strip().splitlines()[-1].startswith("bayesfit: interrupted; the output folder holds one complete set")
    assert _snapshot(out) == old
    _check_one_complete_set(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="figures are saved in a forked child on Linux only")
def test_figures_of_a_failed_child_are_saved_here(tmp_path, fits):
    """The child that saves the figures while the scans run fails: this process saves them."""
    sampled, _ = fits
    sampled.save(tmp_path / "a")
    parent, saved, fork = os.getpid(), figures.save_figure, figures.save_in_child
    children = []

    def failing_in_child(fig, folder, stem):
        if os.getpid() != parent:
            os._exit(3)
        return saved(fig, folder, stem)

    def recorded_fork(figures, folder):
        children.append(fork(figures, folder))
        return children[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures, "save_figure", failing_in_child)
        mp.setattr(figures, "save_in_child", recorded_fork)
        sampled.save(tmp_path / "b")
    assert children and children[0] is not None  # a child was forked, and failed
    assert {p.name for p in (tmp_path / "b").iterdir()} == {p.name for p in (tmp_path / "a").iterdir()}
    _check_one_complete_set(tmp_path / "b")


def test_a_saved_fit_loads_back_with_its_covariances_model_and_posterior(tmp_path, fits):
    sampled, _ = fits
    sampled.save(tmp_path)
    loaded = bf.load(tmp_path)
    assert loaded.names == sampled.names and "model.pkl" in {p.name for p in tmp_path.iterdir()}
    for name in sampled.names:
        assert loaded[name] == sampled[name]
    np.testing.assert_array_equal(loaded.covariance("hesse"), sampled.mle.covariance)
    np.testing.assert_array_equal(loaded.covariance("laplace"), sampled.map.covariance)
    draws = np.stack([np.asarray(sampled.idata.posterior[n]).ravel() for n in sampled.names], axis=1)
    np.testing.assert_allclose(loaded.covariance("posterior"), np.atleast_2d(np.cov(draws, rowvar=False)))
    problem, _ = loaded.model.prepare(DATA)  # the model itself came back: it binds data and evaluates
    assert problem.nll(loaded.values) == sampled.problem.nll(sampled.mle.values)
    assert loaded.idata.posterior["mean"].shape == sampled.idata.posterior["mean"].shape
    assert "mean" in repr(loaded) and loaded.to_dict() == json.loads((tmp_path / "result.json").read_text())


def test_loading_a_folder_without_a_fit_says_so(tmp_path):
    with pytest.raises(bf.InputError, match="no result.json of a bayesfit fit"):
        bf.load(tmp_path)
