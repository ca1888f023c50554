"""Compile once, fit many: the compiled functions of a model structure, reused for new data.

A fit needs two compiled programs besides the maximum-likelihood NLL (numpy and numba, which
compile nothing per fit): the MAP + Laplace function (log p, its gradient and a
Hessian-vector product, JAX: :mod:`bayesfit.backend.jax_functions`) and nutpie's sampler model
(numba). Both take the data as *inputs*: the PyMC models hold events, bin counts or
measurements in ``pm.Data`` containers of unfixed length, so a structure (components, window,
parameters' bounds and priors, binned or unbinned, number of bins) is compiled once and every
new dataset, of any size, is swapped in.

The caches are keyed by a digest of the PyTensor graph itself (its operations, constants and
input types, not the data) and of :data:`bayesfit.backend.graphs.SKIPPED_REWRITES`, so any
change to the model gives a new entry and never a stale one:

- **in memory**, for the life of the process: a second :func:`bayesfit.fit` of the same
  structure compiles nothing (``result.json`` records ``"reused in process"``). This is what
  toys, coverage studies and notebooks re-running a cell rely on;
- **on disk**, in :func:`bayesfit.backend.store.cache_dir` (``$BAYESFIT_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/bayesfit``, else ``~/.cache/bayesfit``; one subfolder per version of
  Python, PyTensor, PyMC and bayesfit; delete it at any time): the rewritten log p graph of
  the MAP + Laplace function and XLA's code of it (``xla/``, JAX's persistent compilation
  cache), so a later process skips PyTensor's rewriting and XLA's compilation and only
  translates and traces the graph; and the two PyTensor functions nutpie's model is built
  from, pickled after their first compilation (their numba code in PyTensor's numba cache,
  ``pytensor.config.base_compiledir``/numba).

nutpie's compiled model is built by :func:`bayesfit.backend.nutpie_callbacks.compile_model`:
its numba C callbacks and the PyTensor numba functions they call are stored in PyTensor's
numba cache, so a later process loads them (about 1.5 s for the di-muon model on two cores,
against about 23 s for nutpie's own callbacks, which numba cannot cache); then ``with_data``
swaps the data in. With ``sampler="pymc"``, ``pymc.sample`` compiles its own functions on
every call (a PyMC limitation); nutpie, the default, does not. A structure missing from the
numba cache is compiled first in a child process (:func:`start_numba_cache_fill`, started by
the engine before the MAP + Laplace fit so that the two run side by side), so that every
process samples with the same, cache-loaded code and a seed fixes the draws.

A compiled function holds the data of the fit that uses it, so fits of one structure must not
run at the same time in threads of one process; run parallel fits in separate processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
import tempfile
import threading
import warnings
import weakref
from pathlib import Path

import numpy as np

from bayesfit.backend import store
from bayesfit.backend.graphs import SKIPPED_REWRITES, model_data, set_shared
from bayesfit.backend.store import cache_dir

__all__ = ["cache_dir", "graph_digest", "map_function", "nuts_model", "model_data", "clear_memory",
           "start_numba_cache_fill", "COMPILED", "REUSED"]

_MEMORY: dict = {}
#: Cache keys of the model objects already seen (weak: a model no longer used is dropped).
_KEYS = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
#: What :func:`map_function` and :func:`nuts_model` report about the compiled work they hand out.
COMPILED, REUSED = "compiled", "reused in process"


def clear_memory():
    """Forget every compiled function held in memory (the disk cache stays)."""
    with _LOCK:
        _MEMORY.clear()
        _KEYS.clear()


# --- a digest of a PyTensor graph ---------------------------------------------------------
def _describe_op(op) -> str:
    kind = f"{type(op).__module__}.{type(op).__qualname__}"
    props = getattr(op, "__props__", None)
    if props:
        return kind + "{" + ",".join(f"{p}={getattr(op, p)!r}" for p in props) + "}"
    return f"{kind}:{op}"


def _describe_root(var) -> str:
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant

    if isinstance(var, Constant):
        data = np.asarray(var.data)
        digest = hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()
        return f"const:{var.type}:{data.dtype}:{data.shape}:{digest}"
    if isinstance(var, SharedVariable):  # the data: its type, never its value
        return f"shared:{var.name}:{var.type}"
    return f"input:{var.name}:{var.type}"


def graph_digest(outputs, extra=()) -> str:
    """Return a SHA-256 digest of the graphs of ``outputs``: operations, constants, input types.

    Shared variables (the data) enter by name and type only, so the same model on other data
    has the same digest. Equal digests in two processes mean the same computation.

    Parameters
    ----------
    outputs : sequence of pytensor.graph.basic.Variable
    extra : sequence of str
        Anything else the compiled result depends on.

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    index = {}

    def visit(var):
        stack = [(var, False)]
        while stack:
            v, expanded = stack.pop()
            if v in index:
                continue
            if v.owner is None:
                index[v] = len(index)
                h.update(f"{index[v]}={_describe_root(v)};".encode())
            elif expanded:
                node = v.owner
                args = ",".join(str(index[i]) for i in node.inputs)
                for k, out in enumerate(node.outputs):
                    if out not in index:
                        index[out] = len(index)
                        h.update(f"{index[out]}={_describe_op(node.op)}({args})[{k}]:{out.type};".encode())
            else:
                stack.append((v, True))
                stack.extend((i, False) for i in reversed(v.owner.inputs))

    for out in outputs:
        visit(out)
        h.update(f"out:{index[out]};".encode())
    for e in extra:
        h.update(f"extra:{e};".encode())
    return h.hexdigest()


