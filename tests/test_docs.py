"""The documentation site builds with warnings as errors: guides, executed notebooks, API reference."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(tmp_path)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    for page in ("index", "api", "internals", "performance", *(f"notebooks/{p.stem}" for p in
                                                               sorted((ROOT / "notebooks").glob("*.ipynb")))):
        assert (tmp_path / f"{page}.html").is_file(), page
    api = (tmp_path / "api.html").read_text()
    for name in ("bayesfit.fit", "WindowModel", "run_fits", "FitResult", "clopper_pearson", "supported"):
        assert name in api, name  # the numpydoc reference holds every layer
    dimuon = (tmp_path / "notebooks" / "04_dimuon.html").read_text()
    assert "_images/" in dimuon and "HESSE" in dimuon  # rendered with its outputs, not re-executed
