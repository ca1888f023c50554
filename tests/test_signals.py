"""Ctrl-C and SIGTERM in every stage of a run: one line, 130 or 143, one complete set, no child left.

Each run is a real process of the command line, signalled when it announces the stage (the
lines on standard error). Ctrl-C goes to the whole process group, as a terminal sends it.
"""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from bayesfit.output.folder import MANIFEST

#: The stages of ``dimuon --sample`` and the words that announce each.
STAGES = {
    "mle": ("maximum likelihood",),
    "map": ("MAP + Laplace", "posterior mode"),
    "nuts": ("NUTS (",),
    "writing": ("writing result.json",),
    "scans": ("profile likelihoods",),
}
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
LAST_LINE = {signal.SIGINT: "bayesfit: interrupted;", signal.SIGTERM: "bayesfit: terminated;"}


def _complete_set(folder):
    assert not [p for p in folder.iterdir() if p.name.startswith((".bayesfit-new", ".bayesfit-old"))], list(folder.iterdir())
    listed = set(json.loads((folder / MANIFEST).read_text())["files"])
    assert {p.name for p in folder.iterdir() if p.is_file()} - {MANIFEST} == listed
    return listed


def _as_from_a_terminal():
    """Give the child Ctrl-C's default action: a shell that starts the test run in the background
    (no job control) makes every process below it ignore SIGINT, as a terminal's program never does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_at(cmd, words, sig, out, after=0.3):
    """Start ``cmd``, send ``sig`` once a line with one of ``words`` appears; return (rc, stderr, children)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "MPLBACKEND": "Agg"},
                            preexec_fn=_as_from_a_terminal)
    lines, children = [], []
    try:
        for line in proc.stderr:
            lines.append(line)
            if any(w in line for w in words):
                time.sleep(after)
                children = psutil.Process(proc.pid).children(recursive=True)
                if sig == signal.SIGINT:
                    os.killpg(proc.pid, sig)  # a terminal's Ctrl-C reaches the whole group
                else:
                    proc.send_signal(sig)
                break
        rest = proc.communicate(timeout=300)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, "".join(lines) + rest, children


def _no_child_left(children):
    time.sleep(1.0)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [(c.pid, c.cmdline()) for c in alive]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("stage", list(STAGES))
def test_dimuon_sample_stopped_in_each_stage(tmp_path, stage, sig):
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text('{"earlier": "run"}')
    (out / MANIFEST).write_text(json.dumps({"files": ["result.json"]}))
    cmd = [sys.executable, "-m", "bayesfit", "dimuon", "--sample", "--events", "5000", "--draws", "300", "--tune",
           "300", "--chains", "2", "--no-progress", "--out", str(out)]
    code, err, children = _signal_at(cmd, STAGES[stage], sig, out)
    assert "Traceback" not in err, err
    if code != 0:  # a run that ended before the signal came is fine too (a fast stage)
        assert code == EXIT[sig], err
        assert err.strip().splitlines()[-1].startswith(LAST_LINE[sig]), err
    listed = _complete_set(out)
    assert listed == {"result.json"} or "posterior.nc" in listed, listed  # the old set, or the whole new one
    if listed == {"result.json"}:
        assert (out / "result.json").read_text() == '{"earlier": "run"}'
    _no_child_left(children)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_toys_on_two_workers_stopped(tmp_path, sig):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "bayesfit", "toys", "dimuon", "--toys", "100000", "--workers", "2",
           "--no-minos", "--out", str(out)]
    code, err, children = _signal_at(cmd, ("toys of",), sig, out, after=4.0)  # the cluster starts, toys run
    assert code == EXIT[sig], err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("bayesfit toys: interrupted;" if sig == signal.SIGINT else "bayesfit: terminated;"), err
    assert not [p for p in out.iterdir() if p.name.startswith((".bayesfit-new", ".bayesfit-old"))]
    _no_child_left(children)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_test_stopped(tmp_path, sig):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "bayesfit", "signal", "--toys", "100000", "--no-smc", "--out", str(out)]
    code, err, children = _signal_at(cmd, ("background-only toys",), sig, out)
    assert code == EXIT[sig], err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(LAST_LINE[sig]), err
    assert not out.exists() or not list(out.iterdir())
    _no_child_left(children)


@pytest.mark.parametrize("which", ["SIGTERM", "SIGINT"])
def test_a_stop_swallowed_by_a_callback_is_delivered_again(which):
    """SIGTERM's exit or Ctrl-C's KeyboardInterrupt raised inside a weak-reference or garbage-collector
    callback is printed and ignored by Python; the CLI sends the signal again."""
    import signal
    import time
    import types

    from bayesfit.cli import _stop_not_swallowed, _Terminated

    sig = getattr(signal, which)
    exc = _Terminated(143) if which == "SIGTERM" else KeyboardInterrupt()
    seen = []
    previous = signal.signal(sig, lambda signum, frame: seen.append(signum))
    try:
        with _stop_not_swallowed():
            sys.unraisablehook(types.SimpleNamespace(exc_value=exc, exc_type=type(exc),
                                                    exc_traceback=None, err_msg=None, object=None))
            for _ in range(100):
                if seen:
                    break
                time.sleep(0.01)
    finally:
        signal.signal(sig, previous)
    assert seen == [sig]
