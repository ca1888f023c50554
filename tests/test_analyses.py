"""Analyses: simultaneous fits, derived parameters and constraints, against iminuit and closed forms.

References: iminuit's ``UnbinnedNLL``/``BinnedNLL`` summed with ``NormalConstraint`` (a code
independent of bayesfit's), scipy.stats densities for the constraint terms, the exact
transformation of a covariance at a minimum for derived parameters.
"""

import math

import arviz as az
import numpy as np
import pytest
from iminuit import Minuit
from iminuit.cost import BinnedNLL, NormalConstraint, UnbinnedNLL
from scipy import stats

import bayesfit as bf
from bayesfit.core.parameter import Derived, named_derived
from bayesfit.engine.fits import compare_derived
from bayesfit.modeling.constraints import ConstraintTerms

WINDOW = (0.0, 2.0)
CENTRE, WIDTH = 0.085, 0.004  # the calibration of category a's resolution


def _sample(rng, mu, sigma, slope, n, n_signal):
    peak = rng.normal(mu, sigma, 3 * n_signal)
    peak = peak[(peak > WINDOW[0]) & (peak < WINDOW[1])][:n_signal]
    u = rng.uniform(size=n - n_signal)
    background = np.log1p(u * np.expm1(slope * WINDOW[1])) / slope
    return np.concatenate([peak, background])


def _pdf(x, mu, sigma, slope, f):
    norm = stats.norm.cdf(WINDOW[1], mu, sigma) - stats.norm.cdf(WINDOW[0], mu, sigma)
    return f * stats.norm.pdf(x, mu, sigma) / norm + (1 - f) * slope * np.exp(slope * x) / np.expm1(slope * WINDOW[1])


def _cdf(x, mu, sigma, slope, f):
    lo = stats.norm.cdf(WINDOW[0], mu, sigma)
    norm = stats.norm.cdf(WINDOW[1], mu, sigma) - lo
    return f * (stats.norm.cdf(x, mu, sigma) - lo) / norm + (1 - f) * np.expm1(slope * x) / np.expm1(slope * WINDOW[1])


@pytest.fixture(scope="module")
def two_categories():
    """Data of two categories: one peak position, two resolutions, two backgrounds."""
    rng = np.random.default_rng(2)
    return {"a": _sample(rng, 1.0, 0.08, -1.0, 2000, 500), "b": _sample(rng, 1.0, 0.15, -2.0, 1500, 400)}


def _simultaneous(derived_width=False):
    mu = bf.Parameter("mu", 1.0, 0.5, 1.5)
    sigma_a = bf.Parameter("sigma_a", 0.1, 0.02, 0.5, constraint=(CENTRE, WIDTH))
    if derived_width:  # category b's width as a multiple of a's: a derived parameter
        sigma_b = (sigma_a * bf.Parameter("r", 1.5, 0.3, 5.0)).named("sigma_b")
    else:
        sigma_b = bf.Parameter("sigma_b", 0.1, 0.02, 0.5)
    a = bf.WindowModel(WINDOW, [bf.Gaussian(mu, sigma_a), bf.Exponential(bf.Parameter("slope_a", -0.5, -5, 5))],
                       fractions=[bf.Parameter("f_a", 0.3, 0.01, 0.99)], name="a")
    b = bf.WindowModel(WINDOW, [bf.Gaussian(mu, sigma_b), bf.Exponential(bf.Parameter("slope_b", -0.5, -5, 5))],
                       fractions=[bf.Parameter("f_b", 0.3, 0.01, 0.99)], name="b")
    return bf.Simultaneous({"a": a, "b": b}, name="two_categories")


