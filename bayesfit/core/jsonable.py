"""JSON-safe copies of results: what every ``*.json`` file bayesfit writes goes through.

Use :func:`to_jsonable` on a result dictionary before ``json.dumps(..., allow_nan=False)``:
numpy scalars and arrays become Python numbers and lists, NaN and infinities ``None`` (JSON
has no NaN), so every file is strict JSON that any reader parses.
"""

import math

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(obj):
    """Return a JSON-safe copy of ``obj``: numpy to Python, NaN and inf to ``None``.

    Parameters
    ----------
    obj : object
        Nested dicts, lists, tuples, numpy arrays and scalars; anything else is kept.

    Returns
    -------
    object
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    return obj
