"""The MAP + Laplace function in JAX: log p of the PyMC graph, its gradient and Hessian-vector products.

Why JAX here: the MAP + Laplace fit needs log p, ∇log p and Hessian-vector products of the
posterior of a *new* model structure as soon as the maximum-likelihood fit is done. PyTensor's C
backend built that function in 20–200 s per structure (its rewrites of the differentiated graph,
then one ``g++`` per operation); here PyTensor rewrites and translates only the graph of log p
(:func:`rewritten_graph`, :func:`translate`), JAX differentiates it (reverse mode for the
gradient, forward over reverse for the Hessian-vector product, both exact) and XLA compiles the
three together in a few seconds.
XLA's code is kept in JAX's persistent compilation cache (:func:`use_compilation_cache`), so a
later process reuses it.

XLA compiles for fixed array shapes. The events of an unbinned fit therefore enter padded to
one of a few lengths (:func:`bayesfit.backend.graphs.padded_events`, with zero weights on the
padding): a refit with another number of events, a toy with a Poisson-fluctuated count, reuses
the compiled code unless its count crosses into the next length (at most 9 % longer).

Use :func:`map_function_of` through :func:`bayesfit.backend.compiled.map_function`, which adds
the caches; nothing else in bayesfit needs JAX.

Process-wide effects to know about, from the first MAP + Laplace fit on: JAX computes in double
precision (``jax_enable_x64``), keeps compiled code in bayesfit's cache folder, and PyTensor's
``Erfcx`` has a JAX translation (bayesfit's, see ``_register_erfcx``); a user's own JAX code in the same
process sees all three.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings

import numpy as np

from bayesfit.backend.graphs import SKIPPED_REWRITES, padded_events

__all__ = ["JaxMapFunction", "rewritten_graph", "translate", "map_function_of", "use_compilation_cache"]

_SETUP = threading.Lock()
_CACHE_DIR = []  # the folder given to JAX's persistent cache, once per process


def _jax():
    """Import JAX in double precision with bayesfit's additions (the erfcx translation)."""
    import jax

    with _SETUP:
        if not jax.config.jax_enable_x64:
            jax.config.update("jax_enable_x64", True)
        _register_erfcx()
    return jax


_ERFCX = []
#: Where the JAX erfcx changes from exp(x²)·erfc(x) to the log Φ form.
_ERFCX_SWITCH = 25.0


def _register_erfcx():
    """Give PyTensor's ``Erfcx`` a JAX translation (JAX has no erfcx; PyTensor's asks for TFP).

    erfcx(x) = exp(x²)·erfc(x) with JAX's ``erfc``, which keeps its relative precision in the
    tail (within 2e-15 of scipy's erfcx for x < 26, where erfc still is a normal number); from
    x = 25 on, where erfc underflows, 2·exp(x² + log Φ(−√2·x)) with JAX's ``log_ndtr`` (within
    3e-9). Each branch sees only arguments of its own range, so neither gives the gradient a
    NaN. Registered once per process, for every graph translated to JAX afterwards (PyTensor's
    public ``jax_funcify`` dispatch).
    """
    if _ERFCX:
        return
    import jax.numpy as jnp
    from jax.scipy.special import erfc, log_ndtr
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.scalar.math import Erfcx

    def erfcx(x):
        near = x < _ERFCX_SWITCH
        x_near = jnp.where(near, x, 0.0)
        x_far = jnp.where(near, _ERFCX_SWITCH, x)
        return jnp.where(near, jnp.exp(x_near * x_near) * erfc(x_near),
                         2.0 * jnp.exp(x_far * x_far + log_ndtr(-np.sqrt(2.0) * x_far)))

    @jax_funcify.register(Erfcx)
    def _jax_funcify_erfcx(op, **kwargs):
        return erfcx

    _ERFCX.append(erfcx)