def _iminuit(data, edges=None):
    """The same fit with iminuit's own costs: Σ NLL + NormalConstraint, parameterised in (σ_a, σ_b)."""
    if edges is None:
        ca = UnbinnedNLL(data["a"], lambda x, mu, sigma_a, slope_a, f_a: _pdf(x, mu, sigma_a, slope_a, f_a))
        cb = UnbinnedNLL(data["b"], lambda x, mu, sigma_b, slope_b, f_b: _pdf(x, mu, sigma_b, slope_b, f_b))
    else:
        ca = BinnedNLL(np.histogram(data["a"], edges)[0], edges,
                       lambda x, mu, sigma_a, slope_a, f_a: _cdf(x, mu, sigma_a, slope_a, f_a))
        cb = BinnedNLL(np.histogram(data["b"], edges)[0], edges,
                       lambda x, mu, sigma_b, slope_b, f_b: _cdf(x, mu, sigma_b, slope_b, f_b))
    m = Minuit(ca + cb + NormalConstraint("sigma_a", CENTRE, WIDTH),
               mu=1.0, sigma_a=0.1, slope_a=-0.5, f_a=0.3, sigma_b=0.1, slope_b=-0.5, f_b=0.3)
    m.tol = 1e-4  # the reference placed as tightly as bayesfit's MLE (~1e-5 σ), not at MIGRAD's usual ~5e-3 σ
    m.migrad()
    m.hesse()
    assert m.valid
    return m


def _agree(res, m, names):
    for n in names:
        ours, theirs = res[n], m.values[n]
        assert abs(ours.mle - theirs) < 0.01 * m.errors[n], n
        assert ours.hesse == pytest.approx(m.errors[n], rel=0.01), n
        assert abs(ours.map - ours.mle) < 1e-3 * ours.hesse, n
        assert ours.laplace_sd == pytest.approx(ours.hesse, rel=0.01), n


@pytest.mark.parametrize("binned", [False, 40])
def test_simultaneous_fit_matches_iminuit_cost_sum_with_a_normal_constraint(two_categories, binned):
    """Two categories, one shared mean, one width constrained: bayesfit against iminuit's own costs.

    Unbinned, category b's width is declared as a derived parameter, σ_b = σ_a·r, fitted in
    (σ_a, r): its MLE and HESSE error must equal those of iminuit's fit in (σ_a, σ_b), since at a
    minimum the covariance transforms with the Jacobian exactly.
    """
    derived = binned is False
    sim = _simultaneous(derived_width=derived)
    res = bf.fit(sim, two_categories, binned=binned, log=None, minos=False)
    edges = None if binned is False else np.linspace(*WINDOW, binned + 1)
    m = _iminuit(two_categories, edges)
    _agree(res, m, ["mu", "sigma_a", "slope_a", "f_a", "sigma_b", "slope_b", "f_b"])
    assert set(res.gof["categories"]) == {"a", "b"}
    assert res.gof["ndf"] == res.gof["bins_used"] - 7
    assert res.comparison["sigma_a"]["role"] == "constrained"
    assert "ᶜ constrained" in repr(res)
    if derived:
        # the propagated error is J C Jᵀ of bayesfit's own covariance, J = (r, σ_a) in (σ_a, r)
        names = res.names
        i, j = names.index("sigma_a"), names.index("r")
        sa, r = res["sigma_a"].mle, res["r"].mle
        cov = res.mle.covariance
        expected = math.sqrt(r**2 * cov[i, i] + sa**2 * cov[j, j] + 2 * r * sa * cov[i, j])
        assert res["sigma_b"].hesse == pytest.approx(expected, rel=1e-12)
        assert res.comparison["sigma_b"]["derived"] == "(sigma_a · r)"
        assert "ᵈ derived" in repr(res)
        assert res.to_dict()["parameters"]["sigma_b"]["role"] == "derived"


def test_refit_of_a_simultaneous_model_compiles_nothing(two_categories):
    sim = _simultaneous(derived_width=True)
    bf.fit(sim, two_categories, binned=False, log=None, minos=False)
    rng = np.random.default_rng(7)
    again = {"a": _sample(rng, 1.0, 0.08, -1.0, 1000, 300), "b": _sample(rng, 1.0, 0.15, -2.0, 900, 200)}
    res = bf.fit(sim, again, binned=False, log=None, minos=False)
    assert res.compiled["map_laplace"] == "reused in process"
    assert res["mu"].hesse > 0 and res.problem.n_data == 1900


