"""The three fits of one problem and their comparison.

- :mod:`~bayesfit.engine.mle`: maximum likelihood with iminuit (MIGRAD, HESSE, MINOS);
- :mod:`~bayesfit.engine.bayes`: MAP + Laplace from the PyMC model, and NUTS;
- :mod:`~bayesfit.engine.fits`: :func:`~bayesfit.engine.fits.run_fits`, the comparison, the
  diagnostics and the posterior-predictive check;
- :mod:`~bayesfit.engine.result`: :class:`~bayesfit.engine.result.FitResult` and its parts.
"""
