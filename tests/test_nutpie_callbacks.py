"""nutpie's model with disk-cached C callbacks: the callbacks compute what PyTensor computes."""

import ctypes

import numpy as np
import pytensor.tensor as pt
import pytest

pytest.importorskip("nutpie")
pm = pytest.importorskip("pymc")

from bayesfit.backend.nutpie_callbacks import compile_model  # noqa: E402


def _model(special=None):
    # Data of rank 0, 1 and 2, a bounded parameter (a transform) and a deterministic: every
    # path of the generated callbacks. With ``special="erfcinv"`` the graph holds an Op PyTensor
    # cannot cache (scipy through a function pointer): the callbacks are then compiled uncached;
    # ``"erfcx"`` is such an Op made cacheable by bayesfit.
    rng = np.random.default_rng(5)
    with pm.Model() as model:
        y = pm.Data("y", rng.normal(1.0, 2.0, 40))
        scale = pm.Data("scale", np.array(2.0))
        design = pm.Data("design", rng.normal(size=(40, 2)))
        mu = pm.Normal("mu", 0.0, 10.0)
        beta = pm.Normal("beta", 0.0, 1.0, shape=2)
        sigma = pm.Uniform("sigma", 0.1, 10.0)
        pm.Deterministic("twice_mu", 2 * mu)
        pm.Normal("obs", mu + pm.math.dot(design, beta), sigma * scale / 2.0, observed=y)
        if special == "erfcx":
            pm.Potential("tail", pm.math.log(pt.erfcx(mu / 10.0)))
        elif special == "erfcinv":
            pm.Potential("tail", pt.erfcinv(pm.math.sigmoid(mu / 10.0)))
    return model


def _call_logp(compiled, x):
    cb = compiled.compiled_logp_func.ctypes
    grad, logp = np.zeros(compiled.n_dim), np.zeros(())
    as_ptr = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    code = cb(compiled.n_dim, as_ptr(np.ascontiguousarray(x)), as_ptr(grad), as_ptr(logp),
              ctypes.c_void_p(compiled.user_data.ctypes.data))
    return code, float(logp), grad


def _call_expand(compiled, x):
    cb = compiled.compiled_expand_func.ctypes
    out = np.zeros(compiled.n_expanded)
    as_ptr = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    code = cb(compiled.n_dim, compiled.n_expanded, as_ptr(np.ascontiguousarray(x)), as_ptr(out),
              ctypes.c_void_p(compiled.user_data.ctypes.data))
    return code, out


@pytest.mark.parametrize("special", [None, "erfcx", "erfcinv"])
def test_callbacks_equal_pytensor_and_follow_new_data(special):
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    model = _model(special)
    compiled = compile_model(model)
    assert type(compiled).__name__ == "CachedCallbacksModel"  # not nutpie's fallback
    stored = CACHED_SRC_FUNCTIONS.get(compiled.logp_func.vm.jit_fn.py_func) is not None
    assert stored is (special != "erfcinv")  # the case this parameter is meant to cover
    rng = np.random.default_rng(1)
    new = compiled.with_data(y=rng.normal(size=13), scale=np.array(0.5), design=rng.normal(size=(13, 2)))
    for c in (compiled, new):
        for _ in range(3):
            x = rng.normal(size=c.n_dim)
            code, logp, grad = _call_logp(c, x)
            assert code == 0
            # PyTensor's own function on the same data: set the model's containers to them.
            for name, value in c.shared_data.items():
                dict((s.name, s) for s in c.logp_func.get_shared())[name].set_value(value)
            ref_logp, ref_grad = c.logp_func(x)
            assert logp == pytest.approx(float(ref_logp), rel=1e-12)
            np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-12)
            code, values = _call_expand(c, x)
            assert code == 0
            (ref_values,) = c.expand_func(x)
            np.testing.assert_allclose(values, ref_values, rtol=1e-14)
            assert values[-1] == pytest.approx(2 * x[0])  # twice_mu
    assert _call_logp(compiled, np.zeros(compiled.n_dim))[1] != _call_logp(new, np.zeros(new.n_dim))[1]