def use_compilation_cache(folder):
    """Keep XLA's compiled code in ``folder`` (JAX's persistent cache), for this process's life.

    Every compilation is stored, however quick: the cache is what makes a model's second run
    skip XLA. Only the first call in a process takes effect (JAX reads the setting once).

    Parameters
    ----------
    folder : pathlib.Path
    """
    jax = _jax()
    with _SETUP:
        if _CACHE_DIR:
            return
        _CACHE_DIR.append(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only home: XLA compiles in every process, the fit goes on
            return
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def rewritten_graph(outputs, inputs):
    """Return the rewritten graph of ``outputs`` with the graph's data as explicit inputs.

    The graph is rewritten with the rewrites of PyTensor's JAX mode less
    :data:`~bayesfit.backend.graphs.SKIPPED_REWRITES` (stabilisation included: log-sum-exp,
    log1p and the like stay exact in the tails). It holds no data, so it can be stored and
    translated again by a later process (:func:`translate`) without rewriting.

    Parameters
    ----------
    outputs : sequence of pytensor.graph.basic.Variable
    inputs : sequence of pytensor.graph.basic.Variable
        The explicit inputs (not shared variables).

    Returns
    -------
    (pytensor.graph.fg.FunctionGraph, tuple of str, tuple of str)
        The graph, whose inputs are ``inputs`` then the data; the names of the data (the
        graph's shared variables, PyMC's ``pm.Data``) in that order, and their dtypes.
    """
    _jax()
    from pytensor.compile.mode import get_mode
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import clone_replace

    shared = [v for v in _graph_inputs(outputs) if isinstance(v, SharedVariable)]
    symbolic = [v.type() for v in shared]
    replaced = clone_replace(list(outputs), replace=dict(zip(shared, symbolic)))
    fgraph = FunctionGraph([*inputs, *symbolic], replaced, clone=True)
    get_mode("JAX").excluding(*SKIPPED_REWRITES).optimizer.rewrite(fgraph)
    return fgraph, tuple(v.name for v in shared), tuple(str(v.type.dtype) for v in shared)


def translate(fgraph):
    """Return the JAX function of a rewritten graph (:func:`rewritten_graph`): ``f(*inputs) -> tuple``."""
    _jax()
    from pytensor.link.jax.dispatch import jax_funcify

    with warnings.catch_warnings():
        # PyMC's bound checks (lower <= upper) are assertions JAX cannot keep: the bounds are
        # checked where they are declared (bayesfit.core.parameter)
        warnings.filterwarnings("ignore", message=r"Skipping .* as JAX tracing would remove it")
        return jax_funcify(fgraph)


def _graph_inputs(outputs):
    try:
        from pytensor.graph.traversal import graph_inputs
    except ImportError:  # PyTensor before 2.32
        from pytensor.graph.basic import graph_inputs
    return graph_inputs(outputs)


@dataclasses.dataclass
class JaxMapFunction:
    """log p, ∇log p and a Hessian-vector product of a model on natural parameters, compiled by XLA.

    Call it as ``fn(x, v) -> (logp, grad, hvp)``; :meth:`set_data` swaps the data in.
    """

    compiled: object
    names: tuple
    data_names: tuple
    dtypes: tuple
    data: list

    def __call__(self, x, v):
        logp, grad, hvp = self.compiled(np.asarray(x, dtype=float), np.asarray(v, dtype=float), *self.data)
        return np.asarray(logp), np.asarray(grad), np.asarray(hvp)

    def set_data(self, data: dict):
        """Give the function new data, ``{container name: array}`` (any length).

        Containers the function does not read are ignored: they cannot change its values. The
        events of an unbinned fit are padded (see the module docstring).
        """
        data = padded_events(data)
        for i, (name, dtype) in enumerate(zip(self.data_names, self.dtypes)):
            if name in data:
                self.data[i] = np.asarray(data[name], dtype=dtype)


def map_function_of(graph, names, data) -> JaxMapFunction:
    """Return the :class:`JaxMapFunction` of a rewritten log p graph, holding ``data``.

    XLA compiles on the first call (and again for each new padded length of the events).

    Parameters
    ----------
    graph : tuple
        :func:`rewritten_graph` of ``[logp]`` with the flat parameter vector as its one input:
        log p (no Jacobian) of the natural parameters joined in one vector, in ``names``' order.
    names : sequence of str
    data : dict
        ``{container name: array}``, the model's data.

    Returns
    -------
    JaxMapFunction
    """
    jax = _jax()
    fgraph, data_names, dtypes = graph
    log_density = translate(fgraph)

    def value(x, *data):
        return log_density(x, *data)[0]

    def value_grad_hvp(x, v, *data):
        # forward over reverse: the directional derivative of (log p, ∇log p) along v
        (logp_x, grad), (_, hvp) = jax.jvp(lambda y: jax.value_and_grad(value)(y, *data), (x,), (v,))
        return logp_x, grad, hvp

    fn = JaxMapFunction(jax.jit(value_grad_hvp), tuple(names), tuple(data_names), tuple(np.dtype(d) for d in dtypes),
                        [None] * len(data_names))
    fn.set_data(data)
    missing = [n for n, d in zip(fn.data_names, fn.data) if d is None]
    if missing:
        raise ValueError(f"no data for {missing}")
    return fn
