"""What every layer of bayesfit shares: parameters, data input, limits, constants.

- :mod:`~bayesfit.core.parameter`: :class:`~bayesfit.core.parameter.Parameter`, declared once
  and shared by object between components and models;
- :mod:`~bayesfit.core.io`: reading masses and columns from text, CSV, ``.npy`` and ROOT files,
  and :class:`~bayesfit.core.io.InputError` for bad input;
- :mod:`~bayesfit.core.sizes`: the largest sizes, seeds and magnitudes accepted;
- :mod:`~bayesfit.core.constants`: statistical constants with one name each;
- :mod:`~bayesfit.core.binomial`: Clopper–Pearson intervals and zero-count bounds;
- :mod:`~bayesfit.core.posterior`: posterior draws as arrays;
- :mod:`~bayesfit.core.jsonable`: JSON-safe copies of results;
- :mod:`~bayesfit.core.interrupts` and :mod:`~bayesfit.core.logs`: signals and library loggers.

Nothing here imports any other part of bayesfit.
"""