def test_derived_posterior_is_the_transformed_draws():
    a, b = bf.Parameter("a", 1.0, 0.0, 3.0), bf.Parameter("b", 2.0, 0.5, 4.0)
    ratio = (a / b + a**2).named("q")
    rng = np.random.default_rng(0)
    draws = {"a": rng.normal(1.0, 0.1, (2, 500)), "b": rng.normal(2.0, 0.2, (2, 500))}
    idata = az.from_dict(posterior=draws)
    cov = np.array([[0.01, 0.002], [0.002, 0.04]])
    fit = type("Fit", (), {"values": np.array([1.0, 2.0]), "covariance": cov})()
    rows = compare_derived([ratio], ["a", "b"], fit, fit, idata)
    transformed = draws["a"] / draws["b"] + draws["a"] ** 2
    np.testing.assert_allclose(idata.posterior["q"].values, transformed, rtol=1e-15)
    post = rows["q"]["posterior"]
    assert post["mean"] == pytest.approx(transformed.mean(), rel=1e-14)
    assert post["sd"] == pytest.approx(transformed.std(ddof=1), rel=1e-12)
    # HESSE: J = (1/b + 2a, −a/b²) at (1, 2)
    jac = np.array([0.5 + 2.0, -0.25])
    assert rows["q"]["hesse"] == pytest.approx(math.sqrt(jac @ cov @ jac), rel=1e-14)
    assert rows["q"]["mle"] == pytest.approx(1.5)


def test_derived_gradient_is_the_chain_rule_of_each_operation():
    x, y = bf.Parameter("x", 1.0, 0.1, 5.0), bf.Parameter("y", 2.0, 0.1, 5.0)
    point = {"x": 1.3, "y": 2.1}
    cases = {
        "x + 2y": (x + 2 * y, {"x": 1.0, "y": 2.0}),
        "3 − x": (3 - x, {"x": -1.0}),
        "x / y": (x / y, {"x": 1 / 2.1, "y": -1.3 / 2.1**2}),
        "1 / x": (1 / x, {"x": -1 / 1.3**2}),
        "x ** y": (x**y, {"x": 2.1 * 1.3**1.1, "y": 1.3**2.1 * math.log(1.3)}),
        "2 ** x": (2**x, {"x": 2**1.3 * math.log(2)}),
        "−x·y": (-(x * y), {"x": -2.1, "y": -1.3}),
    }
    for label, (d, expected) in cases.items():
        got = d.gradient(point)
        assert set(got) == set(expected), label
        for k in expected:
            assert got[k] == pytest.approx(expected[k], rel=1e-13), label
    assert isinstance(x * 2, Derived) and (x * 2).parameters == (x,)


def test_derived_names_must_be_identifiers_and_not_clash():
    x = bf.Parameter("x", 1.0, 0.1, 5.0)
    with pytest.raises(ValueError, match="identifier"):
        (x * 2).named("2x")
    with pytest.raises(ValueError, match="named like a free parameter"):
        named_derived([(x * 2).named("x")])
    with pytest.raises(TypeError, match="finite numbers or parameters"):
        x * "a"
    with pytest.raises(TypeError, match="finite"):
        x * float("nan")


