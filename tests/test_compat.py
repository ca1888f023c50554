"""The one door to dependencies' internals (bayesfit.backend.compat).

An upgrade of PyTensor, nutpie, numba, llvmlite or iminuit that drops or renames a private
name bayesfit relies on shows up here as a failing test, not as a silent slowdown; outside
the tested versions bayesfit takes the public path and says so once.
"""

import ast
from pathlib import Path

import pytest

import bayesfit
from bayesfit.backend import compat

PACKAGE = Path(bayesfit.__file__).parent
MODELS = PACKAGE.parent / "models"
#: The distributions whose names a private access could belong to.
DEPENDENCIES = ("pytensor", "pymc", "nutpie", "numba", "llvmlite", "iminuit", "arviz", "scipy", "numpy", "dask",
                "distributed", "matplotlib", "filelock", "cloudpickle", "uproot", "atexit", "importlib")


def test_every_private_name_we_use_exists_in_the_installed_versions():
    assert compat.missing_private_names() == []


def test_the_installed_versions_are_the_tested_ones():
    for dist, series in compat.TESTED.items():
        assert compat.version_series(dist) in series, (dist, compat.version_series(dist), series)
    for feature in compat.FEATURES:
        assert compat.supported(feature), feature


def test_every_feature_lists_its_private_names_and_its_fallback():
    assert set(compat.PRIVATE_NAMES) == set(compat.FEATURES)
    for needs, fallback in compat.FEATURES.values():
        assert set(needs) <= set(compat.TESTED) and fallback


def _sources():
    files = sorted([*PACKAGE.rglob("*.py"), *MODELS.glob("*.py")])
    assert len(files) > 40
    return [(f, ast.parse(f.read_text(), filename=str(f))) for f in files]


def _own_private_names(trees) -> set:
    """Private names bayesfit defines itself: functions, classes, assigned names and attributes."""
    own = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.arg):
                own.add(node.arg)
    return {n for n in own if n.startswith("_")}


#: Names with a leading underscore that are documented public API (``os._exit``).
PUBLIC = {"_exit"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and name not in PUBLIC


def _violations(path, tree, own) -> list:
    """Return the uses of dependencies' private names in one module's syntax tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in DEPENDENCIES and (
                    any(_private(p) for p in node.module.split(".")) or any(_private(a.name) for a in node.names)):
                found.append(f"{path}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in DEPENDENCIES and any(_private(p) for p in alias.name.split(".")):
                    found.append(f"{path}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
            found.append(f"{path}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg and _private(node.arg) and node.arg not in own:
            found.append(f"{path}:{node.lineno}: {node.arg}=")
    return found


def test_no_module_but_compat_uses_a_private_name_of_a_dependency():
    trees = [(f, t) for f, t in _sources() if f.name != "compat.py"]
    own = _own_private_names(trees)
    found = [v for f, t in trees for v in _violations(f.relative_to(PACKAGE.parent), t, own)]
    assert found == [], "private names of dependencies outside bayesfit/backend/compat.py:\n" + "\n".join(found)


def test_the_scan_catches_what_compat_wraps():
    """The scan is not blind: compat's own accesses, in any other module, are each reported."""
    trees = [(f, t) for f, t in _sources() if f.name != "compat.py"]
    own = _own_private_names(trees)
    compat_file = PACKAGE / "backend" / "compat.py"
    found = "\n".join(_violations("compat.py", ast.parse(compat_file.read_text()), own))
    for name in ("from iminuit._core import", "._run_exitfuncs", "._make_functions", "._prepare_dims_and_coords",
                 "._wrap_with_lock"):
        assert name in found, name


@pytest.fixture
def untested(monkeypatch):
    """Make the installed version of a distribution look untested for the test's duration."""
    def make(dist):
        monkeypatch.setitem(compat.TESTED, dist, ("0.0",))
        compat._check.cache_clear()
        for feature, (needs, _) in compat.FEATURES.items():
            if dist in needs:
                compat._SAID.discard(feature)
    yield make
    compat._check.cache_clear()
    compat._SAID.clear()


def test_an_untested_nutpie_falls_back_to_nutpies_own_compilation_and_says_so_once(untested, monkeypatch, capsys):
    import nutpie

    from bayesfit.backend import nutpie_callbacks

    untested("nutpie")
    calls = []
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, backend: calls.append(backend) or "nutpie's own")
    assert nutpie_callbacks.compile_model(object()) == "nutpie's own"
    assert nutpie_callbacks.compile_model(object()) == "nutpie's own"
    assert calls == ["numba", "numba"]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"bayesfit: nutpie {compat.version_series('nutpie')} is not a tested version (0.0)")
    assert "compiling it in this process" in lines[0]


def test_an_untested_iminuit_fits_without_silencing_it(untested):
    from iminuit._core import MnPrint

    from bayesfit.engine.mle import fit_mle

    level = MnPrint.global_level
    untested("iminuit")
    res = fit_mle(lambda x: (x[0] - 1.0) ** 2 / 0.5, [0.0], names=["a"], minos=False)
    assert res.values[0] == pytest.approx(1.0, abs=1e-6)
    assert MnPrint.global_level == level
