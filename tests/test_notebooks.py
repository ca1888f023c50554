"""The notebooks: committed executed, from the sources in make_notebooks.py, and still running.

- each committed notebook holds exactly the cells of ``notebooks/make_notebooks.py``, executed
  top to bottom in one kernel without error, its figures inline as PNG;
- each runs again top to bottom (short chains via BAYESFIT_QUICK=1), and the cells tagged
  ``check-output`` (closed forms, maximum-likelihood results: independent of the chain length)
  print what the committed notebook shows, number by number.
"""

import copy
import importlib.util
import math
import re
from pathlib import Path

import nbformat
import pytest

FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def _maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", FOLDER / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _text(cell) -> str:
    """Return what a cell printed and returned, as text."""
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o["text"])
        elif "data" in o and "text/plain" in o["data"]:
            parts.append(o["data"]["text/plain"])
    return "".join(parts)


def _same_numbers(a: str, b: str, rel=1e-6) -> bool:
    """True if ``a`` and ``b`` read the same, numbers equal to ``rel``."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    return all(math.isclose(float(x), float(y), rel_tol=rel, abs_tol=1e-12)
               for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)))


def test_every_notebook_is_made_by_the_script():
    assert {p.name for p in NOTEBOOKS} == set(MAKER.NOTEBOOKS)


def test_the_comparison_of_numbers_can_fail():
    assert _same_numbers("a = 0.268519 ± 0.068041", "a = 0.2685190001 ± 0.068041")
    assert not _same_numbers("a = 0.268519", "a = 0.268619")
    assert not _same_numbers("a = 0.268519", "b = 0.268519")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_executed_from_its_sources(path):
    nb = nbformat.read(path, as_version=4)
    fresh = MAKER.notebook(MAKER.NOTEBOOKS[path.name])
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in fresh.cells], (
        f"{path.name} differs from make_notebooks.py: run python notebooks/make_notebooks.py --execute")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "not executed top to bottom"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o["text"] for o in outputs if o.output_type == "stream" and o.name == "stderr"], "warnings shown"
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure inline"
    # figures are shown once: no cell displays the same figure twice
    for c in code:
        assert sum("image/png" in o.get("data", {}) for o in c.outputs) <= 1, c.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_and_reproduces_its_checked_outputs(path, monkeypatch):
    committed = nbformat.read(path, as_version=4)
    nb = MAKER.execute(copy.deepcopy(committed), FOLDER, quick=True, timeout=600)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    checked = 0
    for old, new in zip(committed.cells, nb.cells):
        if MAKER.CHECK_TAG in old.metadata.get("tags", []):
            assert _text(old), old.source
            assert _same_numbers(_text(new), _text(old)), f"{old.source}\n---\n{_text(new)}\n---\n{_text(old)}"
            checked += 1
    assert checked >= 1
