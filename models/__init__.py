"""The documented models, one module each.

Every module defines ``COMMAND`` (the CLI subcommand), ``HELP`` (one line),
``add_arguments(parser)`` for its own options and ``build(args) -> bayesfit.problem.Problem``.
:func:`discover` finds them, so adding a model means adding a module here (and a test).
"""

import importlib
import pkgutil


def discover() -> dict:
    """Return ``{command: module}`` for every model module in this package, sorted by name."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "COMMAND") and hasattr(module, "build"):
            found[module.COMMAND] = module
    return found