def test_constraint_terms_match_scipy_and_iminuit():
    a, b = bf.Parameter("a", 1.0, 0.01, 3.0), bf.Parameter("b", 2.0, 0.01, 4.0)
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    gauss = bf.GaussianConstraint([a, b], [1.1, 1.9], covariance=cov)
    poisson = bf.PoissonConstraint(a, 7, scale=5.0)
    lognormal = bf.LogNormalConstraint(b, 2.2, relative_error=0.1)
    theta = np.array([1.3, 2.05])
    # iminuit's NormalConstraint is −2 ln L up to a constant; scipy gives the densities
    ref = NormalConstraint(["a", "b"], [1.1, 1.9], cov)
    assert gauss.nll(theta, gauss.observed) == pytest.approx(0.5 * ref(*theta), rel=1e-13)
    assert poisson.nll(theta[:1], poisson.observed) == pytest.approx(-stats.poisson.logpmf(7, 5 * 1.3), rel=1e-13)
    s = math.log1p(0.1)
    lognormal_ref = -stats.norm.logpdf(math.log(2.2), math.log(2.05), s) - 0.5 * math.log(2 * math.pi) - math.log(s)
    assert lognormal.nll(theta[1:], lognormal.observed) == pytest.approx(lognormal_ref, rel=1e-12)
    # gradients and Hessians against a numerical derivative of the values (scipy), and PyTensor
    # graphs against the numpy terms
    import pytensor.tensor as pt
    from scipy.optimize import approx_fprime

    for c, t in ((gauss, theta), (poisson, theta[:1]), (lognormal, theta[1:])):
        num = approx_fprime(t, lambda v: c.nll(v, c.observed), 1e-7)
        np.testing.assert_allclose(c.gradient(t, c.observed), num, rtol=1e-5, atol=1e-6)
        num_h = np.array([approx_fprime(t, lambda v, k=k: c.gradient(v, c.observed)[k], 1e-7) for k in range(len(t))])
        np.testing.assert_allclose(c.hessian(t, c.observed), num_h, rtol=1e-5, atol=1e-5)
        graph = c.logp([pt.constant(np.float64(v)) for v in t], pt.constant(c.observed))
        const = {"poisson": 0.0, "gauss": 0.0, "lognormal": 0.0}[c.kind]
        assert float(graph.eval()) == pytest.approx(-c.nll(t, c.observed) + const, rel=1e-12)
    terms = ConstraintTerms([gauss], ["a", "b"])
    rng = np.random.default_rng(1)
    drawn = np.array([terms.draw([1.0, 2.0], rng)[gauss.data_name] for _ in range(4000)])
    np.testing.assert_allclose(np.cov(drawn, rowvar=False), cov, atol=0.006)


def test_constraint_and_prior_mistakes_are_refused():
    with pytest.raises(ValueError, match="width > 0"):
        bf.Parameter("s", 1.0, 0.0, 2.0, constraint=(1.0, 0.0))
    with pytest.raises(ValueError, match="prior or a constraint"):
        bf.Parameter("s", 1.0, 0.0, 2.0, constraint=(1.0, 0.1), prior=lambda name: None)
    s = bf.Parameter("s", 1.0, 0.0, 2.0, constraint=(1.0, 0.1))
    with pytest.raises(ValueError, match="constrained twice"):
        bf.WindowModel((0, 3), [bf.Gaussian(1.5, s)], constraints=[bf.GaussianConstraint(s, 1.0, widths=0.1)])
    other = bf.Parameter("t", 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="not a parameter of this model"):
        bf.WindowModel((0, 3), [bf.Gaussian(1.5, s)], constraints=[bf.GaussianConstraint(other, 1.0, widths=0.1)])
    with pytest.raises(ValueError, match="least-squares model takes no constraint"):
        bf.LeastSquares(lambda x, s: s * x, [s], x="x")
    with pytest.raises(ValueError, match="must be ≥ 0"):
        bf.PoissonConstraint(bf.Parameter("n", 1.0, -1.0, 5.0), 3)


def test_simultaneous_refuses_bad_categories_and_data():
    mu = bf.Parameter("mu", 1.0, 0.5, 1.5)
    a = bf.WindowModel(WINDOW, [bf.Gaussian(mu, bf.Parameter("s", 0.1, 0.02, 0.5))])
    b = bf.WindowModel(WINDOW, [bf.Gaussian(bf.Parameter("mu", 1.0, 0.5, 1.5), 0.2)])
    with pytest.raises(ValueError, match="two different parameters are named 'mu'"):
        bf.Simultaneous({"a": a, "b": b})
    with pytest.raises(ValueError, match="identifier"):
        bf.Simultaneous({"barrel leptons": a})
    with pytest.raises(TypeError, match="WindowModel"):
        bf.Simultaneous({"a": a, "b": "model"})
    sim = bf.Simultaneous({"a": a, "c": bf.WindowModel(WINDOW, [bf.Gaussian(mu, 0.2)])})
    with pytest.raises(bf.InputError, match="missing: c"):
        bf.fit(sim, {"a": np.ones(10)}, log=None)
    with pytest.raises(bf.InputError, match="as a dict"):
        bf.fit(sim, np.ones(10), log=None)
    with pytest.raises(bf.InputError, match="category c: no events in the window"):
        bf.fit(sim, {"a": np.linspace(0.5, 1.5, 50), "c": np.full(5, 7.0)}, log=None)


