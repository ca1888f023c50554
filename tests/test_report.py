"""Text of the report: lines a user reads."""

import pytest

from bayesfit.output.report import gof_text


def test_gof_line_with_degrees_of_freedom():
    line = gof_text({"chi2": 12.3, "ndf": 10, "p_value": 0.266})
    assert line.startswith("χ² / ndf = 12.3 / 10 = 1.230") and "p-value = 0.266" in line


def test_gof_line_without_degrees_of_freedom_says_no_test():
    line = gof_text({"chi2": 0.0, "ndf": -6, "p_value": float("nan"), "bins_used": 0})
    assert "too few data for a goodness-of-fit test" in line
    assert "/ -6" not in line and "/ −6" not in line and "p-value" not in line
    assert "χ²" not in line and "ndf" not in line and "0 bins with more than 5 expected events for 6 parameters" in line


@pytest.mark.parametrize("error,place,text", [(0.0121, -3, "0.012"), (0.0456, -2, "0.05"), (0.0965, -2, "0.10"),
                                              (2.5, -1, "2.5"), (354.0, 1, "350"), (0.00068041, -4, "0.0007")])
def test_pdg_place(error, place, text):
    from bayesfit.output.formatting import pdg_place, pdg_round

    assert pdg_place(error) == place
    assert pdg_round(1.0, error)[1] == text


def test_table_rounds_each_row_by_its_error():
    """The lecture's weighted mean: 0.268519 ± 0.068041 reads 0.27 ± 0.07 (PDG: one digit for 680)."""
    import bayesfit as bf
    from bayesfit.models.weighted_mean_model import R, SIGMA
    from bayesfit.output.report import format_table

    fit = bf.fit(bf.models.weighted_mean(), {"x": R, "sigma": SIGMA}, log=None)
    row = format_table(fit).splitlines()[2].split()
    assert row[:7] == ["mean", "0.27", "0.07", "-0.07", "+0.07", "0.27", "0.07"]
    assert row[7] == "1.000"  # σL/σH keeps its digits


def test_a_failed_map_says_what_failed_and_what_to_try():
    """The MAP's failure: one warning with the optimiser's reason (no empty "ABNORMAL: ") and the remedy."""
    import numpy as np

    from bayesfit.engine.bayes import MAPResult
    from bayesfit.engine.fits import _diagnostics
    from bayesfit.engine.mle import MLEResult

    nan2 = np.full((2, 2), np.nan)
    mle = MLEResult(("n_l", "n_r"), np.ones(2), np.ones(2), np.eye(2), {}, 1.0, True, True, {}, 10)
    map_ = MAPResult(("n_l", "n_r"), np.ones(2), nan2, nan2, False, -1.0, False, "L-BFGS-B: ABNORMAL: ")
    warnings = _diagnostics(mle, map_, None, {})["warnings"]
    assert len(warnings) == 2
    assert warnings[0].startswith("the MAP search did not converge (L-BFGS-B: ABNORMAL)")
    assert "fix it, or narrow its bounds or prior" in warnings[0]
    assert "no Laplace errors" in warnings[1] and "fix that parameter" in warnings[1]


def test_the_scans_keep_minuits_messages_out_of_the_output(monkeypatch):
    """FitResult.save runs the report (its MINOS contours) with MINUIT's printing off, and restores it."""
    from iminuit._core import MnPrint

    import bayesfit.output.report as report
    from bayesfit.engine.result import FitResult

    seen = []
    monkeypatch.setattr(report, "write_report", lambda fit, out, log=None: seen.append(MnPrint.global_level) or [])
    level = MnPrint.global_level
    FitResult(problem=None, mle=None, map=None).save("unused")
    assert seen == [-1] and MnPrint.global_level == level
