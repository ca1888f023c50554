"""Composed window models against iminuit's own costs, and the public result API.

- Gaussian + Chebyshev (fractions), unbinned and binned, against iminuit + numba_stats
  (``UnbinnedNLL``/``BinnedNLL`` with numba_stats' ``truncnorm`` and numpy's Chebyshev series);
- Gaussian + exponential with yields against ``ExtendedUnbinnedNLL``/``ExtendedBinnedNLL``;
- MAP = MLE and Laplace = HESSE in each case (the PyTensor graph against the numpy references);
- ``res["mu"]``, ``to_dict()`` = ``result.json``, ``save``, repr/HTML, ``res.minuit``;
- a user's component with only a PyTensor graph, priors, start values from the data.
"""

import json

import numpy as np
import pytest
from iminuit import Minuit
from iminuit.cost import BinnedNLL, ExtendedBinnedNLL, ExtendedUnbinnedNLL, UnbinnedNLL
from numpy.polynomial import chebyshev as npcheb

import bayesfit as bf

LO, HI = 0.0, 1.0
TRUTH = dict(mu=0.42, sigma=0.03, c1=-0.3, c2=0.1, f_sig=0.3)


def _gauss_cheb():
    mu = bf.Parameter("mu", 0.5, 0.0, 1.0, unit="GeV")
    sigma = bf.Parameter("sigma", 0.05, 0.005, 0.2, unit="GeV")
    c1 = bf.Parameter("c1", 0.0, -1.0, 1.0)
    c2 = bf.Parameter("c2", 0.0, -1.0, 1.0)
    f = bf.Parameter("f_sig", 0.2, 0.0, 1.0)
    return bf.WindowModel((LO, HI), [bf.Gaussian(mu, sigma), bf.Chebyshev([c1, c2])], fractions=[f],
                          unit="GeV", x_label="$m$", name="gauss_cheb")


def _cheb_pdf(x, c1, c2):
    series = [1.0, c1, c2]
    u = 2 * (x - LO) / (HI - LO) - 1
    norm = np.diff(npcheb.chebval([-1.0, 1.0], npcheb.chebint(series, lbnd=-1)))[0] * (HI - LO) / 2
    return npcheb.chebval(u, series) / norm


def _cheb_cdf(x, c1, c2):
    anti = npcheb.chebint([1.0, c1, c2], lbnd=-1)
    return npcheb.chebval(2 * (x - LO) / (HI - LO) - 1, anti) / npcheb.chebval(1.0, anti)


def _peer(cost, start, limits, names=tuple(TRUTH)):
    m = Minuit(cost, *start, name=list(names))
    m.limits = limits
    m.strategy = 2
    m.tol = 0.01
    m.migrad()
    m.hesse()
    assert m.valid
    return np.array(m.values), np.array(m.errors)


@pytest.fixture(scope="module")
def data():
    return _gauss_cheb().simulate(list(TRUTH.values()), 4_000, rng=np.random.default_rng(31))


def _check_against(res, values, errors, tol_sigma=0.01, tol_err=0.01):
    """Agreement within MIGRAD's own tolerance (EDM goal ≈ 10⁻⁵: ~0.005 σ) and 1 % on errors."""
    for k, name in enumerate(TRUTH):
        p = res[name]
        assert abs(p.mle - values[k]) < tol_sigma * p.hesse, name
        assert p.hesse == pytest.approx(errors[k], rel=tol_err), name
        assert abs(p.map - p.mle) < 0.005 * p.hesse, name  # MIGRAD's precision; the MAP is polished to ~1e-10 σ
        assert p.laplace_sd == pytest.approx(p.hesse, rel=0.01), name


def test_gauss_chebyshev_unbinned_matches_iminuit_numba_stats(data):
    from numba_stats import truncnorm  # here, not at import: it compiles (9 s on a fresh install)

    model = _gauss_cheb()
    res = bf.fit(model, data, log=None)
    pdf = lambda x, mu, sigma, c1, c2, f: (f * truncnorm.pdf(x, LO, HI, mu, sigma)
                                           + (1 - f) * _cheb_pdf(x, c1, c2))
    values, errors = _peer(UnbinnedNLL(data, pdf), [p.start for p in model.params],
                           [(p.lower, p.upper) for p in model.params])
    _check_against(res, values, errors)
    assert res.problem.meta["likelihood"] == "unbinned"


