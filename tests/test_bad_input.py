"""Hostile input on the command line: exit 2, one line naming the file or option, no fit, --out untouched.

Every case listed in the bad-input issue and in the README is here. The fit itself is
replaced by a function that fails the test, so a case that reaches any fitting is caught, and
``--out`` holds an earlier run's file that must survive byte for byte.
"""

import re

import numpy as np
import pytest

from bayesfit.cli import main


def _csv(text):
    return lambda d: _write(d / "data.csv", text)


def _write(path, text):
    path.write_text(text)
    return path


def _bytes(name, content):
    def make(d):
        (d / name).write_bytes(content)
        return d / name

    return make


def _npy(name, array):
    def make(d):
        np.save(d / name, array)
        return d / name

    return make


def _npz_as_npy(d):
    np.savez(d / "arch.npz", a=np.ones(3), b=np.ones(2))
    (d / "arch.npz").rename(d / "arch.npy")
    return d / "arch.npy"


def _values(name, values):
    def make(d):
        np.savetxt(d / name, values)
        return d / name

    return make


_relbw = np.random.default_rng(1).uniform(0.5, 5.0, 50)
_relbw[3] = 1e308

# (case, model, data maker or None, extra options, pattern the one line must match)
CASES = [
    # the tracebacks
    ("x = ±1e308", "weighted-mean", _csv("x,sigma\n1e308,1\n-1e308,1\n1,1\n"), [], r"entry 1: 1e\+308 is too large"),
    ("x = 1e308", "weighted-mean", _csv("x,sigma\n1e308,1\n1,1\n2,1\n"), [], r"column 'x', entry 1: 1e\+308"),
    ("σ = 1e308", "weighted-mean", _csv("x,sigma\n1,1e308\n2,1\n3,1\n"), [], r"column 'sigma', entry 1: 1e\+308"),
    ("σ = 1e-300", "weighted-mean", _csv("x,sigma\n1,1e-300\n2,1\n3,1\n"), [], r"σ = 1e-300 is below"),
    ("v = 1e308", "line", _csv("v,x,sigma\n1e308,1,0.1\n1,2,0.1\n2,3,0.1\n3,4,0.1\n"), [], r"column 'v', entry 1"),
    ("line x = 1e308", "line", _csv("v,x,sigma\n0,1e308,0.1\n1,2,0.1\n2,3,0.1\n3,4,0.1\n"), [], r"column 'x', entry 1"),
    ("v = 1e200", "line", _csv("v,x,sigma\n1e200,1,0.1\n1,2,0.1\n2,3,0.1\n3,4,0.1\n"), [], r"1e\+200 is too large"),
    ("relbw value 1e308", "relbw", _values("x.txt", _relbw), [], r"beyond ±1e\+50 \(the first 1e\+308\)"),
    ("empty .npy", "dimuon", _bytes("empty.npy", b""), [], r"not a readable \.npy file"),
    (".npz renamed .npy", "dimuon", _npz_as_npy, [], r"an \.npz archive"),
    ("--seed -1", "weighted-mean", None, ["--seed", "-1"], r"argument --seed: must be from 0"),
    ("--seed 2**64", "weighted-mean", None, ["--seed", str(2**64)], r"argument --seed: must be from 0"),
    # the other messages
    ("complex .npy", "dimuon", _npy("c.npy", np.ones(5) + 1j), [], r"complex numbers"),
    ("UTF-8 BOM", "weighted-mean", _bytes("bom.csv", "\ufeffx,s\n1,1\n2,1\n".encode()), [],
     r"missing column\(s\) 'sigma' \(the header has 'x', 's'\)"),
    ("unknown option", "line", None, ["--bogus"], r"unrecognized arguments: --bogus"),
    ("--draws 0", "line", None, ["--draws", "0"], r"argument --draws: must be from 1"),
    ("identical values", "zpeak", _values("same.txt", np.full(200, 91.0)), [], r"only 1 distinct value"),
    # sizes that exhaust memory before the fit would say anything
    ("--draws 1e10", "line", None, ["--draws", "10000000000"], r"argument --draws"),
    ("--events 1e10", "dimuon", None, ["--events", "10000000000"], r"argument --events"),
    ("--bins 1e8", "dimuon", None, ["--bins", "100000000"], r"argument --bins"),
    ("--binned 0", "dimuon", None, ["--binned", "0"], r"argument --binned"),
    ("--chains 1000", "line", None, ["--chains", "1000"], r"argument --chains"),
    # the README's list
    ("missing file", "weighted-mean", lambda d: d / "nothing.csv", [], r"no such file"),
    ("folder as data", "dimuon", lambda d: d, [], r"not a regular file"),
    ("missing column", "line", _csv("v,x\n0,1\n"), [], r"missing column\(s\) 'sigma'"),
    ("non-numeric entry", "weighted-mean", _csv("x,sigma\n1,0.1\nabc,0.1\n"), [], r"line 3, column 'x': 'abc'"),
    ("non-numeric mass", "dimuon", _bytes("m.csv", b"M\n10.5\nabc\n"), [], r"line 3: 'abc' is not a number"),
    ("σ = 0", "weighted-mean", _csv("x,sigma\n1,0.1\n2,0\n"), [], r"entry 2: uncertainties must be > 0"),
    ("too few points", "line", _csv("v,x,sigma\n0,1,0.1\n1,2,0.1\n"), [], r"2 data point\(s\) for 2 parameter"),
    ("too few events", "dimuon", _values("few.txt", np.linspace(10.3, 10.7, 5)), [], r"only 5 events"),
    ("empty window", "dimuon", _values("far.txt", np.full(50, 20.0)), [], r"no events in the window"),
    ("LO ≥ HI", "dimuon", None, ["--range", "10", "9"], r"--range: need finite lo < hi"),
    ("--range inf", "dimuon", None, ["--range", "9", "inf"], r"argument --range: need a finite number"),
    ("binary file", "dimuon", _bytes("bin.txt", bytes(range(256))), [], r"cannot read"),
    ("empty .csv", "weighted-mean", _csv(""), [], r"the file is empty"),
]

