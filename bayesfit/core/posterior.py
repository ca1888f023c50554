"""Posterior draws out of ArviZ ``InferenceData``, as plain arrays.

The engine, the models' plots and the studies all read draws the same way: chains
concatenated, one column per parameter, in the model's parameter order.
"""

import numpy as np

__all__ = ["posterior_draws", "posterior_correlation"]


def posterior_draws(idata, names) -> np.ndarray:
    """Return the posterior draws of ``names``, chains concatenated.

    Parameters
    ----------
    idata : arviz.InferenceData
    names : sequence of str

    Returns
    -------
    numpy.ndarray
        Shape ``(draws, len(names))``.
    """
    return np.stack([np.asarray(idata.posterior[n]).ravel() for n in names], axis=1)


def posterior_correlation(idata, names) -> np.ndarray:
    """Return the correlation matrix of the posterior draws of ``names``.

    Parameters
    ----------
    idata : arviz.InferenceData
    names : sequence of str

    Returns
    -------
    numpy.ndarray
    """
    return np.atleast_2d(np.corrcoef(posterior_draws(idata, names), rowvar=False))
