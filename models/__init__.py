"""The documented models, each a few lines of composition (installed as ``bayesfit.models``).

======================= =================== ==================================================
factory                 command             model
======================= =================== ==================================================
:func:`dimuon`          ``dimuon``          Belle II di-muon mass: Crystal Ball + exponential
:func:`zpeak`           ``zpeak``           Z line shape: RelBW ⊗ Gaussian + exponential
:func:`zcombined`       ``zcombined``       Z→μμ and Z→ee together: a simultaneous fit
:func:`higgs4l`         ``higgs4l``         H → 4ℓ, CMS 2011–2012: six categories, a search
:func:`three_peaks`     ``three-peaks``     three Υ-like peaks, one width scaled by the mass
:func:`relbw`           ``relbw``           posterior of the RelBW shape ρ
:func:`weighted_mean`   ``weighted-mean``   the lecture's weighted mean
:func:`line_fit`        ``line``            the lecture's straight-line calibration
======================= =================== ==================================================

Each module (``dimuon_model.py`` …) holds the factory, its default data and constants; the
command line (:mod:`bayesfit.cli`) turns it into a subcommand. A module for the command line
defines ``COMMAND``, ``HELP``, the factory (named like the module without ``_model``; its
keyword arguments become options) and ``default_data(model, **options) -> (data, meta)``;
optional ``EVENTS`` (a ``--events`` option for simulated data) and ``EXAMPLES``. Other
packages add such modules through the entry-point group ``bayesfit.models``.
"""

import importlib
import pkgutil

from .dimuon_model import dimuon
from .higgs4l_model import higgs4l
from .line_fit_model import line_fit
from .relbw_model import relbw
from .weighted_mean_model import weighted_mean
from .three_peaks_model import three_peaks
from .zcombined_model import zcombined
from .zpeak_model import zpeak

__all__ = ["dimuon", "zpeak", "zcombined", "higgs4l", "three_peaks", "relbw", "weighted_mean", "line_fit", "discover",
           "factory"]


def factory(module):
    """Return the model factory of a command-line model module."""
    name = module.__name__.rsplit(".", 1)[-1]
    name = name[: -len("_model")] if name.endswith("_model") else name
    fn = getattr(module, "MODEL", None) or getattr(module, name, None)
    if fn is None:
        raise AttributeError(f"{module.__name__} has no model factory {name}() (or MODEL)")
    return fn


def discover() -> dict:
    """Return ``{command: module}`` for the shipped models and the ``bayesfit.models`` entry points."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "COMMAND"):
            found[module.COMMAND] = module
    from importlib.metadata import entry_points

    for ep in entry_points(group="bayesfit.models"):
        module = ep.load()
        found.setdefault(getattr(module, "COMMAND", ep.name), module)
    return found