# The cases of the issue on silent wrong answers, run as a user runs them: ``python -m bayesfit``.
CLI_CASES = [
    # answers that were silently wrong (issue 31)
    ("comma decimals, zpeak", "zpeak", _bytes("comma.csv", b"M\n91,234\n90,127\n"), [],
     r"line 2: 2 comma-separated fields, but the header names 1 \('M'\); decimals must be written with a point"),
    ("comma decimals, dimuon", "dimuon", _bytes("comma.csv", b"M\n10,5\n10,6\n"), [], r"line 2: 2 comma-separated"),
    ("comma decimals in a table", "weighted-mean", _csv("x,sigma\n1,5,0,1\n2,0.1\n"), [],
     r"line 2: 4 comma-separated fields, but the header names 2"),
    ("digit grouping 1_0.5", "dimuon", _bytes("u.txt", b"10.5\n1_0.5\n"), [], r"line 2: '1_0.5' is not a number"),
    ("digit grouping in a table", "weighted-mean", _csv("x,sigma\n1_0,1\n2,1\n3,1\n"), [],
     r"line 2, column 'x': '1_0' is not a number"),
    ("two columns in a .txt", "dimuon", _bytes("two.txt", b"10.5 1\n10.6 2\n"), [], r"line 1: 2 values on one line"),
    ("--truth twice", "toys", None, ["dimuon", "--truth", "n=3", "n=4"], r"--truth: n is given twice"),
    ("--range 1e-300 2e-300", "dimuon", None, ["--range", "1e-300", "2e-300"],
     r"--range: \[1e-300, 2e-300\] is too narrow for double precision"),
    ("--range -1e60 1e60", "dimuon", None, ["--range", "-1e60", "1e60"], r"--range: \[-1e\+60, 1e\+60\] reaches beyond"),
    ("--range 1_0 11", "dimuon", None, ["--range", "1_0", "11"], r"argument --range: '1_0' is not a number"),
    # errors that came as a second line, after a warning or a line of progress (issue 31)
    ("all-NaN masses", "dimuon", _values("nan.txt", np.full(20, np.nan)), [], r"no events in the window"),
    ("--truth foo=3", "toys", None, ["dimuon", "--truth", "foo=3"], r"--truth: truth names unknown parameter\(s\) foo"),
    ("--truth outside its bounds", "toys", None, ["dimuon", "--truth", "n=1000"], r"--truth: truth n = 1000 is outside"),
    ("signal --data empty", "signal", _bytes("e.txt", b""), [], r"at least two masses \(got 0\)"),
    ("signal --data negative", "signal", _values("neg.txt", [-1.0, 5.0, 6.0]), [], r"window \[0, 200\]"),
    ("signal --data outside", "signal", _values("far.txt", [5.0, 300.0]), [], r"window \[0, 200\]"),
    ("signal --data one event", "signal", _values("one.txt", [5.0]), [], r"at least two masses \(got 1\)"),
]


@pytest.fixture
def no_fitting(monkeypatch):
    """Replace the engine's fits by a failure: bad input must stop before them."""
    import bayesfit.api

    def refuse(*args, **kwargs):
        raise AssertionError("a fit started on bad input")

    monkeypatch.setattr(bayesfit.api, "run_fits", refuse)


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's errors
        code = stop.code
    return code, capsys.readouterr().err


