"""The lecture's straight-line calibration, fitted three ways, against the closed form."""

import numpy as np
import pytest

import bayesfit as bf
from bayesfit.models.line_fit_model import SIGMA, V, X, band, closed_form
from tests.conftest import QUICK_NUTS


def test_closed_form_matches_lecture():
    (a, b), cov, chi2 = closed_form(V, X, SIGMA)
    assert a == pytest.approx(0.80143, rel=1e-4)
    assert b == pytest.approx(0.149643, rel=1e-4)
    assert np.sqrt(cov[0, 0]) == pytest.approx(0.026726, rel=1e-4)
    assert np.sqrt(cov[1, 1]) == pytest.approx(0.073193, rel=1e-4)
    assert cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]) == pytest.approx(-0.7303, rel=1e-3)
    assert chi2 == pytest.approx(1.444, rel=1e-3)


def test_band_is_transport_of_covariance():
    _, cov, _ = closed_form(V, X, SIGMA)
    # At v = 0 the band is σ_b; at large v it grows like v σ_a.
    assert band([0.0], cov)[0] == pytest.approx(np.sqrt(cov[1, 1]))
    v = 3.0
    assert band([v], cov)[0] ** 2 == pytest.approx(v * v * cov[0, 0] + 2 * v * cov[0, 1] + cov[1, 1])


@pytest.fixture(scope="module")
def fit():
    return bf.fit(bf.models.line_fit(), {"v": V, "x": X, "sigma": SIGMA}, sample=True, log=None, **QUICK_NUTS)


def test_mle_reproduces_lecture(fit):
    a, b = fit.comparison["a"], fit.comparison["b"]
    assert a["mle"] == pytest.approx(0.80143, rel=1e-4)
    assert b["mle"] == pytest.approx(0.149643, rel=1e-4)
    assert a["hesse"] == pytest.approx(0.026726, rel=1e-4)
    assert b["hesse"] == pytest.approx(0.073193, rel=1e-4)
    assert fit.mle.correlation[0, 1] == pytest.approx(-0.7303, rel=1e-3)
    assert fit.gof["chi2"] == pytest.approx(1.444, rel=1e-3)
    assert fit.gof["ndf"] == 2


def test_map_laplace_exact(fit):
    for name in ("a", "b"):
        c = fit.comparison[name]
        assert abs(c["map"] - c["mle"]) < 1e-3 * c["hesse"]
        assert c["laplace_sd"] == pytest.approx(c["hesse"], rel=1e-3)
    _, cov, _ = closed_form(V, X, SIGMA)
    np.testing.assert_allclose(fit.map.covariance, cov, rtol=1e-8)


def test_nuts_matches_analytic_posterior(fit):
    (a0, b0), cov, _ = closed_form(V, X, SIGMA)
    for name, truth, sd in (("a", a0, np.sqrt(cov[0, 0])), ("b", b0, np.sqrt(cov[1, 1]))):
        post = fit.comparison[name]["posterior"]
        assert abs(post["mean"] - truth) < 4 * sd / np.sqrt(post["ess_bulk"])
        assert abs(post["sd"] / sd - 1) < 4 / np.sqrt(2 * post["ess_bulk"])
    # Posterior correlation of (a, b) matches the HESSE one within its MC error.
    draws = np.stack([fit.idata.posterior[n].values.ravel() for n in ("a", "b")])
    assert np.corrcoef(draws)[0, 1] == pytest.approx(-0.7303, abs=0.05)


def test_shifted_model_decorrelates():
    fit = bf.fit(bf.models.line_fit(shift=True), (V, X, SIGMA), log=None)
    assert fit.problem.meta["v0"] == pytest.approx(2.0)
    b = fit.comparison["b"]
    assert b["mle"] == pytest.approx(1.7525, rel=1e-4)
    assert b["hesse"] == pytest.approx(0.05, rel=1e-4)
    assert fit.comparison["a"]["mle"] == pytest.approx(0.80143, rel=1e-4)
    assert abs(fit.mle.correlation[0, 1]) < 1e-4
    assert abs(fit.map.correlation[0, 1]) < 1e-9
    assert abs(b["map"] - b["mle"]) < 1e-3 * b["hesse"]


def test_map_held_at_a_bound_is_converged():
    """A mode held at a bound by the data is converged; the free parameter is at its own optimum.

    The slope is capped at 0.7 V/V below its free optimum (0.80). The constrained optimum of
    the intercept is then the weighted mean of x − 0.7·v (closed form).
    """
    from bayesfit.models.line_fit_model import SIGMA, V, X

    a = bf.Parameter("a", 0.5, 0.0, 0.7, unit="V/V")
    b = bf.Parameter("b", 0.0, -2.0, 2.0, unit="V")
    model = bf.LeastSquares(lambda v, a, b: a * v + b, [a, b], x="v", y="x", yerr="sigma")
    fit = bf.fit(model, {"v": V, "x": X, "sigma": SIGMA}, log=None)
    w = 1 / SIGMA**2
    b_expected = np.sum(w * (X - 0.7 * V)) / np.sum(w)
    assert fit.map.values[0] == pytest.approx(0.7, abs=1e-9)
    assert fit.map.values[1] == pytest.approx(b_expected, abs=1e-6)
    assert fit.diagnostics["map_converged"], fit.map.message
    assert "a held at a bound" in fit.map.message
    assert not any("MAP search did not converge" in w_ for w_ in fit.diagnostics["warnings"])


def test_profile_is_the_hesse_parabola_for_a_linear_model(fit):
    """χ² is quadratic in (a, b): the profile −2Δln L equals ((x − x̂)/σ)² and crosses 1 at MINOS."""
    import matplotlib

    matplotlib.use("Agg")
    from bayesfit.output.plots import plot_profiles

    fig = plot_profiles(fit.problem.params, fit.mle, fit.idata)
    for k, ax in enumerate(fig.axes[:2]):
        profile, parabola = ax.lines[0], ax.lines[1]
        assert profile.get_label().startswith("profile") and parabola.get_label() == "HESSE parabola"
        x, y = profile.get_data()
        mu, sd = fit.mle.values[k], fit.mle.errors[k]
        ref = float(ax.get_xlabel().split(" − ")[1].split()[0])  # the axis is x − rounded x̂
        assert np.allclose(y, ((x + ref - mu) / sd) ** 2, atol=2e-3), (x, y)
        assert y.max() > 4  # the scan reaches beyond 2 σ


def test_minos_contour_is_the_hesse_ellipse_for_a_linear_model(fit):
    """χ² quadratic in (a, b): the 68.27 % MINOS contour is dᵀC⁻¹d = 2.30, the HESSE ellipse.

    (MINUIT places contour points to about 1 % in Δχ²; the median point is exact.)
    """
    import matplotlib

    matplotlib.use("Agg")
    from bayesfit.output.plots import plot_contours

    fig = plot_contours(fit.problem.params, fit.mle, fit.idata)
    ax = fig.axes[0]
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-" and ln.get_color() == "C3"][0]
    refs = [float(label.split(" − ")[1].split()[0]) for label in (ax.get_xlabel(), ax.get_ylabel())]
    d = np.column_stack(solid.get_data()) + refs - fit.mle.values
    q = np.einsum("ij,jk,ik->i", d, np.linalg.inv(fit.mle.covariance), d)
    assert np.allclose(q, 2.2957, rtol=0.02), q
    assert np.median(q) == pytest.approx(2.2957, rel=1e-3)
