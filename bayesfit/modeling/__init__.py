"""Models: what is fitted to the data, built from the density components.

- :mod:`~bayesfit.modeling.window`: :class:`~bayesfit.modeling.window.WindowModel`, a sum of
  components on a fit window (unbinned, exact binned, extended), and its problem bound to data;
- :mod:`~bayesfit.modeling.simultaneous`: :class:`~bayesfit.modeling.simultaneous.Simultaneous`,
  several window models (categories) in one likelihood, sharing parameters by object;
- :mod:`~bayesfit.modeling.constraints`: auxiliary measurements of parameters (Gaussian,
  correlated, Poisson, log-normal), in the likelihood of both fits;
- :mod:`~bayesfit.modeling.least_squares`: :class:`~bayesfit.modeling.least_squares.LeastSquares`,
  measurements with Gaussian errors against a curve;
- :mod:`~bayesfit.modeling.problem`: the interface both give the engine;
- :mod:`~bayesfit.modeling.cb_exp` and :mod:`~bayesfit.modeling.kernels`: the Crystal Ball +
  exponential mixture's compiled one-pass likelihood;
- :mod:`~bayesfit.modeling.transforms`: sampler coordinates of bounded parameters.
"""