def _cli(argv, cwd=None):
    """Run ``python -m bayesfit ARGV``; return (exit status, standard error)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "bayesfit", *argv], capture_output=True, text=True, timeout=120,
                          cwd=cwd)
    return proc.returncode, proc.stderr


def _bad_input_gives_one_line(tmp_path, run, command, make, options, pattern):
    """Run a case with ``run(argv) -> (status, stderr)``: exit 2, one line naming the file or option, --out untouched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text('{"earlier": "run"}')
    argv = [command, *options, "--out", str(out)]
    data = None
    if make is not None:
        (tmp_path / "in").mkdir()
        data = make(tmp_path / "in")
        argv += ["--data", str(data)]
    code, err = run(argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]
    # names the file, or the option at fault
    assert (data is not None and str(data) in lines[0]) or re.search(r"--[a-z]", lines[0]), lines[0]
    assert [p.name for p in out.iterdir()] == ["result.json"]
    assert (out / "result.json").read_text() == '{"earlier": "run"}'


@pytest.mark.parametrize("case,command,make,options,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_one_line_exit_2(tmp_path, capsys, no_fitting, case, command, make, options, pattern):
    _bad_input_gives_one_line(tmp_path, lambda argv: _run(argv, capsys), command, make, options, pattern)


@pytest.mark.parametrize("case,command,make,options,pattern", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_input_through_the_command_line(tmp_path, case, command, make, options, pattern):
    """The same contract from a real process, ``python -m bayesfit``."""
    _bad_input_gives_one_line(tmp_path, _cli, command, make, options, pattern)


def test_out_naming_a_file(tmp_path, capsys, no_fitting):
    target = tmp_path / "afile"
    target.write_text("mine")
    code, err = _run(["weighted-mean", "--out", str(target)], capsys)
    assert code == 2 and re.fullmatch(r".*--out .*afile: exists and is not a folder\n", err)
    assert target.read_text() == "mine"


def test_out_below_a_file(tmp_path, capsys, no_fitting):
    (tmp_path / "afile").write_text("mine")
    code, err = _run(["weighted-mean", "--out", str(tmp_path / "afile" / "sub")], capsys)
    assert code == 2 and "is not a folder" in err and len(err.strip().splitlines()) == 1


def test_out_not_writable(tmp_path, capsys, no_fitting, monkeypatch):
    """An unwritable folder is refused before the fit (os.access is faked: tests may run as root)."""
    import os

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(tmp_path) else real(p, mode, **kw))
    code, err = _run(["weighted-mean", "--out", str(tmp_path / "new")], capsys)
    assert code == 2 and f"{tmp_path} is not writable" in err
    assert not (tmp_path / "new").exists()


def test_the_same_data_fit_after_the_guards(tmp_path):
    """The guards leave ordinary data alone: values near the limits still fit."""
    data = tmp_path / "d.csv"
    data.write_text("x,sigma\n1e90,1e89\n2e90,1e89\n3e90,2e89\n")
    assert main(["weighted-mean", "--data", str(data), "--out", str(tmp_path / "o")]) == 0


def test_negative_range_in_exponent_notation_is_read(tmp_path, no_fitting):
    """``--range -1e1 11`` is a window, not an unknown option (argparse's reading of "-1e1")."""
    with pytest.raises(AssertionError, match="a fit started"):  # it got as far as the fit
        main(["dimuon", "--range", "-1e1", "11", "--events", "1000", "--out", str(tmp_path / "o")])


def test_empty_out_is_refused(tmp_path):
    code, err = _cli(["weighted-mean", "--out", ""], cwd=tmp_path)
    assert code == 2 and "argument --out: an empty path" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("below", [False, True])
def test_out_through_a_symlink_loop_is_refused_before_the_fit(tmp_path, below):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    out = tmp_path / "loop" / "sub" if below else tmp_path / "loop"
    code, err = _cli(["weighted-mean", "--out", str(out)])
    assert code == 2 and "is a symbolic link to nothing" in err and len(err.strip().splitlines()) == 1


def test_a_garbage_checkpoint_is_named_in_one_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "toys-checkpoint.jsonl").write_text("this is not JSON\n")
    before = sorted(p.name for p in out.iterdir())
    code, err = _cli(["toys", "dimuon", "--toys", "5", "--resume", "--out", str(out)])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "toys-checkpoint.jsonl: not the checkpoint of a bayesfit toy study" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_an_unreachable_scheduler_is_bad_input(tmp_path):
    """Nothing listens on the loopback's port 9: exit 2 and one line, within seconds."""
    import time

    t0 = time.perf_counter()
    code, err = _cli(["toys", "dimuon", "--toys", "5", "--scheduler", "tcp://127.0.0.1:9",
                      "--out", str(tmp_path / "out")])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 5 s" in err
    assert time.perf_counter() - t0 < 20  # the 5 s wait and the command's start