def test_gauss_chebyshev_binned_matches_iminuit(data):
    from numba_stats import truncnorm  # here, not at import: it compiles (9 s on a fresh install)

    model = _gauss_cheb()
    res = bf.fit(model, data, binned=100, log=None)  # as the README's example: one compilation
    edges = np.linspace(LO, HI, 101)
    counts = np.histogram(data, bins=edges)[0]
    cdf = lambda x, mu, sigma, c1, c2, f: (f * truncnorm.cdf(x, LO, HI, mu, sigma)
                                           + (1 - f) * _cheb_cdf(x, c1, c2))
    values, errors = _peer(BinnedNLL(counts, edges, cdf), [p.start for p in model.params],
                           [(p.lower, p.upper) for p in model.params])
    _check_against(res, values, errors)
    assert res.problem.meta["likelihood"] == "binned, 100 bins"


def _extended():
    mu = bf.Parameter("mu", 10.0, 9.0, 11.0)
    sigma = bf.Parameter("sigma", 0.2, 0.05, 1.0)
    slope = bf.Parameter("slope", -0.1, -2.0, 2.0)
    n_sig = bf.Parameter("n_sig", 500.0, 0.0, 5000.0)
    n_bkg = bf.Parameter("n_bkg", 1500.0, 0.0, 10000.0)
    return bf.WindowModel((8.0, 12.0), [bf.Gaussian(mu, sigma), bf.Exponential(slope)], yields=[n_sig, n_bkg],
                          name="extended")


EXT_TRUTH = [10.1, 0.25, -0.3, 700.0, 2000.0]


def _ext_peer(cost, model):
    return _peer(cost, [p.start for p in model.params], [(p.lower, p.upper) for p in model.params],
                 model.names)


def _exp_pdf(x, slope, lo=8.0, hi=12.0):
    return slope * np.exp(slope * (x - lo)) / np.expm1(slope * (hi - lo))


def _exp_cdf(x, slope, lo=8.0, hi=12.0):
    return np.expm1(slope * (x - lo)) / np.expm1(slope * (hi - lo))


@pytest.mark.parametrize("binned", [False, 40])
def test_extended_fit_matches_iminuit_extended_costs(binned):
    from numba_stats import truncnorm

    model = _extended()
    data = model.simulate(EXT_TRUTH, None, rng=np.random.default_rng(5))
    assert abs(data.size - 2700) < 5 * np.sqrt(2700)
    res = bf.fit(model, data, binned=binned, log=None)
    if binned:
        edges = np.linspace(8.0, 12.0, binned + 1)
        counts = np.histogram(data, bins=edges)[0]
        cdf = lambda x, mu, sigma, slope, ns, nb: ns * truncnorm.cdf(x, 8.0, 12.0, mu, sigma) + nb * _exp_cdf(x, slope)
        values, errors = _ext_peer(ExtendedBinnedNLL(counts, edges, cdf), model)
    else:
        density = lambda x, mu, sigma, slope, ns, nb: (
            ns + nb, ns * truncnorm.pdf(x, 8.0, 12.0, mu, sigma) + nb * _exp_pdf(x, slope))
        values, errors = _ext_peer(ExtendedUnbinnedNLL(data, density), model)
    for k, name in enumerate(model.names):
        p = res[name]
        assert abs(p.mle - values[k]) < 0.01 * p.hesse, name
        assert p.hesse == pytest.approx(errors[k], rel=0.01), name
        assert abs(p.map - p.mle) < 0.005 * p.hesse, name  # MIGRAD's precision; the MAP is polished to ~1e-10 σ
        assert p.laplace_sd == pytest.approx(p.hesse, rel=0.01), name
    # the total yield's error is Poisson: √N
    total = res["n_sig"].mle + res["n_bkg"].mle
    assert total == pytest.approx(data.size, rel=1e-4)
    assert res.problem.meta["likelihood"].startswith("extended")


def test_result_api(tmp_path, data):
    res = bf.fit(_gauss_cheb(), data[:1500], log=None)
    mu = res["mu"]
    assert mu.unit == "GeV" and mu.posterior is None
    assert mu.minos[0] < 0 < mu.minos[1]
    assert res.minuit.values["mu"] == mu.mle
    with pytest.raises(KeyError, match="the parameters are mu, sigma"):
        res["nope"]
    assert list(res) == ["mu", "sigma", "c1", "c2", "f_sig"]
    text = repr(res)
    assert "MINOS" in text and "χ² / ndf" in text
    assert "<table>" in res._repr_html_()
    written = res.save(tmp_path / "out")
    assert {p.name for p in written} >= {"result.json", "summary.md", "gauss_cheb_fit.png", "gauss_cheb_fit.pdf"}
    on_disk = json.loads((tmp_path / "out" / "result.json").read_text())
    expected = res.to_dict()
    for key in ("model", "n_data", "parameter_order", "parameters", "gof", "notes"):
        assert on_disk[key] == json.loads(json.dumps(expected[key])), key