def test_prior_rows_are_marked_as_bayesian_only():
    mu = bf.Parameter("mu", 0.0, -1.0, 1.0, prior=lambda name: __import__("pymc").Normal(name, 0.2, 0.05))
    model = bf.WindowModel((-2, 2), [bf.Gaussian(mu, 0.3)], name="prior_marked")
    data = np.random.default_rng(3).normal(0.0, 0.3, 200)
    res = bf.fit(model, data, log=None, minos=False)
    assert res.comparison["mu"]["role"] == "prior"
    text = repr(res)
    assert "mu ᵖ" in text and "Bayesian fits only" in text
    assert abs(res["mu"].map - res["mu"].mle) > 0.5 * res["mu"].hesse  # the prior moved the MAP, not the MLE


def test_toys_of_a_constrained_model_cover_only_with_redrawn_centres():
    """Pulls of the constrained width: width 1 when each toy draws its calibration afresh.

    With the measured value kept at its nominal centre, the toys leave out the calibration's own
    fluctuation and the constrained parameter's pulls come out far narrower than 1.
    """
    sigma = bf.Parameter("sigma", 1.0, 0.3, 3.0, constraint=(1.0, 0.05))
    model = bf.WindowModel((-8, 8), [bf.Gaussian(bf.Parameter("mu", 0.0, -2.0, 2.0), sigma)], name="calibrated")
    widths = {}
    for redraw in (True, False):
        study = bf.toys(model, 500, 100, truth={"mu": 0.0, "sigma": 1.0}, seed=11, minos=False, workers=1,
                        progress=False, redraw_constraints=redraw)
        pulls = study.summary()["parameters"]["sigma"]
        widths[redraw] = (pulls["pull_width"], pulls["pull_width_error"])
    width, error = widths[True]
    assert abs(width - 1.0) < 3 * error
    assert widths[False][0] < 0.75


def test_zcombined_masses_from_the_electrons_four_momenta():
    """The shipped Z→ee masses: M² = 2 pt₁ pt₂ (cosh Δη − cos Δφ) equals (p₁ + p₂)² of massless four-vectors."""
    import csv

    from bayesfit.data import example_path
    from bayesfit.models.zcombined_model import dielectron_masses

    masses = dielectron_masses()
    assert {k: v.size for k, v in masses.items()} == {"ee_barrel": 7508, "ee_endcap": 7040}
    with open(example_path("zee"), newline="") as handle:
        first = next(csv.DictReader(handle))  # an EE-EB pair of opposite charge: the first endcap event

    def four(pt, eta, phi):
        pt, eta, phi = float(pt), float(eta), float(phi)
        p = np.array([pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)])
        return np.array([np.linalg.norm(p), *p])

    total = four(first["pt1"], first["eta1"], first["phi1"]) + four(first["pt2"], first["eta2"], first["phi2"])
    assert masses["ee_endcap"][0] == pytest.approx(math.sqrt(total[0] ** 2 - total[1:] @ total[1:]), rel=1e-10)
    model = bf.models.zcombined()
    assert model.names[:2] == ["M0", "Gamma"] and len(model.names) == 11
    m0 = {id(p) for m in model.categories.values() for p in m.params if p.name == "M0"}
    assert len(m0) == 1  # one object, shared by the three categories


