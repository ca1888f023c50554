"""What bayesfit's compiled functions are made of: the rewrites left out, the data they hold.

Both compiled programs of a structure (the MAP + Laplace function and nutpie's sampler model)
are PyTensor functions compiled with PyTensor's default rewrites less :data:`SKIPPED_REWRITES`,
and read their data from shared variables (PyMC's ``pm.Data``): :func:`model_data` reads a
model's data, :func:`set_shared` gives a compiled function new data, and
:func:`storable_data` shrinks data to what a cache file keeps.
"""

import math

import numpy as np

__all__ = ["SKIPPED_REWRITES", "EVENTS", "EVENT_WEIGHTS", "model_data", "set_shared", "storable_data",
           "padded_length", "padded_events"]

#: PyTensor rewrites left out of bayesfit's compiled functions (MAP + Laplace, nutpie's model).
#: ``local_greedy_distributor`` (distributing products over sums to save a multiplication)
#: spent 12 s of the Z line shape's 20 s of graph rewriting and doubled its C code: that
#: model's MAP + Laplace function compiled cold in 76 s with it and 39 s without, and ran 10 %
#: faster without; log p, gradient and Hessian-vector product agree to 10⁻¹³.
SKIPPED_REWRITES = ("local_greedy_distributor",)

#: How the ``pm.Data`` of an unbinned fit end: ``{prefix}events`` holds the events and
#: ``{prefix}event_weights`` a weight per event (1 for every real event), which lets a compiled
#: function of fixed array lengths take the events padded (:func:`padded_events`).
EVENTS, EVENT_WEIGHTS = "events", "event_weights"
#: The shortest padded length, and the ratio of one padded length to the next (2^(1/8): at most
#: 9 % of the evaluated events are padding).
_SHORTEST, _RATIO = 64, 2 ** 0.125


def model_data(model) -> dict:
    """Return the values of a PyMC model's ``pm.Data`` containers, ``{name: array}``.

    Parameters
    ----------
    model : pymc.Model

    Returns
    -------
    dict
    """
    return {v.name: v.get_value() for v in model.data_vars}


def set_shared(shared_vars, data: dict):
    """Give each shared variable named in ``data`` its value there; leave the others alone.

    Parameters
    ----------
    shared_vars : sequence of pytensor.compile.SharedVariable
    data : dict
        ``{name: array}``.
    """
    for var in shared_vars:
        if var.name in data:
            var.set_value(np.asarray(data[var.name], dtype=var.dtype))


def storable_data(data: dict) -> dict:
    """Return ``data`` with one entry of each array: what a cache file stores.

    The file stays small, and the compiled functions take data of any length.

    Parameters
    ----------
    data : dict

    Returns
    -------
    dict
    """
    return {k: np.asarray(v)[:1] if np.ndim(v) else v for k, v in data.items()}


def padded_length(n: int) -> int:
    """Return the length that ``n`` events are padded to: the first of 64, ⌈64·2^(1/8)⌉, … ≥ ``n``.

    Parameters
    ----------
    n : int

    Returns
    -------
    int
    """
    length = _SHORTEST
    while length < n:
        length = math.ceil(length * _RATIO)
    return length


def padded_events(data: dict) -> dict:
    """Return ``data`` with each ``{prefix}events`` padded to :func:`padded_length`, its weights with 0.

    The padding repeats the first event (inside the window, so its log density is finite) with
    weight 0: Σ wᵢ log p(xᵢ) and every derivative of it are unchanged. Events without their
    ``{prefix}event_weights`` beside them, and an empty set of events, are left as they are.

    Parameters
    ----------
    data : dict
        ``{container name: array}``.

    Returns
    -------
    dict
    """
    out = dict(data)
    for name, events in data.items():
        if not name.endswith(EVENTS):
            continue
        weights_name = name[: -len(EVENTS)] + EVENT_WEIGHTS
        events = np.asarray(events)
        if weights_name not in data or events.ndim != 1 or len(events) == 0:
            continue
        extra = padded_length(len(events)) - len(events)
        out[name] = np.concatenate([events, np.full(extra, events[0], dtype=events.dtype)])
        weights = np.asarray(data[weights_name])
        out[weights_name] = np.concatenate([weights, np.zeros(extra, dtype=weights.dtype)])
    return out
