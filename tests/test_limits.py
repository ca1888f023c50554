"""Upper limits: CLs, Feldman–Cousins and Bayes against closed forms, FC's table and pyhf.

References: the closed forms of a counting experiment (CLs+b = e^−(s+b) for n = 0; the
flat-prior posterior, a gamma density, through scipy.stats), Feldman & Cousins' table IV
(Phys. Rev. D 57 (1998) 3873, 90 % CL), pyhf's asymptotic CLs (an independent implementation of
Cowan, Cranmer, Gross & Vitells 2011), and bayesfit's exact Poisson sums for its toys.
"""

import json
import math

import numpy as np
import pytest
from scipy import optimize, stats

import bayesfit as bf
from bayesfit.studies.limits import Counting, cls_asymptotic, upper_limit


def _gamma_limit(n, b, cl):
    """The flat-prior Bayesian limit of a count from scipy's gamma distribution: P(s + b | n) ∝ Γ(n + 1)."""
    post = stats.gamma(n + 1)
    target = post.sf(b) * (1 - cl)
    return optimize.brentq(lambda s: post.sf(s + b) - target, 0, 100)


def test_counting_with_nothing_seen_and_no_background_gives_2996_for_cls_and_bayes():
    res = upper_limit(Counting(0, 0.0), cl=0.95)
    assert res.limits["cls"] == pytest.approx(-math.log(0.05), abs=1e-6)
    assert res.limits["bayes"] == pytest.approx(-math.log(0.05), abs=1e-6)
    assert round(res.limits["cls"], 3) == 2.996
    assert res.intervals["fc"][0] == 0.0


@pytest.mark.parametrize(("n", "b", "interval"), [
    (0, 0.0, (0.00, 2.44)), (1, 0.0, (0.11, 4.36)), (2, 0.0, (0.53, 5.91)), (3, 0.0, (1.10, 7.42)),
    (4, 0.0, (1.47, 8.60)), (5, 0.0, (1.84, 9.99)), (0, 1.0, (0.00, 1.61)), (3, 1.0, (0.10, 6.42)),
])
def test_feldman_cousins_90_percent_intervals_are_their_table(n, b, interval):
    lo, hi = upper_limit(Counting(n, b), cl=0.90, methods=("fc",)).intervals["fc"]
    assert (round(lo, 2), round(hi, 2)) == interval


@pytest.mark.parametrize(("n", "b"), [(0, 1.0), (0, 3.0), (2, 0.5), (5, 2.0), (10, 8.0)])
def test_counting_cls_equals_the_flat_prior_limit_and_clsb_its_closed_form(n, b):
    """For one bin with a known background, CLs and the flat-prior Bayesian limit coincide exactly."""
    res = upper_limit(Counting(n, b), cl=0.95, methods=("cls", "bayes"))
    reference = _gamma_limit(n, b, 0.95)
    assert res.limits["cls"] == pytest.approx(reference, rel=1e-6)
    assert res.limits["bayes"] == pytest.approx(reference, rel=1e-6)
    if n == 0:  # CLs+b = P(0 | s + b) = e^−(s+b): the limit −ln 0.05 − b, negative beyond b = 3
        # (beyond b = 3 the whole range is excluded but s = 0 itself, where every count ties)
        assert res.limits["clsb"] == pytest.approx(max(-math.log(0.05) - b, 0.0), abs=1e-4)


def test_asymptotic_formulae_against_their_limits():
    """CCGV: with q̃μ = q̃μ,A the observation is the median: CLs+b = Φ(−√q) and CLb = 1/2; with q̃μ = 0
    (μ̂ ≥ μ) the half of the signal experiments at q̃μ = 0 are not in the tail: CLs+b = 1/2."""
    cls, clsb, clb = cls_asymptotic(4.0, 4.0)
    assert clsb == pytest.approx(stats.norm.sf(2.0))
    assert clb == pytest.approx(0.5)
    assert cls == pytest.approx(2 * stats.norm.sf(2.0))
    cls, clsb, clb = cls_asymptotic(0.0, 4.0)
    assert (clsb, clb) == (pytest.approx(0.5), pytest.approx(stats.norm.cdf(2.0)))
    # beyond the Asimov value, the second branch (μ̂ < 0 in CCGV's terms)
    assert cls_asymptotic(9.0, 4.0)[1] == pytest.approx(stats.norm.sf((9.0 + 4.0) / 4.0))