class _PlainGaussian(bf.Component):
    """A user's component with only PyTensor graphs (no numpy reference)."""

    param_names = ("mu", "sigma")

    @staticmethod
    def logpdf(x, mu, sigma):
        import pytensor.tensor as pt

        return -0.5 * ((x - mu) / sigma) ** 2 - pt.log(sigma) - 0.5 * np.log(2 * np.pi)

    @staticmethod
    def logcdf(x, mu, sigma):
        import pytensor.tensor as pt

        return pt.log(0.5 * pt.erfc(-(x - mu) / (sigma * np.sqrt(2))))


def test_user_component_without_reference_works_and_says_so():
    mu = bf.Parameter("mu", 0.1, -1.0, 1.0)
    sigma = bf.Parameter("sigma", 0.5, 0.1, 2.0)
    data = np.random.default_rng(3).normal(0.2, 0.4, 2000)
    ours = bf.fit(bf.WindowModel((-2.0, 2.0), [_PlainGaussian(mu, sigma)]), data, log=None)
    reference = bf.fit(bf.WindowModel((-2.0, 2.0), [bf.Gaussian(mu, sigma)]), data, log=None)
    for name in ("mu", "sigma"):
        assert ours[name].mle == pytest.approx(reference[name].mle, abs=1e-3 * reference[name].hesse)
    assert ours.problem.meta["independent_mle"] is False
    assert any("not an independent check" in w for w in ours.diagnostics["warnings"])
    assert "independent_mle" not in reference.problem.meta


def test_prior_as_unnamed_distribution_or_function():
    import pymc as pm

    x = bf.models.relbw_model.seed_data()
    maps = []
    for prior in (pm.LogNormal.dist(0.0, 0.7), lambda name: pm.LogNormal(name, 0.0, 0.7)):
        rho = bf.Parameter("rho", 1.0, 0.05, 50.0, prior=prior)
        model = bf.WindowModel((0.0, np.inf), [bf.RelBWRho(rho, 1.0)], nbins=20)
        maps.append(bf.fit(model, x, log=None)["rho"].map)
    assert maps[0] == pytest.approx(maps[1], rel=1e-10)
    assert maps[0] == pytest.approx(bf.fit(bf.models.relbw(), x, log=None)["rho"].map, rel=1e-10)


def test_start_values_from_the_data_in_another_window():
    """The issue's example: the Υ(1S) window must not keep the Belle II start values."""
    from bayesfit.core.io import read_masses
    from bayesfit.data import example_path

    masses = read_masses(example_path("upsilon"))[0]
    problem, notes = bf.models.dimuon(window=(9.0, 9.7)).prepare(masses)
    params = {p.name: p for p in problem.params}
    assert 9.43 < params["mu"].start < 9.49
    assert 9.0 <= params["mu"].lower < params["mu"].start < params["mu"].upper <= 9.7
    # the seed's window keeps the seed's values
    default = {p.name: p for p in bf.models.dimuon().params}
    assert default["mu"].start == 10.575 and default["mu"].lower == 10.50


def test_construction_errors():
    a = bf.Parameter("a", 0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="start 2 is not inside"):
        bf.Parameter("b", 2.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="identifier"):
        bf.Parameter("a b", 0.5, 0.0, 1.0)
    g = bf.Gaussian(0.0, 1.0)
    with pytest.raises(ValueError, match="need 1 fractions"):
        bf.WindowModel((-1, 1), [g, bf.Uniform()], fractions=[a, a])
    with pytest.raises(ValueError, match="fractions or yields, not both"):
        bf.WindowModel((-1, 1), [g, bf.Uniform()], fractions=[a], yields=[a, a])
    with pytest.raises(ValueError, match="two different parameters are named 'a'"):
        bf.WindowModel((-1, 1), [bf.Gaussian(a, 1.0), bf.Uniform()], fractions=[bf.Parameter("a", 0.5, 0.0, 1.0)])
    with pytest.raises(ValueError, match="need finite lo < hi"):
        bf.WindowModel((1, -1), [g])
    with pytest.raises(bf.InputError, match="must be one-dimensional"):
        bf.fit(bf.WindowModel((-1, 1), [g]), np.zeros((3, 3)), log=None)
    with pytest.raises(bf.InputError, match="complex"):
        bf.fit(bf.WindowModel((-1, 1), [g]), np.zeros(3, dtype=complex), log=None)
    with pytest.raises(bf.InputError, match="seed"):
        bf.fit(bf.WindowModel((-1, 1), [g]), np.zeros(3), seed=-1, log=None)


