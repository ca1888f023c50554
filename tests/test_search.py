"""Signal searches: q₀, its toys, the Bayes factor and the mass scan, against closed forms; the Higgs example.

References: a counting experiment written as a window model (two flat components, the
background's yield known) has closed forms: q₀ = 2[n ln(n/b) − (n − b)], the toys' p-value
P(N ≥ n | b) (scipy.stats.poisson), and, with a flat prior on s over [0, U], the Bayes factor
B₁₀ = [Q(n+1, b) − Q(n+1, U+b)] / (U · P(n | b)) with Q the regularised upper incomplete gamma
function (scipy.special.gammaincc).
"""

import json
import math

import numpy as np
import pytest
from scipy import special, stats

import bayesfit as bf
from bayesfit.studies.limits import counting_coverage
from bayesfit.studies.search import chernoff_pvalue, mass_scan, significance

UPPER = 100.0


def _count(n, background):
    s = bf.Parameter("s", 5.0, 0.0, UPPER, unit="events")
    model = bf.WindowModel((0.0, 1.0), [bf.Uniform(), bf.Uniform()], yields=[s, background], name="count")
    return model, np.linspace(0.0005, 0.9995, n)


def test_q0_toys_and_bayes_factor_of_a_count_are_their_closed_forms():
    n, b = 30, 20.0
    model, data = _count(n, b)
    res = significance(model, data, poi="s", toys=400, workers=1, seed=2, log=None, progress=False)
    q0 = 2 * (n * math.log(n / b) - (n - b))
    assert res.q0 == pytest.approx(q0, rel=1e-5)
    assert res.p_asymptotic == pytest.approx(stats.norm.sf(math.sqrt(q0)), rel=1e-4)
    exact = stats.poisson.sf(n - 1, b)  # P(N ≥ n | b): the counts whose q₀ reaches the data's
    lo, hi = res.p_toys_cp68
    width = (hi - lo) / 2
    assert abs(res.p_toys - exact) < 3 * width
    b10 = (special.gammaincc(n + 1, b) - special.gammaincc(n + 1, UPPER + b)) / (UPPER * stats.poisson.pmf(n, b))
    assert res.ln_b10 == pytest.approx(math.log(b10), abs=2e-3)
    assert res.bayes_method == "quadrature" and "flat in s on [0, 100]" in res.prior


def _bump(mass):
    return bf.WindowModel((0.0, 10.0), [bf.Gaussian(mass, 0.2), bf.Exponential(bf.Parameter("slope", -0.2, -2, 2))],
                          yields=[bf.Parameter("n_sig", 5.0, 0.0, 300.0), bf.Parameter("n_bkg", 500, 100, 2000)],
                          name="bump")


def test_mass_scan_finds_the_injected_bump_and_each_point_is_the_significance_there():
    rng = np.random.default_rng(4)
    data = np.concatenate([_bump(5.0).simulate([-0.2, 0.0, 800.0], None, rng=rng), rng.normal(6.0, 0.2, 45)])
    masses = np.arange(1.0, 9.01, 0.5)
    scan = mass_scan(_bump, data, masses, poi="n_sig", toys=20, workers=1, seed=1, log=None, progress=False)
    assert masses[scan.best] == pytest.approx(6.0)
    assert scan.p_local == pytest.approx(chernoff_pvalue(scan.q0))
    assert scan.q0[scan.best] == pytest.approx(significance(_bump(6.0), data, poi="n_sig", bayes_factor=False,
                                                            log=None).q0, rel=1e-4)
    # the look-elsewhere effect: the global p-value is larger than the smallest local one
    assert scan.global_p_gross_vitells > scan.p_local[scan.best]
    assert scan.toys == 20 and scan.crossings >= 0
    assert np.all(np.isfinite(scan.limits["cls"])) and np.all(scan.limits["expected_+2"] > scan.limits["expected_-2"])
    assert json.loads(json.dumps(scan.to_dict()))["best_mass"] == pytest.approx(6.0)


def test_counting_coverage_toys_agree_with_the_exact_sums_and_fc_covers():
    study = counting_coverage(3.0, cl=0.9, toys=300, signals=(0.0, 1.0, 4.0), seed=5)
    for method in ("cls", "fc", "bayes"):
        exact = np.asarray(study.exact[method])
        if method != "fc":  # CLs and the flat-prior limit over-cover; FC (with a discrete count) too, at least
            assert np.all(exact >= 0.9 - 1e-9)
        frac = study.fraction(method)
        assert np.all(np.abs(frac - exact) < 4 * np.sqrt(exact * (1 - exact) / 300) + 1e-3)
    assert np.all(np.asarray(study.exact["fc"]) >= 0.9 - 1e-9)
    assert study.exact["cls"][0] == pytest.approx(1.0)  # at s = 0 an upper limit always contains the truth