def _count_as_a_window_model(n, background, upper=200.0):
    """A counting experiment declared as a window model: identical flat shapes, the background yield known."""
    s = bf.Parameter("s", 5.0, 0.0, upper, unit="events")
    model = bf.WindowModel((0.0, 1.0), [bf.Uniform(), bf.Uniform()], yields=[s, background], name="count")
    return model, np.linspace(0.0005, 0.9995, n)


@pytest.mark.filterwarnings("ignore:jsonschema.RefResolver is deprecated:DeprecationWarning")  # pyhf 0.7's schema
@pytest.mark.parametrize(("n", "b"), [(110, 100.0), (95, 100.0)])
def test_asymptotic_cls_of_a_model_matches_pyhf(n, b):
    pyhf = pytest.importorskip("pyhf")
    pyhf.set_backend("numpy")
    spec = {"channels": [{"name": "count", "samples": [
        {"name": "signal", "data": [1.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
        {"name": "background", "data": [b], "modifiers": []}]}]}
    hf = pyhf.Model(spec, poi_name="mu")
    observed, expected = pyhf.infer.intervals.upper_limits.upper_limit(
        [float(n)], hf, scan=None, level=0.05, test_stat="qtilde", par_bounds=[(0.0, 200.0)])
    model, data = _count_as_a_window_model(n, b)
    res = upper_limit(model, data, poi="s", methods=("cls", "bayes"), log=None)
    assert res.limits["cls"] == pytest.approx(float(observed), rel=2e-3)
    for k, band in enumerate((-2, -1, 0, 1, 2)):
        assert res.expected[band] == pytest.approx(float(expected[k]), rel=2e-3), band
    # one free parameter: the posterior by quadrature, against the count's incomplete gamma function
    assert res.how["bayes"] == "quadrature"
    assert res.limits["bayes"] == pytest.approx(_gamma_limit(n, b, 0.95), rel=2e-3)


def test_toys_of_a_model_reproduce_the_exact_count_and_asymptotics_at_large_counts():
    """Toy-based CLs of the counting model against the exact Poisson sums, and against the asymptotics.

    With 100 background events the asymptotic formulae hold: the three limits agree within the
    toys' error (about 3 % of the limit with 600 toys per point).
    """
    n, b = 105, 100.0
    model, data = _count_as_a_window_model(n, b, upper=100.0)
    toys = upper_limit(model, data, poi="s", methods=("cls", "fc"), toys=600, grid=6, workers=1, seed=3, log=None,
                       progress=False)
    exact = upper_limit(Counting(n, b), methods=("cls", "fc"))
    asymptotic = upper_limit(model, data, poi="s", methods=("cls",), log=None)
    assert toys.how["cls"] == "toys, 600 per point"
    assert toys.limits["cls"] == pytest.approx(exact.limits["cls"], rel=0.06)
    assert asymptotic.limits["cls"] == pytest.approx(exact.limits["cls"], rel=0.03)
    assert toys.intervals["fc"][1] == pytest.approx(exact.intervals["fc"][1], rel=0.06)
    assert toys.limits["clsb"] < toys.limits["cls"]


def test_result_is_saved_with_its_figures_and_the_prior_stated(tmp_path):
    res = upper_limit(Counting(2, 1.0), cl=0.95)
    written = res.save(tmp_path)
    assert {"limit.json", "limit.txt", "cls_scan.png", "posterior.pdf", "fc_belt.png"} <= set(written)
    doc = json.loads((tmp_path / "limit.json").read_text())
    assert doc["prior"] == "flat in s on [0, ∞)"
    assert doc["limits"]["cls"] == pytest.approx(res.limits["cls"])
    assert "prior flat in s" in res.table()


def test_bad_requests_are_refused():
    model, data = _count_as_a_window_model(10, 5.0)
    with pytest.raises(ValueError, match="methods"):
        upper_limit(Counting(1, 0.0), methods=("cl",))
    with pytest.raises(ValueError, match="cl must"):
        upper_limit(Counting(1, 0.0), cl=95)
    with pytest.raises(ValueError, match="non-negative integer"):
        Counting(1.5, 0.0)
    with pytest.raises(ValueError, match="background"):
        Counting(1, -1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        upper_limit(model, data, poi="mu", log=None)
    with pytest.raises(ValueError, match="true signals"):
        from bayesfit.studies.limits import limit_coverage

        limit_coverage(model, {"s": 0.0}, poi="s", toys=2, log=None)


def test_limit_from_the_command_line(tmp_path, capsys):
    from bayesfit.cli import main

    assert main(["limit", "--counting", "0", "0", "--cl", "0.9", "--out", str(tmp_path / "c")]) == 0
    shown = capsys.readouterr().out
    assert "Feldman–Cousins" in shown and "2.436" in shown and "2.303" in shown
    assert json.loads((tmp_path / "c" / "limit.json").read_text())["intervals"]["fc"][1] == pytest.approx(2.436, abs=1e-3)
    file = tmp_path / "count.py"
    file.write_text("import numpy as np\nimport bayesfit as bf\n"
                    "s = bf.Parameter('s', 5.0, 0.0, 200.0)\n"
                    "model = bf.WindowModel((0.0, 1.0), [bf.Uniform(), bf.Uniform()], yields=[s, 100.0])\n"
                    "data = np.linspace(0.0005, 0.9995, 110)\n")
    assert main(["limit", str(file), "--poi", "s", "--methods", "cls", "--out", str(tmp_path / "m")]) == 0
    assert "CLs" in capsys.readouterr().out
    assert main(["limit", str(file), "--out", str(tmp_path / "x")]) == 2
    assert "--poi" in capsys.readouterr().err
    assert main(["limit", "--counting", "1.5", "0", "--out", str(tmp_path / "x")]) == 2
    assert main(["limit", "--out", str(tmp_path / "x")]) == 2


def test_asymptotic_feldman_cousins_of_a_large_count_is_the_exact_construction():
    """Without toys, FC's p-values come from CCGV's distribution of t̃μ: at 100 background events they
    reproduce the exact Neyman construction of the count, one-sided and two-sided."""
    for n, two_sided in ((110, False), (140, True)):
        model, data = _count_as_a_window_model(n, 100.0)
        asymptotic = upper_limit(model, data, poi="s", methods=("fc",), log=None).intervals["fc"]
        exact = upper_limit(Counting(n, 100.0), methods=("fc",)).intervals["fc"]
        assert (asymptotic[0] > 0) == two_sided == (exact[0] > 0)
        assert asymptotic[1] == pytest.approx(exact[1], rel=0.03)
        if two_sided:
            assert asymptotic[0] == pytest.approx(exact[0], rel=0.1)


def test_coverage_of_a_model_from_its_toys():
    """At s = 0 an upper limit always contains the truth; elsewhere each method covers about its level."""
    from bayesfit.studies.limits import limit_coverage

    model, _ = _count_as_a_window_model(1, 100.0)
    study = limit_coverage(model, {"s": 20.0}, poi="s", signals=(0.0, 20.0), toys=60, seed=3, log=None,
                           progress=False)
    assert study.fraction("cls")[0] == 1.0 and study.fraction("bayes")[0] == 1.0
    for method in ("cls", "fc", "bayes"):
        assert study.fraction(method)[1] >= 0.85, method
    assert "Bayesian by quadrature" in study.description and "[" in study.table()
