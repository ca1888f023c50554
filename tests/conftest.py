"""Shared fixtures: seeded generators and short NUTS settings for the test suite.

Compiled functions are shared by every test of a session: bayesfit keeps them in memory per
model structure (:mod:`bayesfit.backend.compiled`), and the command-line tests, which run in
subprocesses, share one on-disk cache folder made for the session (not the user's).
"""

import functools
import os
import shutil
import tempfile

import numpy as np
import pytest


def pytest_configure(config):
    if "BAYESFIT_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="bayesfit-test-cache-")
        os.environ["BAYESFIT_CACHE_DIR"] = folder
        config._bayesfit_cache = folder


@functools.cache
def graph_mode():
    """Return the mode for tests of a graph's values: every ``fast_run`` rewrite, no compiler.

    Tests of densities, cdfs and their gradients check the mathematics of a graph as PyTensor
    rewrites it (the numerically stable forms, the gradients' switches) at a few points. Each
    op then runs its Python implementation (numpy, scipy.special) instead of a C module that
    gcc would compile for that test alone (the double-sided Crystal Ball's gradients: 54 s of
    CPU cold in C, 16 s so). Fusion is left out: the Python linker cannot run fused
    multi-output kernels, and fusion merges loops without changing a value. Sums and products
    of more than 31 terms (a gradient's accumulation) are split into nested ones: NumPy
    ufuncs, which the Python linker runs, take at most 32 operands. The code the fits run (the
    MAP's C function, nutpie's numba model) is tested as compiled, in its own tests.
    """
    from pytensor.compile.mode import Mode
    from pytensor.graph.rewriting.basic import in2out

    return Mode(linker="py", optimizer="fast_run").excluding("fusion").register((in2out(_split_wide_sums()), 49.8))


def _split_wide_sums():
    """Return a rewrite that nests an elementwise sum or product of more than 31 operands."""
    import pytensor.tensor as pt
    from pytensor.graph.rewriting.basic import node_rewriter
    from pytensor.scalar import basic as ps
    from pytensor.tensor.elemwise import Elemwise

    @node_rewriter([Elemwise])
    def split_wide_sums(fgraph, node):
        combine = {ps.Add: pt.add, ps.Mul: pt.mul}.get(type(node.op.scalar_op))
        terms = list(node.inputs)
        if combine is None or len(terms) <= 31:
            return None
        while len(terms) > 31:
            terms = [combine(*terms[i:i + 31]) for i in range(0, len(terms), 31)]
        return [combine(*terms)]

    return split_wide_sums


def pytest_unconfigure(config):
    folder = getattr(config, "_bayesfit_cache", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("BAYESFIT_CACHE_DIR", None)


def gaussian_peak():
    """Return the Gaussian peak of the toy and calibration tests: μ ∈ [−1, 1], σ ∈ [0.5, 2] on [−8, 8].

    The same as notebook 05's calibration model, so that the tests and the notebook share one
    compiled MAP function and one sampler model (a structure is compiled once per session).
    """
    import bayesfit as bf

    mu = bf.Parameter("mu", 0.0, -1.0, 1.0)
    sigma = bf.Parameter("sigma", 1.0, 0.5, 2.0)
    return bf.WindowModel((-8.0, 8.0), [bf.Gaussian(mu, sigma)], name="gaussian peak")


#: Short chains: enough for Monte-Carlo-error checks, short enough for CI's two cores.
QUICK_NUTS = dict(draws=500, tune=500, chains=4, seed=11, progressbar=False)


@pytest.fixture
def rng():
    """Return a seeded random generator."""
    return np.random.default_rng(20261122)


@pytest.fixture
def quick_nuts():
    """Return keyword arguments for a short NUTS run."""
    return dict(QUICK_NUTS)
