"""The one door to the private internals of bayesfit's dependencies.

bayesfit reaches into PyTensor, nutpie, numba, llvmlite, iminuit and the standard library's
``atexit`` where their public interfaces cannot do what it needs. Every such name is used
here and nowhere else (a test parses the package to make sure), each group behind a
*feature*:

========================= ================================================================
feature                   what it gives, and the public path without it
========================= ================================================================
``nutpie_disk_cache``     nutpie's sampler model from numba callbacks cached on disk, and
                          PyTensor's float64 ``erfcx`` made cacheable; without it
                          ``nutpie.compile_pymc_model`` compiles the model in every process
``numba_op_cache_key``    the one-pass likelihood Op's numba code stored in PyTensor's numba
                          cache; without it PyTensor's plain registration (compiled per process)
``quiet_minuit``          iminuit's C++ messages kept out of the terminal during MIGRAD;
                          without it they are printed
``quick_exit``            the command line ends without the interpreter's slow teardown;
                          without it the usual exit
========================= ================================================================

:func:`supported` says whether a feature can be used: the installed version of each library
it needs must be in a series bayesfit was tested with (:data:`TESTED`; ``constraints.txt`` pins
the exact versions) and every private name it uses must be present (:data:`PRIVATE_NAMES`).
Outside that, bayesfit takes the public path and says so once per process, in one line on
standard error (e.g. "bayesfit: nutpie 0.17 is not a tested version (0.16): disk cache of the
sampler model not supported, compiling in this process").

Process-wide effect to know about: when bayesfit first compiles a sampler model with
``nutpie_disk_cache``, it registers for the rest of the process a numba implementation of
PyTensor's float64 ``Erfcx`` that calls scipy's same ``erfcx`` routine through a named LLVM
symbol (``bayesfit_scipy_erfcx_f64``) instead of its address, so that graphs using it can be
stored in PyTensor's numba cache. Values are identical; it applies to every PyTensor graph
compiled to numba in that process afterwards, the user's own included.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import sys
import types

import numpy as np

__all__ = ["TESTED", "PRIVATE_NAMES", "FEATURES", "supported", "missing_private_names", "version_series",
           "nutpie_internals", "pytensor_numba_cache", "register_cacheable_erfcx", "register_numba_op",
           "quiet_minuit", "run_exit_handlers"]

#: The release series whose internals bayesfit was tested with, per distribution.
TESTED = {
    "pytensor": ("2.38",),
    "nutpie": ("0.16",),
    "numba": ("0.65",),
    "llvmlite": ("0.47",),
    "iminuit": ("2.33",),
    "python": ("3.11", "3.12"),
}

#: Every private (or internal-module) name bayesfit uses, as ``(module, attribute path)``, per
#: feature; the test suite checks that each exists in the installed versions.
PRIVATE_NAMES = {
    "nutpie_disk_cache": (
        ("nutpie.compile_pymc", "_make_functions"),
        ("nutpie.compile_pymc", "_prepare_dims_and_coords"),
        ("nutpie.compile_pymc", "_wrap_with_lock"),
        ("nutpie.compile_pymc", "_rv_dict_to_flat_array_wrapper"),
        ("nutpie.compile_pymc", "CompiledPyMCModel"),
        ("nutpie.compile_pymc", "address_as_void_pointer"),
        ("pytensor.link.numba.cache", "CACHED_SRC_FUNCTIONS"),
        ("pytensor.link.numba.cache", "compile_numba_function_src"),
        ("pytensor.link.numba.dispatch.basic", "register_funcify_and_cache_key"),
        ("pytensor.link.numba.dispatch.basic", "numba_njit"),
        ("pytensor.link.numba.dispatch.cython_support", "wrap_cython_function"),
        ("pytensor.link.numba.dispatch.scalar", "numba_funcify_ScalarOp"),
        ("pytensor.link.numba.dispatch.scalar", "scalar_op_cache_key"),
        ("llvmlite.binding", "add_symbol"),
    ),
    "numba_op_cache_key": (
        ("pytensor.link.numba.dispatch.basic", "register_funcify_default_op_cache_key"),
    ),
    "quiet_minuit": (
        ("iminuit._core", "MnPrint.global_level"),
    ),
    "quick_exit": (
        ("atexit", "_run_exitfuncs"),
    ),
}

#: What each feature needs, and what a user is told when it cannot be used.
FEATURES = {
    "nutpie_disk_cache": (("nutpie", "pytensor", "numba", "llvmlite"),
                          "disk cache of the sampler model not supported, compiling it in this process"),
    "numba_op_cache_key": (("pytensor",), "the di-muon likelihood kernel is compiled in each process"),
    "quiet_minuit": (("iminuit",), "iminuit's own messages may appear in the output"),
    "quick_exit": (("python",), "the command line exits through the interpreter's usual teardown"),
}

_SAID: set = set()


def version_series(distribution: str) -> str:
    """Return the installed ``major.minor`` series of ``distribution`` ("python" for Python itself).

    Parameters
    ----------
    distribution : str

    Returns
    -------
    str
        e.g. ``"0.16"``; ``""`` when it is not installed.
    """
    if distribution == "python":
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""
    return ".".join(version.split(".")[:2])


def _resolve(module: str, path: str):
    """Return the object ``module.path`` (dotted attribute path); raise if it is missing."""
    obj = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def missing_private_names(feature: str | None = None) -> list:
    """Return the private names of ``feature`` (of every feature if None) missing from the installed versions.

    Parameters
    ----------
    feature : str, optional
        A key of :data:`PRIVATE_NAMES`.

    Returns
    -------
    list of str
        ``"module:attribute"`` for each name that cannot be resolved.
    """
    features = [feature] if feature is not None else list(PRIVATE_NAMES)
    missing = []
    for f in features:
        for module, path in PRIVATE_NAMES[f]:
            try:
                _resolve(module, path)
            except (ImportError, AttributeError):
                missing.append(f"{module}:{path}")
    return missing


@functools.cache
def _check(feature: str) -> str | None:
    """Return why ``feature`` cannot be used here, or None when it can."""
    needs, _ = FEATURES[feature]
    for dist in needs:
        series = version_series(dist)
        if series not in TESTED[dist]:
            return f"{dist} {series or '(not installed)'} is not a tested version ({', '.join(TESTED[dist])})"
    missing = missing_private_names(feature)
    if missing:
        return f"{missing[0]} is missing from the installed version"
    return None


def supported(feature: str) -> bool:
    """Return True when ``feature`` can be used here; else say once why, and what happens instead.

    Parameters
    ----------
    feature : str
        A key of :data:`FEATURES`.

    Returns
    -------
    bool
    """
    reason = _check(feature)
    if reason is None:
        return True
    if feature not in _SAID:
        _SAID.add(feature)
        print(f"bayesfit: {reason}: {FEATURES[feature][1]}", file=sys.stderr, flush=True)
    return False


# --- nutpie and PyTensor's numba cache (feature "nutpie_disk_cache") ---------------------------
def nutpie_internals():
    """Return nutpie's internal functions bayesfit builds its cached sampler model from.

    Returns
    -------
    types.SimpleNamespace
        ``make_functions``, ``prepare_dims_and_coords``, ``wrap_with_lock``,
        ``flat_array_wrapper``, ``address_as_void_pointer`` and ``model_class``
        (``CompiledPyMCModel``), and ``model_fields(n_dim, coords, shapes)``, the keyword
        arguments of its private fields.
    """
    from nutpie import compile_pymc as cp

    return types.SimpleNamespace(
        make_functions=cp._make_functions, prepare_dims_and_coords=cp._prepare_dims_and_coords,
        wrap_with_lock=cp._wrap_with_lock, flat_array_wrapper=cp._rv_dict_to_flat_array_wrapper,
        address_as_void_pointer=cp.address_as_void_pointer, model_class=cp.CompiledPyMCModel,
        model_fields=lambda n_dim, coords, shapes: {"_n_dim": n_dim, "_coords": coords, "_shapes": shapes})


def pytensor_numba_cache():
    """Return PyTensor's numba source cache: ``(CACHED_SRC_FUNCTIONS, compile_numba_function_src)``.

    Returns
    -------
    tuple
    """
    from pytensor.link.numba import cache

    return cache.CACHED_SRC_FUNCTIONS, cache.compile_numba_function_src


_ERFCX = None  # numba's ExternalFunction for the erfcx symbol, set by register_cacheable_erfcx


def _erfcx_skip_dispatch(x):
    return _ERFCX(x, np.intc(1))  # scipy's cython functions take a trailing "skip dispatch" flag


def _erfcx_plain(x):
    return _ERFCX(x)


def register_cacheable_erfcx(symbol: str) -> bool:
    """Register a cacheable numba implementation of PyTensor's float64 ``Erfcx`` (see the module notes).

    scipy's compiled float64 ``erfcx`` (the routine PyTensor calls) is bound to the LLVM symbol
    ``symbol`` and called by that name; other dtypes keep PyTensor's implementation.

    Parameters
    ----------
    symbol : str
        The LLVM symbol name.

    Returns
    -------
    bool
        True if registered; False where the internals differ (graphs with ``erfcx`` are then
        compiled in each process).
    """
    global _ERFCX
    try:
        import llvmlite.binding as llvm
        import numba
        import scipy.special.cython_special as cython_special
        from pytensor.link.numba.dispatch import basic as numba_basic
        from pytensor.link.numba.dispatch.cython_support import wrap_cython_function
        from pytensor.link.numba.dispatch.scalar import numba_funcify_ScalarOp, scalar_op_cache_key
        from pytensor.scalar.math import Erfcx

        f64 = np.dtype("float64")
        wrapper = wrap_cython_function(cython_special.erfcx, f64, [f64])
        skip = wrapper.has_pyx_skip_dispatch()
        signature = wrapper.signature()
        if signature.return_type != numba.types.float64 or signature.args[0] != numba.types.float64:
            return False
        llvm.add_symbol(symbol, wrapper.__wrapper_address__())
        _ERFCX = numba.types.ExternalFunction(symbol, signature)
    except (ImportError, AttributeError, NotImplementedError, IndexError):
        return False
    call = numba_basic.numba_njit(_erfcx_skip_dispatch if skip else _erfcx_plain)

    @numba_basic.register_funcify_and_cache_key(Erfcx)
    def _funcify_erfcx(op, node, **kwargs):
        if any(v.type.dtype != "float64" for v in (*node.inputs, *node.outputs)):
            return numba_funcify_ScalarOp(op, node, **kwargs)
        return call, scalar_op_cache_key(op, bayesfit=symbol, skip=skip, module=__name__)

    return True


# --- PyTensor's numba dispatch (feature "numba_op_cache_key") ---------------------------------
def register_numba_op(op_class):
    """Return a decorator registering a numba implementation of ``op_class`` with PyTensor.

    With PyTensor's cache-key registration where available, so the compiled code is stored in
    PyTensor's numba cache; else PyTensor's public ``numba_funcify.register``.

    Parameters
    ----------
    op_class : type
        A PyTensor ``Op`` subclass.

    Returns
    -------
    callable
    """
    if supported("numba_op_cache_key"):
        from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

        return register_funcify_default_op_cache_key(op_class)
    from pytensor.link.numba.dispatch import numba_funcify

    return numba_funcify.register(op_class)


# --- iminuit (feature "quiet_minuit") ---------------------------------------------------------
@contextlib.contextmanager
def quiet_minuit():
    """Keep MINUIT's C++ messages out of the terminal during the block.

    ``Minuit.print_level`` sets the same global level, but only for the object it belongs to
    at the time; bayesfit sets it around its own fits and restores it.
    """
    if not supported("quiet_minuit"):
        yield
        return
    from iminuit._core import MnPrint

    level = MnPrint.global_level
    MnPrint.global_level = -1
    try:
        yield
    finally:
        MnPrint.global_level = level


# --- the standard library (feature "quick_exit") ----------------------------------------------
def run_exit_handlers() -> bool:
    """Run the ``atexit`` handlers now; return False where that is not possible.

    Returns
    -------
    bool
        True if the handlers ran, so the process may end with ``os._exit``.
    """
    if not supported("quick_exit"):
        return False
    import atexit

    atexit._run_exitfuncs()
    return True
