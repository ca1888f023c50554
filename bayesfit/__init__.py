"""bayesfit: classic particle-physics likelihood fits, done three ways side by side.

Declare a model, fit it, read the comparison::

    import bayesfit as bf
    mu = bf.Parameter("mu", 10.575, 10.50, 10.65, unit="GeV")
    ...
    model = bf.WindowModel((10.2, 10.8), [bf.CrystalBall(mu, sigma, alpha, n),
                                          bf.Exponential(slope)], fractions=[f_sig])
    res = bf.fit(model, masses, sample=True)
    res                     # the comparison table (HTML in Jupyter)
    res["mu"].hesse, res["mu"].posterior.hdi_68
    res.save("out/")        # result.json, summary.md, plots (PNG, PDF), posterior.nc

For the model and the same data :func:`bayesfit.fit` runs

1. maximum likelihood with iminuit (MIGRAD, HESSE, MINOS) on the components' independent
   numpy/scipy references (:mod:`bayesfit.engine.mle`);
2. the posterior mode and its Laplace covariance from the PyMC model built from the
   components' PyTensor graphs (:mod:`bayesfit.engine.bayes`);
3. optionally the NUTS posterior (nutpie), summarised with ArviZ;

and compares them parameter by parameter (:mod:`bayesfit.engine.fits`).

The subpackages are the architecture; each imports only those below it (checked by
import-linter, contracts in ``pyproject.toml``):

========================== =============================================================
``bayesfit.cli``, ``api``  the command line and :func:`fit`
``bayesfit.studies``       many fits: toys, coverage, SBC, the signal test, limits, Dask
``bayesfit.engine``        the three fits, their comparison and the result objects
``bayesfit.modeling``      models: :class:`WindowModel`, :class:`LeastSquares`, kernels
``bayesfit.distributions`` density components, one module each
``bayesfit.backend``       compilation and caches, and the one door to dependencies' internals
``bayesfit.output``        tables, number formatting, plots, the output folder
``bayesfit.core``          parameters, data input, constants shared by all
========================== =============================================================

The shipped models are in :mod:`bayesfit.models`; the command line is ``python -m bayesfit``.
Importing bayesfit is cheap and changes nothing global: the names below load on first use,
and neither matplotlib's backend nor warning filters are touched.
"""

import importlib as _importlib

__version__ = "0.3.0"

_EXPORTS = {
    "Parameter": "core.parameter",
    "Derived": "core.parameter",
    "WindowModel": "modeling.window",
    "Simultaneous": "modeling.simultaneous",
    "GaussianConstraint": "modeling.constraints",
    "PoissonConstraint": "modeling.constraints",
    "LogNormalConstraint": "modeling.constraints",
    "LeastSquares": "modeling.least_squares",
    "fit": "api",
    "toys": "studies.toys",
    "sbc": "studies.sbc",
    "signal_test": "studies.discovery",
    "upper_limit": "studies.limits",
    "Counting": "studies.limits",
    "counting_coverage": "studies.limits",
    "limit_coverage": "studies.limits",
    "significance": "studies.search",
    "mass_scan": "studies.search",
    "FitResult": "engine.result",
    "load": "engine.result",
    "InputError": "core.io",
    "Component": "distributions",
    "Gaussian": "distributions",
    "CrystalBall": "distributions",
    "DoubleCrystalBall": "distributions",
    "Exponential": "distributions",
    "Chebyshev": "distributions",
    "Uniform": "distributions",
    "RelBW": "distributions",
    "RelBWRho": "distributions",
    "RelBWGauss": "distributions",
}

__all__ = ["__version__", "models", *_EXPORTS]


def _source_checkout_models():
    """Map ``models/`` to ``bayesfit.models`` when bayesfit is imported from a source checkout.

    The wheel installs the repository's top-level ``models/`` folder as ``bayesfit.models``.
    Python run inside the checkout (``python -m bayesfit`` there, after a non-editable
    ``pip install .``) imports this folder's ``bayesfit`` instead, which has no ``models``
    subfolder: register the checkout's ``models/`` under that name, lazily (nothing runs
    until it is used), and only in that case.
    """
    import importlib.util
    import os
    import sys

    name = f"{__name__}.models"
    if name in sys.modules:
        return
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
    init = os.path.join(folder, "__init__.py")
    if not os.path.isfile(init):
        return
    try:
        if importlib.util.find_spec(name) is not None:
            return
    except (ImportError, ValueError):
        pass
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[folder])
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_source_checkout_models()


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "models":
        return _importlib.import_module(".models", __name__)
    raise AttributeError(f"module 'bayesfit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
