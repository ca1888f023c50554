"""What bayesfit's compiled functions are made of: the rewrites left out, the data they hold.

Both compiled programs of a structure (the MAP + Laplace function and nutpie's sampler model)
are PyTensor functions compiled with PyTensor's default rewrites less :data:`SKIPPED_REWRITES`,
and read their data from shared variables (PyMC's ``pm.Data``): :func:`model_data` reads a
model's data, :func:`set_shared` gives a compiled function new data, and
:func:`storable_data` shrinks data to what a cache file keeps.
"""

import numpy as np

__all__ = ["SKIPPED_REWRITES", "model_data", "set_shared", "storable_data"]

#: PyTensor rewrites left out of bayesfit's compiled functions (MAP + Laplace, nutpie's model).
#: ``local_greedy_distributor`` (distributing products over sums to save a multiplication)
#: spent 12 s of the Z line shape's 20 s of graph rewriting and doubled its C code: that
#: model's MAP + Laplace function compiled cold in 76 s with it and 39 s without, and ran 10 %
#: faster without; log p, gradient and Hessian-vector product agree to 10⁻¹³.
SKIPPED_REWRITES = ("local_greedy_distributor",)


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
