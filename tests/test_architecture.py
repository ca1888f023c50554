"""The package's architecture is the one ``pyproject.toml`` declares: import-linter's contracts.

Layers import downwards only (cli → api → studies → engine → modeling → distributions →
backend | output → core), the distributions never import the engine, the renderers never
import the engine, and the modules of a subpackage import each other without circles.
Imports inside functions count as much as those at the top of a module.
"""

from pathlib import Path

import bayesfit

ROOT = Path(bayesfit.__file__).parents[1]


def test_import_linter_contracts_are_kept(monkeypatch, capsys):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)  # where pyproject.toml is
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 kept, 0 broken" in out, out
