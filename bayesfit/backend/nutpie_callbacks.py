"""nutpie's compiled model with C callbacks that numba caches on disk.

nutpie samples a PyMC model through two C callbacks, log p with its gradient and the
"expand" map to the stored variables, which it builds with ``numba.cfunc`` around PyTensor's
numba functions. nutpie's own callbacks close over run-time objects, so numba compiles them
again in every process: about 20 s for the di-muon model on two cores, every run. This module
builds the same two callbacks from generated source with no run-time globals, keyed by
PyTensor's cache keys of the two graphs, so numba stores them in PyTensor's numba cache and a
later process loads them in a fraction of a second.

Use :func:`compile_model` where ``nutpie.compile_pymc_model(model, backend="numba")`` would
be used; it returns nutpie's ``CompiledPyMCModel`` (``with_data`` swaps new data in, as
nutpie's does). When PyTensor cannot cache a graph (an Op without a numba cache key, such as
``erfcinv``, which calls scipy through a function pointer), the same callbacks are compiled in
the process and not stored, as nutpie's own are.

The callbacks read the data through nutpie's ``user_data`` pointer, here a flat ``uint64``
array: for each data container its address followed by its shape.

PyTensor's numba backend calls scipy's compiled ``erfcx`` (the Gaussian's and the Crystal
Ball's tails) through its address, a run-time constant that numba will not store, so a graph
with ``erfcx`` could not be cached at all (each process compiled the model again, 20–60 s).
:func:`compile_model` therefore registers, once per process, a numba implementation of
PyTensor's float64 ``Erfcx`` that calls the same scipy routine through a fixed symbol name,
which LLVM resolves in each process: the cached code holds the name, not the address.

A new structure is compiled in the child process of
:func:`bayesfit.backend.compiled.start_numba_cache_fill`, at numba's optimisation level
:data:`SAMPLER_NUMBA_OPT` (``NUMBA_OPT=1``) rather than numba's default 3: most of numba's
time is LLVM optimising and generating the code of every function again inside each function
that calls it, and level 1 compiles the larger models 12-20 % faster (the di-muon fit 44 s
instead of 52 s on two cores) for a sampler within -3 to +8 % of level 3's sampling time.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os

import numpy as np

from bayesfit.backend import compat, store
from bayesfit.backend.graphs import SKIPPED_REWRITES, model_data, set_shared, storable_data

__all__ = ["compile_model", "sampler_numba_opt", "SAMPLER_NUMBA_OPT"]

#: Bump when the generated source changes, so that old cache entries are never used. (The
#: module's name is part of the key too: a cached callback refers to its module by name.)
_VERSION = 5

#: numba's optimisation level (``NUMBA_OPT``) for nutpie's model: the child of
#: :func:`bayesfit.backend.compiled.start_numba_cache_fill` compiles with it. Level 1 instead of
#: numba's default 3 compiles a new structure 12-20 % faster (4-7 % for the smallest models),
#: and the sampler's time stays within -3 to +8 % of level 3's, about this machine's noise
#: (``benchmarks/numba_compile.py``). A ``NUMBA_OPT`` set by the user is kept.
SAMPLER_NUMBA_OPT = "1"

#: LLVM symbol under which scipy's float64 ``erfcx`` is called by numba code (see the module docstring).
_ERFCX_SYMBOL = "bayesfit_scipy_erfcx_f64"


@functools.cache
def _cacheable_erfcx() -> bool:
    """Make PyTensor's numba backend cache graphs with float64 ``erfcx``, once per process; True if it does."""
    return compat.register_cacheable_erfcx(_ERFCX_SYMBOL)


def sampler_numba_opt() -> str:
    """Return the ``NUMBA_OPT`` nutpie's model is compiled with: the user's, else :data:`SAMPLER_NUMBA_OPT`.

    The level is part of the callbacks' cache key (and of the structure's marker in
    :func:`bayesfit.backend.compiled.start_numba_cache_fill`), so code compiled at one level
    is never taken for another's. (Where no child process can be started, the fitting process
    compiles the model itself at its own level and stores it under this key: the same code
    then serves every later process, which is what fixes the draws of a seed.)

    Returns
    -------
    str
        The environment's ``NUMBA_OPT`` where set, else :data:`SAMPLER_NUMBA_OPT`.
    """
    return os.environ.get("NUMBA_OPT") or SAMPLER_NUMBA_OPT


def _pack(shared_data: dict, names: list) -> np.ndarray:
    """Return the ``user_data`` words: per container its address, then its shape."""
    words = []
    for name in names:
        value = shared_data[name]
        words.append(value.ctypes.data)
        words.extend(value.shape)
    return np.asarray(words, dtype=np.uint64)


