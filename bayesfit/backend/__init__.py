"""Everything that compiles and caches, behind a small interface.

The engine asks :mod:`~bayesfit.backend.compiled` for a structure's MAP + Laplace functions
(:func:`~bayesfit.backend.compiled.map_function`) and nutpie's sampler model
(:func:`~bayesfit.backend.compiled.nuts_model`); how they are compiled (JAX and XLA for the
MAP + Laplace function, :mod:`~bayesfit.backend.jax_functions`; nutpie's callbacks from cached source,
:mod:`~bayesfit.backend.nutpie_callbacks`) and stored (:mod:`~bayesfit.backend.store`) stays
here. Every private name of a dependency that this needs is reached through
:mod:`~bayesfit.backend.compat`, which checks the installed versions and falls back to the
public path outside the tested ones.
"""