# --- the MAP + Laplace function ------------------------------------------------------------
def _map_logp(model, names):
    """Return ``(flat, logp)``: log p of the natural parameters joined in one vector, no Jacobian."""
    from pymc.model.transform.conditioning import remove_value_transforms
    from pymc.pytensorf import join_nonshared_inputs

    natural = remove_value_transforms(model)
    values = [natural.rvs_to_values[natural[name]] for name in names]
    for v in values:
        if v.ndim != 0:
            raise ValueError(f"free variable {v.name} is not a scalar; bayesfit fits scalars")
    point = {v.name: np.zeros(()) for v in values}
    [logp], flat = join_nonshared_inputs(point, [natural.logp(jacobian=False)], values)
    return flat, logp


def _structure_key(model, tag, build):
    """Return the cache key of ``model`` for ``tag``: remembered per model object, else built.

    The key covers the graph (``build()``) and :data:`SKIPPED_REWRITES`, which decide the
    compiled code as much as the graph does.
    """
    with _LOCK:
        key = _KEYS.get(model, {}).get(tag)
    if key is None:
        key = tag[0] + "-" + hashlib.sha256(f"{build()}|{SKIPPED_REWRITES}".encode()).hexdigest()
        with _LOCK:
            _KEYS.setdefault(model, {})[tag] = key
    return key


