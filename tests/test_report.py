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
