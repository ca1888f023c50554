"""A clean install: one top-level package, a CLI that works anywhere, no import side effects."""

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def _run(args, cwd, env=None, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_help_works_beside_a_foreign_models_folder(tmp_path):
    """A user's own ``models/`` folder in the working directory must not shadow ours."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("raise ImportError('the user folder was imported')\n")
    proc = _run(["-m", "bayesfit", "--help"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in ("dimuon", "zpeak", "relbw", "weighted-mean", "line"):
        assert command in proc.stdout


def test_import_has_no_side_effects(tmp_path):
    code = textwrap.dedent("""
        import warnings
        import matplotlib, pymc, arviz, iminuit, pytensor, nutpie   # their own import effects first
        before_filters = list(warnings.filters)
        backend = matplotlib.get_backend()
        import bayesfit as bf
        import bayesfit.output.report, bayesfit.output.plots, bayesfit.api, bayesfit.models
        bf.WindowModel, bf.fit, bf.CrystalBall
        assert matplotlib.get_backend() == backend, (matplotlib.get_backend(), backend)
        assert list(warnings.filters) == before_filters
        print("clean")
    """)
    proc = _run(["-c", code], cwd=tmp_path, env={"MPLBACKEND": "svg"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("clean")


def test_import_is_cheap(tmp_path):
    proc = _run(["-c", "import sys, bayesfit; print('pymc' in sys.modules, 'pytensor' in sys.modules)"],
                cwd=tmp_path)
    assert proc.stdout.split() == ["False", "False"]


def test_wheel_installs_only_bayesfit(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("bayesfit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"bayesfit"}
    for module in ("dimuon_model", "zpeak_model", "relbw_model", "weighted_mean_model", "line_fit_model"):
        assert f"bayesfit/models/{module}.py" in names
    assert "bayesfit/data/cms_upsilon_2011A.csv" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata and "Requires-Dist: pytensor" in metadata


def test_third_party_model_through_entry_point(tmp_path):
    """A package that declares a ``bayesfit.models`` entry point adds a CLI subcommand."""
    # The model is conftest's Gaussian peak, declared here as a third party would: the session
    # compiles that structure for the toy tests anyway, and this subprocess loads it.
    (tmp_path / "my_peak_model.py").write_text(textwrap.dedent('''
        """A third-party Gaussian peak."""
        import bayesfit as bf

        COMMAND = "my-peak"
        HELP = "a Gaussian peak (third-party example)"

        def my_peak(window=(-8.0, 8.0), nbins=50):
            """Return the model.

            Parameters
            ----------
            window : (float, float)
                Fit window.
            nbins : int
                Plot bins.
            """
            mu = bf.Parameter("mu", 0.0, -1.0, 1.0)
            sigma = bf.Parameter("sigma", 1.0, 0.5, 2.0)
            return bf.WindowModel(window, [bf.Gaussian(mu, sigma)], name="my_peak", nbins=nbins)

        def default_data(model, *, seed=None):
            return model.simulate([0.2, 1.1], 1000, seed), {"source": "simulated"}
    '''))
    info = tmp_path / "my_peak-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-peak\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[bayesfit.models]\nmy-peak = my_peak_model\n")
    env = {"PYTHONPATH": str(tmp_path)}
    proc = _run(["-m", "bayesfit", "--help"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "my-peak" in proc.stdout and "third-party example" in proc.stdout
    proc = _run(["-m", "bayesfit", "my-peak", "--out", str(tmp_path / "out")], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "result.json").exists()


def test_readme_own_model_example(tmp_path):
    """The README's 'your own model' block runs as printed and is at most 15 lines."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Your own model", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0].strip("\n")
    assert len(code.splitlines()) <= 15
    proc = _run(["-c", code], cwd=tmp_path, env={"MPLBACKEND": "Agg"}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]  # no spam
    assert (tmp_path / "my-fit" / "result.json").exists()
    assert (tmp_path / "my-fit" / "posterior.nc").exists()


def test_readme_is_for_users():
    """The README stays a user's page: short, its two commands with the tested versions, its links alive."""
    import re

    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    commands = [line for line in text.splitlines() if line.startswith("python3.11 -m venv")]
    assert len(commands) == 2 and all("-c constraints.txt" in c for c in commands)
    assert any(c.endswith("python -m bayesfit dimuon --sample") for c in commands)
    assert any(c.endswith("&& pytest") for c in commands)
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert (ROOT / target).exists(), target
    ci = (ROOT / ".ci" / "run").read_text()
    assert '-e ".[test]" -c constraints.txt' in ci and "\npytest" in ci