@contextlib.contextmanager
def _no_blas_note():
    """Silence PyTensor's note that a PyPI install links no BLAS (these graphs need none)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        yield


def map_function(model, names, *, announce=None):
    """Return the MAP + Laplace function of ``model`` (JAX), holding the model's data.

    Parameters
    ----------
    model : pymc.Model
        Its free variables ``names`` are scalars; its data are ``pm.Data`` containers, whose
        current values the returned function reads.
    names : sequence of str
    announce : callable, optional
        Called as ``announce(COMPILED)`` just before building the function; not for a
        function reused in memory.

    Returns
    -------
    (bayesfit.backend.jax_functions.JaxMapFunction, str)
        The function, and how it was obtained: :data:`COMPILED` (in this process; XLA's code
        may come from JAX's cache on disk) or :data:`REUSED`.
    """
    from bayesfit.backend.jax_functions import map_function_of, rewritten_graph, use_compilation_cache

    names = tuple(names)
    built = {}

    def digest():
        built["flat"], built["logp"] = _map_logp(model, names)
        return graph_digest([built["logp"]], extra=names)

    key = _structure_key(model, ("map", names), digest)
    with _LOCK:
        fn = _MEMORY.get(key)
    how = REUSED
    if fn is None:
        if announce is not None:
            announce(COMPILED)
        use_compilation_cache(cache_dir() / "xla")
        path = cache_dir() / f"{key}-graph.pkl"
        graph = store.load(path)  # the rewritten log p graph of an earlier process: no rewriting
        with _no_blas_note():
            if not (isinstance(graph, tuple) and len(graph) == 3):
                if not built:
                    built["flat"], built["logp"] = _map_logp(model, names)
                graph = rewritten_graph([built["logp"]], [built["flat"]])
                store.save(path, graph)
            fn = map_function_of(graph, names, model_data(model))
            # compile now, for the data's padded length, so that the time is the compilation's
            fn(np.zeros(len(names)), np.zeros(len(names)))
        how = COMPILED
        with _LOCK:
            _MEMORY[key] = fn
    else:
        fn.set_data(model_data(model))  # a function built with this model's data needs none
    return fn, how


# --- nutpie's compiled model ---------------------------------------------------------------
@dataclasses.dataclass
class NutsModel:
    """nutpie's compiled model of one structure, and the map to its unconstrained space."""

    compiled: object
    to_unconstrained: object
    names: tuple

    def prepared(self, data: dict, start: dict | None):
        """Return the compiled model with ``data`` and every chain starting at ``start``."""
        known = self.compiled.shared_data
        compiled = self.compiled.with_data(**{k: v for k, v in data.items() if k in known})
        if start is not None:
            set_shared(self.to_unconstrained.get_shared(), data)  # the bounds, for the transforms
            x0 = np.asarray(self.to_unconstrained(*[float(start[n]) for n in self.names]), dtype=float)
            if not np.all(np.isfinite(x0)):
                raise ValueError(f"the NUTS start point {start} is outside the parameters' support")
            compiled = dataclasses.replace(compiled, initial_point_func=lambda seed: x0.copy())
        return compiled


def _to_unconstrained(model):
    """Compile natural values → nutpie's flat unconstrained vector (in ``model.free_RVs`` order)."""
    import pytensor
    import pytensor.tensor as pt

    inputs, parts = [], []
    for rv in model.free_RVs:
        x = pt.dscalar(rv.name)
        inputs.append(x)
        transform = model.rvs_to_transforms.get(rv)
        value = transform.forward(x, *rv.owner.inputs) if transform is not None else x
        parts.append(pt.as_tensor(value).astype("float64").ravel())
    return pytensor.function(inputs, pt.concatenate(parts), mode="FAST_COMPILE", on_unused_input="ignore")


def nuts_model(model, *, announce=None, fill=None):
    """Return nutpie's compiled model of ``model`` for this process, compiling it once.

    Parameters
    ----------
    model : pymc.Model
        Scalar free variables; data in ``pm.Data`` containers.
    announce : callable, optional
        Called as ``announce(COMPILED)`` just before compiling.
    fill : NumbaCacheFill, optional
        The child of :func:`start_numba_cache_fill` for ``model``, started earlier so that it
        compiled while this process did other work; waited for here. Without it the child
        runs now when PyTensor's numba cache lacks the structure.

    Returns
    -------
    (NutsModel, str)
        :data:`COMPILED` or :data:`REUSED`. Call its ``prepared(model_data(model), start)``.
    """
    from bayesfit.backend.nutpie_callbacks import compile_model

    key = _nuts_key(model)
    with _LOCK:
        entry = _MEMORY.get(key)
    if entry is not None:
        if fill is not None:
            fill.cancel()
        return entry, REUSED
    if announce is not None:
        announce(COMPILED)
    if fill is None:
        fill = start_numba_cache_fill(model)
    if fill is not None:
        fill.wait()
    with _no_blas_note():
        compiled = compile_model(model, _nuts_file(key))
        names = tuple(rv.name for rv in model.free_RVs)
        entry = NutsModel(compiled, _to_unconstrained(model), names)
    with _LOCK:
        _MEMORY[key] = entry
    return entry, COMPILED


def _nuts_file(key):
    """Return the disk-cache file of nutpie's rewritten functions for the structure ``key``."""
    import nutpie

    return cache_dir() / f"{key}-nutpie{nutpie.__version__}.pkl"


def _nuts_key(model):
    def digest():
        values = [model.rvs_to_values[rv] for rv in model.free_RVs]
        transforms = [f"{rv.name}:{type(model.rvs_to_transforms.get(rv)).__qualname__}"
                      for rv in model.free_RVs]
        return graph_digest([model.logp(jacobian=True), *values], extra=transforms)

    return _structure_key(model, ("nuts",), digest)


class NumbaCacheFill:
    """A child process compiling nutpie's model into PyTensor's numba cache (see below)."""

    def __init__(self, process, payload, marker):
        self.process, self.payload, self.marker = process, payload, marker

    def wait(self):
        """Wait for the child; mark the structure as cached if it succeeded."""
        try:
            code = self.process.wait(timeout=3600)
        except Exception:  # noqa: BLE001 - a hung child costs the guarantee, never the fit
            self.cancel()
            return
        finally:
            self.payload.unlink(missing_ok=True)
        if code == 0:
            self.marker.touch()

    def cancel(self):
        """Stop the child (the fit failed or no longer needs it)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.payload.unlink(missing_ok=True)


def start_numba_cache_fill(model):
    """Start compiling nutpie's model in a child process if PyTensor's numba cache lacks it.

    numba's machine code differs in its last bits between a function compiled in this process
    (its LLVM IR is linked into, and optimised with, the sampler's callback) and the same
    function loaded from PyTensor's numba cache (linked as object code). NUTS trajectories
    amplify last-bit differences, so with one seed the first process on a fresh cache drew
    other samples than every later process. Filling the cache in a child first makes every
    process, the first included, load the same code from the cache: a seed then fixes the
    draws whatever the state of the caches. A marker file in the cache folder records that the
    structure is there; a failed child only costs that guarantee, never the fit.

    The engine starts the child before the MAP + Laplace fit, whose compilation (JAX) then
    runs beside it, and waits for it in :func:`nuts_model`. The
    child holds a file lock per structure and marks the structure done itself, so a second
    process needing the same structure meanwhile waits and compiles nothing.

    Parameters
    ----------
    model : pymc.Model
        The model NUTS will sample.

    Returns
    -------
    NumbaCacheFill or None
        ``None`` when nothing needs compiling (cached, caching off, compiled in this process)
        or no child can be started.
    """
    import pytensor

    if not pytensor.config.numba__cache:
        return None  # every process compiles afresh: the same code each time
    key = _nuts_key(model)
    with _LOCK:
        if key in _MEMORY:
            return None
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    # "-cb": the child also stores the C callbacks (markers of earlier versions did not); the
    # optimisation level is part of the name, as it changes the code
    from bayesfit.backend.nutpie_callbacks import sampler_numba_opt

    opt = sampler_numba_opt()
    marker = Path(NUMBA_CACHE_PATH) / f"bayesfit-cb-{hashlib.sha256(f'{key}|opt{opt}'.encode()).hexdigest()[:32]}"
    if marker.exists():
        return None
    import subprocess

    import cloudpickle

    try:
        fd, name = tempfile.mkstemp(prefix="bayesfit-model-", suffix=".pkl")
        with os.fdopen(fd, "wb") as fh:
            fh.write(cloudpickle.dumps(model))
    except Exception:  # noqa: BLE001 - an unpicklable model is compiled here, as before
        return None
    payload = Path(name)
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", "from bayesfit.backend.compiled import _compile_child; _compile_child()", name,
             str(marker)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "NUMBA_OPT": opt})
    except (OSError, subprocess.SubprocessError):  # no child possible: compile here, as before
        payload.unlink(missing_ok=True)
        return None
    return NumbaCacheFill(process, payload, marker)


def _compile_child():
    """Entry point of the child of :func:`start_numba_cache_fill`: compile the pickled model, exit."""
    import warnings

    import cloudpickle

    from bayesfit.backend.nutpie_callbacks import compile_model
    from bayesfit.core.logs import quiet

    warnings.simplefilter("ignore")
    quiet()
    with open(sys.argv[1], "rb") as fh:
        model = cloudpickle.loads(fh.read())
    marker = Path(sys.argv[2])
    # one child per structure at a time: a second process fitting the same structure (another
    # pytest worker, a second terminal) waits, then finds it cached instead of compiling it again
    with store.structure_lock(marker):
        if not marker.exists():
            compile_model(model, _nuts_file(_nuts_key(model)))
            marker.touch()