def test_higgs_example_data_and_its_search_at_125_gev():
    from bayesfit.models import higgs4l_model as h

    masses = h.read_candidates()
    assert sum(m.size for m in masses.values()) == 278
    assert sum(h.shares().values()) == pytest.approx(1.0)
    model = h.higgs4l()
    data, meta = h.default_data(model)
    assert sum(d.size for d in data.values()) == 40 and "5500" in meta["citation"]
    res = bf.fit(model, data, bayesian=False, minos=False, log=None)
    assert 120 < res["m_H"].mle < 130 and res["n_H"].mle > 0
    found = significance(h.model_at(125.0), data, poi="n_H", bayes_factor=False, log=None)
    assert 1.5 < found.z_asymptotic < 4


def test_search_commands(tmp_path, capsys):
    from bayesfit.cli import main

    file = tmp_path / "bump.py"
    file.write_text("import numpy as np\nimport bayesfit as bf\n"
                    "def model_at(mass):\n"
                    "    return bf.WindowModel((0.0, 10.0), [bf.Gaussian(mass, 0.2), bf.Exponential("
                    "bf.Parameter('slope', -0.2, -2, 2))], yields=[bf.Parameter('n_sig', 5.0, 0.0, 300.0), "
                    "bf.Parameter('n_bkg', 500, 100, 2000)])\n"
                    "model = model_at(5.0)\n"
                    "rng = np.random.default_rng(4)\n"
                    "data = np.concatenate([model.simulate([-0.2, 0.0, 800.0], None, rng=rng), rng.normal(6.0, 0.2, 45)])\n")
    assert main(["significance", str(file), "--poi", "n_sig", "--mass", "6", "--out", str(tmp_path / "s")]) == 0
    assert "q₀" in capsys.readouterr().out
    assert main(["scan", str(file), "--poi", "n_sig", "--masses", "2:8:1", "--no-limits", "--out",
                 str(tmp_path / "m")]) == 0
    assert "most significant: m = 6" in capsys.readouterr().out
    assert (tmp_path / "m" / "local_pvalues.png").is_file()
    assert main(["scan", str(file), "--poi", "n_sig", "--masses", "8:2:1", "--out", str(tmp_path / "x")]) == 2
    assert "LO < HI" in capsys.readouterr().err
    plain = tmp_path / "plain.py"
    plain.write_text(file.read_text().replace("def model_at(mass):", "def other(mass):").replace(
        "model = model_at(5.0)", "model = other(5.0)"))
    assert main(["scan", str(plain), "--poi", "n_sig", "--masses", "2:8:1", "--out", str(tmp_path / "x")]) == 2
    assert "model_at" in capsys.readouterr().err
    assert main(["limit", "--counting", "2", "1", "--check-coverage", "50", "--methods", "cls,bayes", "--out",
                 str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "limit_coverage.png").is_file()


def test_a_yield_on_its_physical_boundary_is_reported_as_such(capsys):
    """No signal in the data: the yield sits on 0, a boundary, not a range to widen."""
    model = bf.WindowModel((0.0, 10.0), [bf.Gaussian(5.0, 0.2), bf.Exponential(bf.Parameter("slope", -0.2, -2, 2))],
                           yields=[bf.Parameter("n_sig", 5.0, 0.0, 300.0, boundary="lower"),
                                   bf.Parameter("n_bkg", 500, 100, 2000)])
    data = model.simulate([-0.2, 0.0, 800.0], None, rng=11)
    data = data[np.abs(data - 5.0) > 0.3]  # a hole where the signal would be: the MLE of n_sig is 0
    res = bf.fit(model, data, bayesian=False, log=print)
    shown = capsys.readouterr().out
    assert res.comparison["n_sig"]["boundary"] == "lower"
    assert not any("widen the bounds" in w for w in res.diagnostics["warnings"])
    assert "n_sig ᵇ" in repr(res) and "quote an upper limit" in repr(res)
    assert "on its physical boundary" in shown
    with pytest.raises(ValueError, match="boundary"):
        bf.Parameter("x", 1.0, 0.0, 2.0, boundary="left")


def test_a_signal_mass_left_free_is_said_to_break_the_bayes_factor_and_the_asymptotics():
    rng = np.random.default_rng(4)
    mass = bf.Parameter("mass", 5.0, 1.0, 9.0)
    model = bf.WindowModel((0.0, 10.0), [bf.Gaussian(mass, 0.2), bf.Exponential(bf.Parameter("slope", -0.2, -2, 2))],
                           yields=[bf.Parameter("n_sig", 5.0, 0.0, 300.0), bf.Parameter("n_bkg", 500, 100, 2000)])
    data = np.concatenate([_bump(5.0).simulate([-0.2, 0.0, 800.0], None, rng=rng), rng.normal(6.0, 0.2, 45)])
    res = significance(model, data, poi="n_sig", log=None)
    assert res.ln_b10 is None and "not computed" in res.table() and "look-elsewhere" in res.table()