def test_posterior_predictive_check_per_category_and_for_the_whole(two_categories):
    from bayesfit.engine.fits import posterior_predictive

    problem, _ = _simultaneous().prepare(two_categories, binned=False)
    rng = np.random.default_rng(4)
    point = {"mu": 1.0, "sigma_a": 0.08, "slope_a": -1.0, "f_a": 0.25, "sigma_b": 0.15, "slope_b": -2.0, "f_b": 0.27}
    idata = az.from_dict(posterior={n: point[n] * (1 + 0.01 * rng.standard_normal((2, 50))) for n in problem.names})
    ppc = posterior_predictive(problem, idata, seed=3)
    assert set(ppc["categories"]) == {"a", "b"}
    total = ppc["categories"]["a"]["observed"] + ppc["categories"]["b"]["observed"]
    np.testing.assert_allclose(ppc["observed"], total, rtol=1e-12)
    assert 0 < ppc["p_value"] < 1 and all(0 <= c["p_value"] <= 1 for c in ppc["categories"].values())


def test_derived_parameters_that_could_reach_infinity_are_refused():
    x, y = bf.Parameter("x", 1.0, 0.1, 5.0), bf.Parameter("y", 0.5, -1.0, 1.0)
    with pytest.raises(ValueError, match="y divides but may be 0 within its bounds"):
        x / y
    with pytest.raises(ValueError, match="division of a parameter by zero"):
        x / 0
    with pytest.raises(ValueError, match="y is raised to a non-integer power but may be negative"):
        y**0.5
    assert (y**2).evaluate({"y": -0.5}) == pytest.approx(0.25)  # an integer power of any sign is fine


def test_laplace_hessian_from_shared_directions_equals_the_whole_hessian(two_categories):
    """Parameters of different categories share a Hessian-vector product; nothing is lost.

    Against the Hessian from one product per parameter, on a model whose terms overlap in
    every way bayesfit knows: a shared mean, a derived width reading category a's parameter in
    category b, and a correlated constraint on the two categories' slopes.
    """
    from bayesfit.backend.compiled import map_function
    from bayesfit.engine.bayes import hessian_directions

    sim = _simultaneous(derived_width=True)
    slopes = [p for p in sim.params if p.name in ("slope_a", "slope_b")]
    sim = bf.Simultaneous(sim.categories, name="two_categories_coupled",
                          constraints=[bf.GaussianConstraint(slopes, [-1.0, -2.0],
                                                             covariance=[[0.04, 0.01], [0.01, 0.09]])])
    problem = sim.prepare(two_categories)[0]
    fn = map_function(problem.pymc_model(), problem.names)[0]
    k = len(problem.names)
    x = problem.start
    whole = np.array([fn(x, e)[2] for e in np.eye(k)]).T
    directions, source = hessian_directions(problem.hessian_groups, k)
    assert len(directions) < k
    products = np.array([fn(x, d)[2] for d in directions])
    shared = np.where(source[..., 0] >= 0, products[source[..., 0], source[..., 1]], 0.0)
    scale = np.abs(whole).max()
    assert np.abs(shared - whole).max() < 1e-12 * scale
    assert np.all(whole[source[..., 0] < 0] == 0.0)  # the structure bayesfit declares is the graph's


@pytest.mark.parametrize(("groups", "n_directions"), [
    ([[0, 1, 2, 3], [0, 4, 5, 6]], 4),  # two categories sharing one parameter: as many as one category
    ([[0, 1, 2], [1, 2, 3], [3, 4, 5], [0, 5]], 5),
    ([[0, 1], [2, 3], [4, 5]], 2),
    ([[0, 1, 2, 3, 4, 5]], 6),
    (None, 6),
])
def test_hessian_directions_recover_any_symmetric_matrix_of_the_structure(groups, n_directions):
    from bayesfit.engine.bayes import hessian_directions

    size = 6 if groups is None else 1 + max(max(g) for g in groups)
    pattern = np.eye(size, dtype=bool) | (groups is None)
    for g in groups or ():
        pattern[np.ix_(g, g)] = True
    a = np.random.default_rng(size).normal(size=(size, size))
    h = (a + a.T) * pattern
    directions, source = hessian_directions(groups, size)
    products = np.array([h @ d for d in directions])
    assert np.array_equal(np.where(source[..., 0] >= 0, products[source[..., 0], source[..., 1]], 0.0), h)
    assert len(directions) == n_directions
