"""The command line: outputs, result.json shape, and bad input (exit 2, nothing written)."""

import json

import numpy as np

import pytest

from bayesfit.cli import main

QUICK = ["--draws", "300", "--tune", "300", "--chains", "2", "--no-progress"]


def _keys_filled(obj, path="result"):
    """Yield the paths of every null in a JSON structure."""
    if obj is None:
        yield path
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _keys_filled(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _keys_filled(v, f"{path}[{i}]")


def test_line_sample_writes_everything(tmp_path, capsys):
    out = tmp_path / "line"
    assert main(["line", "--sample", "--out", str(out), *QUICK]) == 0
    names = {p.name for p in out.iterdir()}
    for stem in ("line_fit", "pairs", "posterior_marginals", "profiles", "contours", "ppc"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert {"result.json", "summary.md", "posterior.nc"} <= names
    result = json.loads((out / "result.json").read_text())
    assert result["model"] == "line_fit"
    assert result["n_data"] == 4
    assert result["parameter_order"] == ["a", "b"]
    assert list(_keys_filled({k: result[k] for k in ("parameters", "correlation", "gof")})) == []
    a = result["parameters"]["a"]
    assert set(a) >= {"mle", "hesse", "minos", "map", "laplace_sd", "posterior"}
    assert set(a["posterior"]) == {"mean", "sd", "hdi_68", "r_hat", "ess_bulk"}
    assert a["mle"] == pytest.approx(0.80143, rel=1e-4)
    assert len(result["correlation"]["posterior"]) == 2
    assert result["gof"]["ndf"] == 2
    assert {"mle", "map_laplace", "nuts", "total"} <= set(result["timing_s"])
    assert "divergences" in result["diagnostics"]
    ppc = result["ppc"]
    assert ppc["draws"] == 600 and 0 <= ppc["p_value"] <= 1 and ppc["p_value_error"] > 0
    text = capsys.readouterr().out
    assert "MINOS" in text and "post. mean" in text and "posterior-predictive χ² check: p = " in text


def test_weighted_mean_without_sampling(tmp_path):
    out = tmp_path / "wm"
    assert main(["weighted-mean", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    p = result["parameters"]["mean"]
    assert p["posterior"] is None and result["correlation"]["posterior"] is None
    assert p["mle"] == pytest.approx(0.268519, rel=1e-5)
    assert (out / "weighted_mean.png").exists() and not (out / "posterior.nc").exists()


def test_user_data_file(tmp_path):
    data = tmp_path / "m.csv"
    data.write_text("x,sigma\n1.0,0.5\n2.0,0.5\n")
    out = tmp_path / "o"
    assert main(["weighted-mean", "--data", str(data), "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["parameters"]["mean"]["mle"] == pytest.approx(1.5, rel=1e-6)
    assert result["parameters"]["mean"]["hesse"] == pytest.approx(0.5 / 2**0.5, rel=1e-4)


BAD = [
    ("weighted-mean", None, "no such file"),
    ("weighted-mean", "x,s\n1,0.1\n2,0.1\n", r"missing column\(s\) 'sigma'"),
    ("weighted-mean", "x,sigma\n1,0.1\nabc,0.1\n", r"line 3, column 'x': 'abc' is not a number"),
    ("weighted-mean", "x,sigma\n1,0.1\n2,0\n", r"column 'sigma', entry 2: uncertainties must be > 0"),
    ("weighted-mean", "x,sigma\n1,0.1\n2,-1\n", r"uncertainties must be > 0 \(got -1\)"),
    ("weighted-mean", "x,sigma\nnan,0.1\n2,1\n", r"line 2, column 'x': nan is not a finite number"),
    ("weighted-mean", "x,sigma\n1,0.1\n", r"1 data point\(s\) for 1 parameter"),
    ("line", "v,x,sigma\n0,1,0.1\n1,2,0.1\n", r"2 data point\(s\) for 2 parameter"),
    ("line", "v,x\n0,1\n", r"missing column\(s\) 'sigma'"),
    ("line", "v,x,sigma\n0,1,0.1\n1,2\n2,3,0.1\n", r"line 3: no value in column 'sigma'"),
]


@pytest.mark.parametrize("command,content,message", BAD)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, command, content, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "out"
    assert main([command, "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err), err
    assert str(path) in err
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_help_lists_models(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "weighted-mean" in text and "line" in text


def test_bad_option_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["line", "--draws", "0"])
    assert exc.value.code == 2


def test_cli_and_python_api_give_the_same_fit(tmp_path):
    """``bf.fit`` from a notebook equals the command line on the same data and options."""
    import numpy as np

    import bayesfit as bf
    from bayesfit.models.dimuon_model import TRUTH

    data = bf.models.dimuon().simulate(TRUTH, 2_000, rng=5)
    np.save(tmp_path / "m.npy", data)
    out = tmp_path / "cli"
    # 400 bins: the di-muon binned structure other tests compile too (one compilation per session)
    assert main(["dimuon", "--data", str(tmp_path / "m.npy"), "--binned", "400", "--out", str(out)]) == 0
    cli = json.loads((out / "result.json").read_text())
    api = bf.fit(bf.models.dimuon(), data, binned=400, log=None).to_dict()
    assert cli["parameter_order"] == api["parameter_order"]
    for name in api["parameter_order"]:
        for key in ("mle", "hesse", "minos", "map", "laplace_sd"):
            assert cli["parameters"][name][key] == pytest.approx(api["parameters"][name][key], rel=1e-9), (name, key)
    assert cli["gof"] == pytest.approx(api["gof"])
    assert cli["meta"]["likelihood"] == api["meta"]["likelihood"] == "binned, 400 bins"


@pytest.mark.parametrize("signalled, code", [(KeyboardInterrupt(), 130), (SystemExit(143), 143)])
def test_a_signal_inside_compiled_code_ends_with_the_one_line(monkeypatch, capsys, signalled, code):
    """A Ctrl-C or SIGTERM whose handler raised inside a numba or C++ callback arrives as SystemError."""
    import bayesfit.cli as cli

    def compiled_callback(argv):
        try:
            raise signalled
        except BaseException as err:
            raise SystemError("CPUDispatcher(<function kernel>) returned a result with an exception set") from err

    monkeypatch.setattr(cli, "_run", compiled_callback)
    try:
        status = cli.main(["dimuon"])
    except SystemExit as stop:
        status = stop.code
    assert status == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(("bayesfit: interrupted;", "bayesfit: terminated;")), err


MODEL_FILE = '''
import bayesfit as bf

mu = bf.Parameter("mu", 1.0, 0.5, 1.5)
width = bf.Parameter("width", 0.1, 0.02, 0.5, constraint=(0.1, 0.01))
model = bf.WindowModel((0.0, 2.0), [bf.Gaussian(mu, width), bf.Uniform()],
                       fractions=[bf.Parameter("f", 0.5, 0.01, 0.99)], name="my_peak")
'''


def _peak_file(path, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(1.0, 0.1, 300), rng.uniform(0, 2, 300)])
    path.write_text("M\n" + "\n".join(f"{v:.6f}" for v in x) + "\n")
    return x


def test_run_fits_a_users_model_file_like_the_python_api(tmp_path, capsys):
    import bayesfit as bf

    (tmp_path / "mymodel.py").write_text(MODEL_FILE)
    x = _peak_file(tmp_path / "my.csv", 3)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "mymodel.py"), "--data", str(tmp_path / "my.csv"), "--out", str(out),
                 "--no-minos", "--mle-only"]) == 0
    doc = json.loads((out / "result.json").read_text())
    assert doc["model"] == "my_peak" and doc["parameters"]["width"]["role"] == "constrained"
    assert (out / "my_peak_fit.png").is_file()
    namespace = {}
    exec(MODEL_FILE, namespace)
    res = bf.fit(namespace["model"], np.round(x, 6), log=None, minos=False, bayesian=False)
    assert doc["parameters"]["mu"]["mle"] == pytest.approx(res["mu"].mle, rel=1e-9)
    assert "width ᶜ" in capsys.readouterr().out


def test_run_says_what_is_wrong_with_a_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import bayesfit as bf\nmodel = bf.Parameter('x', 5, 0, 1)\n")
    assert main(["run", str(bad), "--data", "x.csv", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.py: the model file failed (line 2): ValueError: parameter x: start 5 is not inside" in err
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["run", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "define `model`" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.py")]) == 2
    assert "no such model file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_simultaneous_command_line_takes_one_file_per_category(tmp_path, capsys):
    (tmp_path / "two.py").write_text(
        "import bayesfit as bf\n"
        "mu = bf.Parameter('mu', 1.0, 0.5, 1.5)\n"
        "a = bf.WindowModel((0, 2), [bf.Gaussian(mu, bf.Parameter('sa', 0.1, 0.02, 0.5)), bf.Uniform()],"
        " fractions=[bf.Parameter('fa', 0.5, 0.01, 0.99)], name='a')\n"
        "b = bf.WindowModel((0, 2), [bf.Gaussian(mu, bf.Parameter('sb', 0.1, 0.02, 0.5)), bf.Uniform()],"
        " fractions=[bf.Parameter('fb', 0.5, 0.01, 0.99)], name='b')\n"
        "model = bf.Simultaneous({'barrel': a, 'endcap': b}, name='two')\n")
    _peak_file(tmp_path / "b.csv", 1)
    _peak_file(tmp_path / "e.csv", 2)
    base = ["run", str(tmp_path / "two.py"), "--out", str(tmp_path / "out"), "--no-minos", "--mle-only"]
    assert main(base + ["--data", f"barrel={tmp_path / 'b.csv'}"]) == 2
    assert "missing: endcap" in capsys.readouterr().err
    assert main(base + ["--data", f"forward={tmp_path / 'b.csv'}"]) == 2
    assert "no category 'forward'" in capsys.readouterr().err
    assert main(base + ["--data", f"barrel={tmp_path / 'none.csv'}", "--data", f"endcap={tmp_path / 'e.csv'}"]) == 2
    assert capsys.readouterr().err.strip() == f"bayesfit run: error: {tmp_path / 'none.csv'}: no such file"
    assert main(base + ["--data", f"barrel={tmp_path / 'b.csv'}", "--data", f"endcap={tmp_path / 'e.csv'}"]) == 0
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert set(doc["gof"]["categories"]) == {"barrel", "endcap"}
    assert {"barrel_fit.png", "endcap_fit.png"} <= {p.name for p in (tmp_path / "out").iterdir()}
    assert "barrel: χ² / ndf" in capsys.readouterr().out


def test_mle_only_fits_without_compiling_and_refuses_sampling(tmp_path, capsys):
    out = tmp_path / "z"
    assert main(["zpeak", "--mle-only", "--no-minos", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "maximum likelihood (value ± HESSE error):" in captured.err  # shown before anything else
    assert "compiling" not in captured.err and "MAP" not in captured.out
    doc = json.loads((out / "result.json").read_text())
    assert doc["parameters"]["M0"]["map"] is None and doc["correlation"]["laplace"] is None
    assert doc["parameters"]["M0"]["mle"] == pytest.approx(90.81, abs=0.01)
    assert main(["zpeak", "--mle-only", "--sample", "--out", str(tmp_path / "s")]) == 2
    assert "--mle-only fits the maximum likelihood alone; --sample needs the Bayesian fits" in capsys.readouterr().err