def test_three_components_with_a_remainder():
    mu = bf.Parameter("mu", 0.0, -0.5, 0.5)
    f1 = bf.Parameter("f1", 0.3, 0.0, 1.0)
    f3 = bf.Parameter("f3", 0.2, 0.0, 1.0)
    model = bf.WindowModel((-1, 1), [bf.Gaussian(mu, 0.1), bf.Uniform(), bf.Exponential(1.0)],
                           fractions=[f1, None, f3])
    w = model.weights_np({"mu": 0.0, "f1": 0.3, "f3": 0.2})
    assert w == pytest.approx([0.3, 0.5, 0.2])
    problem = model.bind(model.simulate([0.0, 0.3, 0.2], 500, rng=2))
    assert np.isinf(problem.nll([0.0, 0.7, 0.5]))  # Σf > 1: no density
    assert np.isfinite(problem.nll([0.0, 0.3, 0.2]))


def test_fixed_fractions_above_one_are_refused():
    mu, sigma = bf.Parameter("mu", 0.0, -1.0, 1.0), bf.Parameter("sigma", 1.0, 0.5, 2.0)
    shapes = lambda: [bf.Gaussian(mu, sigma), bf.Exponential(bf.Parameter("slope", -0.1, -1.0, 1.0)), bf.Uniform()]
    with pytest.raises(ValueError, match=r"fractions: .* sum to 1\.3"):
        bf.WindowModel((-5.0, 5.0), shapes(), fractions=[0.7, 0.6])
    with pytest.raises(ValueError, match=r"fractions: a fixed one must lie in \[0, 1\]"):
        bf.WindowModel((-5.0, 5.0), shapes(), fractions=[-0.1, 0.5])
    f = bf.Parameter("f", 0.7, 0.5, 1.0)  # a free fraction whose lower bound leaves no room for 0.6
    with pytest.raises(ValueError, match=r"sum to 1\.1"):
        bf.WindowModel((-5.0, 5.0), shapes(), fractions=[f, 0.6])
    bf.WindowModel((-5.0, 5.0), shapes(), fractions=[0.7, 0.3])  # the remainder may be 0
    g = bf.Parameter("g", 0.1, -0.5, 1.0)  # a free fraction may go negative (an unbiased signal estimate)
    bf.WindowModel((-5.0, 5.0), shapes(), fractions=[g, 0.3])


@pytest.mark.parametrize("window, match", [((1e-300, 2e-300), "too narrow"), ((1e10, 1e10 + 1e-3), "too narrow"),
                                           ((-1e60, 1e60), "beyond"), ((0.0, 1e51), "beyond")])
def test_windows_beyond_double_precision_are_refused(window, match):
    mu, sigma = bf.Parameter("mu", 0.0, -1.0, 1.0), bf.Parameter("sigma", 1.0, 0.5, 2.0)
    with pytest.raises(ValueError, match=f"window: .*{match}"):
        bf.WindowModel(window, [bf.Gaussian(mu, sigma)])


def test_a_masked_array_fits_only_its_unmasked_values(rng):
    """A numpy masked array: the masked values are left out, with a note (they were fitted before)."""
    from tests.conftest import gaussian_peak

    model = gaussian_peak()
    good = rng.normal(0.3, 1.2, 400)
    data = np.ma.masked_array(np.concatenate([good, np.full(400, 5.0)]), mask=np.repeat([False, True], 400))
    problem, notes = model.prepare(data)
    assert problem.n_data == 400 and notes == ["left out 400 masked value(s)"]
    assert np.array_equal(problem.data, good)
    plain, _ = model.prepare(np.asarray(data))
    assert plain.n_data == 800  # what a masked array gave before


def test_masked_measurements_are_left_out():
    model = bf.models.weighted_mean()
    x = np.ma.masked_array([0.5, 0.2, 0.3, 99.0], mask=[False, False, False, True])
    problem, notes = model.prepare({"x": x, "sigma": [0.25, 0.1, 0.1, 0.1]})
    assert problem.n_data == 3 and notes == ["left out 1 masked measurement(s)"]
    res = bf.fit(model, {"x": x, "sigma": [0.25, 0.1, 0.1, 0.1]}, log=None)
    assert res["mean"].mle == pytest.approx(0.268519, abs=1e-6)  # the three unmasked values' weighted mean


def test_a_saved_window_fit_evaluates_its_fitted_density_when_loaded(tmp_path, rng):
    from tests.conftest import gaussian_peak

    res = bf.fit(gaussian_peak(), rng.normal(0.2, 1.1, 500), log=None)
    res.save(tmp_path)
    loaded = bf.load(tmp_path)
    x = np.linspace(-8, 8, 50)
    np.testing.assert_allclose(loaded.model.pdf(loaded.values, x)[0], res.problem.model.pdf(res.mle.values, x)[0],
                               rtol=1e-12)
    np.testing.assert_array_equal(loaded.covariance("hesse"), res.mle.covariance)
    assert loaded.idata is None and loaded.covariance("posterior") is None
