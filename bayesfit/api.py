"""The one public entry point: :func:`fit`, the same fit the command line runs.

Use it from a notebook or a script::

    import bayesfit as bf
    res = bf.fit(bf.models.dimuon(), masses, sample=True)
    res["mu"].mle, res["mu"].hesse, res["mu"].posterior.hdi_68
    res.save("out/")

:func:`fit` validates the data (clear :class:`bayesfit.InputError` messages before any fitting),
derives start values from the data where the model knows how, bins large samples (with a
note), and runs the three fits of :mod:`bayesfit.engine.fits`.
"""

from __future__ import annotations

import sys

from bayesfit.engine.fits import run_fits
from bayesfit.engine.result import FitResult
from bayesfit.core.io import InputError
from bayesfit.core.sizes import MAX_CHAINS, MAX_DRAWS, MAX_KEPT, MAX_SEED

__all__ = ["fit", "check_fit_options"]



def check_fit_options(*, draws, tune, chains, seed, sampler):
    """Raise :class:`InputError` for a sampler setting that cannot work, before any fitting.

    Parameters
    ----------
    draws, tune, chains : int
    seed : int or None
    sampler : str
    """
    for name, value, least in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        most = MAX_CHAINS if name == "chains" else MAX_DRAWS
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            raise InputError(f"{name}: need an integer from {least} to {most:,} (got {value!r})")
    if draws * chains > MAX_KEPT:
        raise InputError(f"draws × chains = {draws * chains:,}: at most {MAX_KEPT:,} draws are kept in memory")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise InputError(f"seed: need an integer from 0 to 2**63 − 1 (got {seed!r})")
    if sampler not in ("auto", "nutpie", "pymc"):
        raise InputError(f"sampler: choose 'auto', 'nutpie' or 'pymc' (got {sampler!r})")


def _stderr(message):
    print(message, file=sys.stderr, flush=True)


def _silent(message):
    pass


def fit(model, data, *, sample=False, binned=None, draws=1000, tune=1000, chains=4, seed=None,
        sampler="auto", progressbar=True, log=_stderr, meta=None, check_coverage=0, workers=None,
        minos=True, bayesian=True) -> FitResult:
    """Fit a model to data three ways: iminuit MLE, MAP + Laplace, and (optionally) NUTS.

    Parameters
    ----------
    model : bayesfit.WindowModel or bayesfit.LeastSquares
        The declared model, e.g. ``bf.models.dimuon()``.
    data : array_like or dict
        Events (a one-dimensional array) for a window model; columns (a dict, or a tuple in
        the model's column order) for a least-squares model.
    sample : bool
        Also sample the posterior with NUTS.
    binned : None, bool or int
        Window models: ``None`` bins automatically from ``bayesfit.modeling.window.BINNED_ABOVE``
        events, ``False`` never bins, ``True`` bins in the default number of bins, an integer
        in that many bins (exact binned likelihood).
    draws, tune, chains : int
        NUTS draws kept per chain, tuning steps per chain, number of chains.
    seed : int, optional
        Seed of the sampler; the same seed gives the same draws.
    sampler : {"auto", "nutpie", "pymc"}
        NUTS implementation; ``"auto"`` takes nutpie when installed.
    progressbar : bool
        Show the sampler's progress bar.
    log : callable or None
        Receives one line per stage and each note; stderr by default, ``None`` for silence.
    meta : dict, optional
        Recorded in ``result.json``'s ``meta``: where the data came from (``{"source": ...}``),
        a citation, the true values of simulated data (``{"truth": {name: value}}``).
    check_coverage : int
        Run this many toys at the fitted point (the MLE as truth, as many events as the data;
        :func:`bayesfit.studies.toys.toys`) and say per parameter whether the HESSE, MINOS and Laplace
        intervals (and with ``sample`` the 68 % HDI) cover at this sample size: ``coverage``
        in the result, a warning for each interval that undercovers. 0 (the default) runs none.
    workers : int, optional
        Worker processes of the coverage toys (:func:`bayesfit.studies.toys.toys`).
    minos : bool
        Run MINOS after HESSE (default). MINOS refits the model a dozen times per parameter:
        ``False`` skips it for quick fits of large samples; the MINOS columns are then empty.
    bayesian : bool
        Run the Bayesian fits (default). ``False`` fits the maximum likelihood only, which
        compiles nothing and takes about a second: the quick loop of iterating on a model
        (the MAP, Laplace and posterior columns are then left out).

    Returns
    -------
    bayesfit.engine.result.FitResult
        Indexed by parameter name; prints as the comparison table; ``to_dict()`` and
        ``save(DIR)``.

    Raises
    ------
    bayesfit.InputError
        Bad data or options, before any fitting starts.

    Examples
    --------
    >>> import numpy as np, bayesfit as bf
    >>> model = bf.models.weighted_mean()
    >>> res = bf.fit(model, {"x": [0.5, 0.2, 0.3], "sigma": [0.25, 0.1, 0.1]}, log=None)
    >>> round(res["mean"].mle, 6), round(res["mean"].hesse, 6)
    (0.268519, 0.068041)
    """
    check_fit_options(draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler)
    if sample and not bayesian:
        raise InputError("sample=True samples the posterior: it needs the Bayesian fits (bayesian=True)")
    if not hasattr(model, "prepare"):
        raise TypeError(f"model must be a bayesfit model (WindowModel, LeastSquares), got {type(model).__name__}")
    log = log or _silent
    problem, notes = model.prepare(data, binned=binned, meta=meta)
    for note in notes:
        log(f"note: {note}")
    if check_coverage and not hasattr(model, "simulate"):
        raise InputError("check_coverage needs a model that simulates its data (a WindowModel)")
    if isinstance(check_coverage, bool) or not isinstance(check_coverage, int) or check_coverage < 0:
        raise InputError(f"check_coverage: need a number of toys ≥ 0 (got {check_coverage!r})")
    result = run_fits(problem, sample=sample, draws=draws, tune=tune, chains=chains, seed=seed,
                      sampler=sampler, progressbar=progressbar, log=log, notes=notes, minos=minos, bayesian=bayesian)
    if check_coverage:
        from bayesfit.studies.coverage import coverage_advice
        from bayesfit.studies.toys import toys

        fits = ("mle", "map", "nuts") if sample else ("mle", "map") if bayesian else ("mle",)
        log(f"coverage check: {check_coverage:,} toys of {problem.n_data:,} events at the fitted point "
            f"({', '.join(fits)}) ...")
        study = toys(model, check_coverage, problem.n_data, truth=result.mle.values, seed=seed or 0, fits=fits,
                     workers=workers, progress=log is not _silent, minos=minos)
        result.coverage = coverage_advice(study)
        result.diagnostics["warnings"].extend(result.coverage["warnings"])
        if result.coverage["warnings"]:
            result.diagnostics["ok"] = False
    return result