def test_cacheable_erfcx_is_scipys_and_cached():
    import pytensor
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS
    from scipy import special

    from bayesfit.backend.nutpie_callbacks import _cacheable_erfcx

    assert _cacheable_erfcx()
    x = pt.dvector("x")
    f = pytensor.function([x], pt.erfcx(x), mode="NUMBA")
    values = np.array([-30.0, -3.0, -0.5, 0.0, 1e-3, 0.7, 5.0, 30.0, 1e5, 1e300, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(f(values), special.erfcx(values))  # the same routine: bit for bit
    assert CACHED_SRC_FUNCTIONS.get(f.vm.jit_fn.py_func) is not None  # PyTensor can store it now
    y = pt.fvector("y")  # other dtypes: PyTensor's own implementation
    g = pytensor.function([y], pt.erfcx(y), mode="NUMBA")
    np.testing.assert_allclose(g(values[:8].astype("float32")), special.erfcx(values[:8]), rtol=1e-6)


def test_callbacks_reject_a_wrong_dimension_and_bad_data():
    compiled = compile_model(_model())
    cb = compiled.compiled_logp_func.ctypes
    buf = np.zeros(8)
    p = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    assert cb(compiled.n_dim + 1, p, p, p, ctypes.c_void_p(compiled.user_data.ctypes.data)) == -1
    with pytest.raises(ValueError, match="rank"):
        compiled.with_data(y=np.zeros((3, 3)))
    with pytest.raises(KeyError):
        compiled.with_data(nonsense=np.zeros(3))
    # Inconsistent lengths (y has 5 rows, the design 40): the graph's shape check fails inside
    # the callback, which reports an error code instead of crashing the sampler.
    assert _call_logp(compiled.with_data(y=np.zeros(5)), np.zeros(compiled.n_dim))[0] != 0
    # A point where the gradient overflows: code 3 (nutpie treats the point as divergent),
    # the gradient still written out in full.
    code, logp, grad = _call_logp(compiled, np.array([1e200] + [0.0] * (compiled.n_dim - 1)))
    assert code == 3 and logp == -np.inf
    assert np.isfinite(grad[0]) and not np.all(np.isfinite(grad))


@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaPerformanceWarning")  # in nutpie's own
def test_sampling_matches_nutpie_own_compilation():
    import dataclasses

    import nutpie

    model = _model()
    x0 = np.array([0.3, 0.1, -0.2, 0.4])
    draws = []
    for compiled in (compile_model(model), nutpie.compile_pymc_model(model, backend="numba")):
        compiled = dataclasses.replace(compiled, initial_point_func=lambda seed: x0.copy())
        trace = nutpie.sample(compiled, draws=200, tune=200, chains=2, seed=9, progress_bar=False)
        draws.append(trace.posterior["mu"].values)
    # The same graph code behind both callbacks: the same chains, to rounding.
    np.testing.assert_allclose(draws[0], draws[1], rtol=1e-6, atol=1e-9)


def test_functions_loaded_from_the_disk_cache_use_the_model_data(tmp_path, monkeypatch):
    """A second process's path: the pickled functions, with this model's data, not the stored ones."""
    from nutpie import compile_pymc

    cache_file = tmp_path / "nuts.pkl"
    first = compile_model(_model(), cache_file)
    assert cache_file.exists()
    other = _model()
    with other:
        pm.set_data({"y": np.linspace(-3.0, 4.0, 25), "design": np.ones((25, 2)), "scale": np.array(3.0)})
    fresh = compile_model(other)

    def rebuilt(*args, **kwargs):
        raise AssertionError("the graph was rewritten again instead of loaded")

    monkeypatch.setattr(compile_pymc, "_make_functions", rebuilt)
    loaded = compile_model(other, cache_file)
    x = np.array([0.3, -0.2, 0.5, 0.1])
    code, logp, grad = _call_logp(loaded, x)
    assert code == 0
    assert (logp, *grad) == pytest.approx((_call_logp(fresh, x)[1], *_call_logp(fresh, x)[2]), rel=1e-12)
    assert logp != pytest.approx(_call_logp(first, x)[1])  # other data, another value
    assert loaded.shared_data["y"].shape == (25,)