def _sources(kind: str, names: list, shared_data: dict, arguments: list) -> tuple[str, str, dict, int]:
    """Return the sources of one callback and of its data-unpacking helper, their globals, and
    the number of ``user_data`` words.

    ``arguments`` lists, in the order of the graph's inputs after the point, the names of
    the data containers the graph reads. The helper turns the ``user_data`` words into arrays
    and calls the graph; it is a function of its own because numba's analysis of a ``try``
    block grows quickly with the statements in it (70 s for thirteen containers inline).
    """
    offsets, word = {}, 0
    for name in names:
        offsets[name] = word
        word += 1 + shared_data[name].ndim
    env, lines = {}, []
    for k, name in enumerate(arguments):
        value = shared_data[name]
        at = offsets[name]
        shape = ", ".join(f"ud[{at + 1 + d}]" for d in range(value.ndim))
        shape = f"({shape},)" if value.ndim == 1 else f"({shape})"
        env[f"DTYPE{k}"] = value.dtype.type
        lines.append(f"    d{k} = numba.carray(address_as_void_pointer(ud[{at}]), {shape}, DTYPE{k})")
    args = "".join(f", d{k}" for k in range(len(arguments)))
    unpack = "\n".join(lines)
    helper = f"""
def {kind}_graph(x, user_data_):
    ud = numba.carray(user_data_, (N_WORDS,), np.uint64)
{unpack}
    return inner(x{args})
"""
    if kind == "logp":
        callback = """
def logp_callback(dim, x_, out_, logp_, user_data_):
    if dim != N_DIM:
        return -1
    try:
        x = numba.carray(x_, (N_DIM,))
        out = numba.carray(out_, (N_DIM,))
        logp = numba.carray(logp_, ())
        value, grad = graph(x, user_data_)
        logp[()] = value
        if grad.shape[0] != N_DIM:
            return 1
        finite = True
        # element by element: a slice assignment costs numba seconds of compilation per
        # callback (its shape-mismatch error path), in every new structure
        for i in range(N_DIM):
            out[i] = grad[i]
            finite = finite and np.isfinite(grad[i])
        if not finite:
            return 3
        if not np.isfinite(value):
            return 4
    except Exception:  # noqa: BLE001
        return 1
    return 0
"""
    else:
        callback = """
def expand_callback(dim, expanded, x_, out_, user_data_):
    if dim != N_DIM or expanded != N_EXPANDED:
        return -1
    try:
        x = numba.carray(x_, (N_DIM,))
        out = numba.carray(out_, (N_EXPANDED,))
        (values,) = graph(x, user_data_)
        if values.shape[0] != N_EXPANDED:
            return -2
        for i in range(N_EXPANDED):
            out[i] = values[i]
    except Exception:  # noqa: BLE001
        return -2
    return 0
"""
    return helper, callback, env, word


def _callback(kind, function, names, shared_data, n_dim, n_expanded):
    """Return the numba C callback of ``kind`` around PyTensor ``function``, disk-cached if PyTensor can."""
    import numba

    address_as_void_pointer = compat.nutpie_internals().address_as_void_pointer
    cached_src_functions, compile_numba_function_src = compat.pytensor_numba_cache()
    inner = function.vm.jit_fn
    graph_key = cached_src_functions.get(getattr(inner, "py_func", None))
    cache = graph_key is not None
    arguments = [s.name for s in function.get_shared()]
    helper, callback, env, n_words = _sources(kind, names, shared_data, arguments)
    layout = ";".join(f"{n}:{shared_data[n].dtype.str}:{shared_data[n].ndim}" for n in names)
    key = hashlib.sha256(f"{_VERSION}|{__name__}|opt{sampler_numba_opt()}|{kind}|{graph_key}|{n_dim}|{n_expanded}|"
                         f"{n_words}|{layout}|{arguments}|{helper}|{callback}".encode()).hexdigest()
    env.update(__name__=__name__, numba=numba, np=np, inner=inner, address_as_void_pointer=address_as_void_pointer,
               N_DIM=n_dim, N_EXPANDED=n_expanded, N_WORDS=n_words)
    cache_key = f"bayesfit-nutpie-{key}" if cache else None
    graph = compile_numba_function_src(helper, f"{kind}_graph", global_env=dict(env), cache_key=cache_key)
    env["graph"] = numba.njit(cache=cache, no_cpython_wrapper=True)(graph)
    py_func = compile_numba_function_src(callback, f"{kind}_callback", global_env=env, cache_key=cache_key)
    f64, u64 = numba.types.double, numba.types.uint64
    if kind == "logp":
        sig = numba.types.int64(u64, numba.types.CPointer(f64), numba.types.CPointer(f64),
                                numba.types.CPointer(f64), numba.types.voidptr)
    else:
        sig = numba.types.int64(u64, u64, numba.types.CPointer(f64), numba.types.CPointer(f64),
                                numba.types.voidptr)
    return numba.cfunc(sig, cache=cache)(py_func)


