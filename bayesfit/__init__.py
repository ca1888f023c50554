"""bayesfit: classic particle-physics likelihood fits, done three ways side by side.

For a model (see the ``models`` package) and its data, bayesfit fits

1. maximum likelihood with iminuit (MIGRAD, HESSE, MINOS) from an independent numpy/scipy
   likelihood: :func:`bayesfit.mle.fit_mle`;
2. the posterior mode and its Laplace covariance from the PyMC model:
   :func:`bayesfit.bayes.find_map_laplace`;
3. the NUTS posterior: :func:`bayesfit.bayes.sample_nuts`;

and compares them parameter by parameter (:mod:`bayesfit.engine`). Densities PyMC lacks live
in :mod:`bayesfit.distributions`; compiled one-pass likelihoods for large unbinned samples in
:mod:`bayesfit.kernels`; sampler coordinates for lopsided posteriors in
:mod:`bayesfit.transforms`. The command line is ``python -m bayesfit``; the benchmark
``python -m bayesfit.bench``.
"""

import warnings as _warnings

# ArviZ 0.2x announces its 1.0 refactor on every import; it is not actionable for users.
_warnings.filterwarnings("ignore", message="ArviZ is undergoing a major refactor", category=FutureWarning)

__version__ = "0.1.0"