@functools.cache
def _model_class():
    @dataclasses.dataclass(frozen=True)
    class CachedCallbacksModel(compat.nutpie_internals().model_class):
        """nutpie's compiled model whose callbacks read the data from :func:`_pack`'s words."""

        data_names: tuple = ()

        def with_data(self, **updates):
            shared_data = dict(self.shared_data)
            for name, new in updates.items():
                if name not in shared_data:
                    raise KeyError(f"Unknown shared variable: {name}")
                old = shared_data[name]
                new = np.array(new, dtype=old.dtype, order="C", copy=True)
                if new.ndim != old.ndim:
                    raise ValueError(f"Shared variable {name} must have rank {old.ndim}")
                new.flags.writeable = False
                shared_data[name] = new
            return dataclasses.replace(self, shared_data=shared_data,
                                       user_data=_pack(shared_data, list(self.data_names)))

    return CachedCallbacksModel


def _functions(model, nutpie_private, initial_point, cache_file):
    """Return the results of nutpie's function maker, from ``cache_file`` when it holds them.

    The two PyTensor functions are pickled after the rewriting of their graphs (most of the
    work of a process whose numba code is cached: 5 s of 6 for the di-muon model); loading them
    links the cached numba code. Their data come from ``model`` either way.
    """
    from pytensor.compile.mode import get_mode

    current = model_data(model)
    stored = store.load(cache_file) if cache_file is not None else None
    try:
        n_dim, n_expanded, logp_fn, expand_fn, shape_info = stored
        shapes = {name: tuple(shape) for name, _, shape in zip(*shape_info)}
        free = [model.rvs_to_values[rv].name for rv in model.free_RVs]
        initial_point_fn = nutpie_private.flat_array_wrapper(initial_point, names=free,
                                                             shapes=[shapes[n] for n in free])
    except (TypeError, ValueError, KeyError):  # nothing stored, or not this model's
        n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info = nutpie_private.make_functions(
            model, mode=get_mode("NUMBA").excluding(*SKIPPED_REWRITES), compute_grad=True, join_expanded=True,
            pymc_initial_point_fn=initial_point)
        if cache_file is not None:  # stored with one entry of each data container: a small file
            shared = [*logp_fn.get_shared(), *expand_fn.get_shared()]
            try:
                set_shared(shared, storable_data(current))
                store.save(cache_file, (n_dim, n_expanded, logp_fn, expand_fn, shape_info))
            except Exception:  # noqa: BLE001 - data of a fixed shape: not stored, which costs only time
                pass
            finally:
                set_shared(shared, current)
        return n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info
    set_shared([*logp_fn.get_shared(), *expand_fn.get_shared()], current)
    return n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info


def compile_model(model, cache_file=None):
    """Return nutpie's compiled model of a PyMC model, with disk-cached numba callbacks.

    Parameters
    ----------
    model : pymc.Model
    cache_file : pathlib.Path, optional
        Where the rewritten PyTensor functions of this model's structure are pickled (read if
        it exists, else written); the caller keys it by the structure and the versions.

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel
        Samples with :func:`nutpie.sample`; ``with_data(**{name: array})`` gives the model
        on new data without compiling.
    """
    import nutpie
    from pymc.initial_point import make_initial_point_fn

    # nutpie's and PyTensor's internals, where the installed versions are the tested ones;
    # else nutpie's own compilation (uncached callbacks), said once
    if not compat.supported("nutpie_disk_cache"):
        return nutpie.compile_pymc_model(model, backend="numba")
    nutpie_private = compat.nutpie_internals()
    _cacheable_erfcx()
    initial_point = nutpie_private.wrap_with_lock(make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), return_transformed=True))
    n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info = _functions(
        model, nutpie_private, initial_point, cache_file)

    shared_data, seen = {}, set()
    for var in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
        if var.name in shared_data:
            if var not in seen:
                raise ValueError(f"two data containers are named {var.name!r}")
            continue
        seen.add(var)
        value = np.array(var.get_value(), order="C", copy=True)
        value.flags.writeable = False
        shared_data[var.name] = value
    names = list(shared_data)
    logp_cb = _callback("logp", logp_fn, names, shared_data, n_dim, n_expanded)
    expand_cb = _callback("expand", expand_fn, names, shared_data, n_dim, n_expanded)
    dims, coords = nutpie_private.prepare_dims_and_coords(model, shape_info)
    shapes = {name: tuple(shape) for name, _, shape in zip(*shape_info)}
    return _model_class()(
        **nutpie_private.model_fields(n_dim, coords, shapes), dims=dims,
        compiled_logp_func=logp_cb, compiled_expand_func=expand_cb,
        initial_point_func=initial_point_fn, shared_data=shared_data,
        user_data=_pack(shared_data, names), n_expanded=n_expanded, shape_info=shape_info,
        logp_func=logp_fn, expand_func=expand_fn, data_names=tuple(names))
