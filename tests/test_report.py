"""Text of the report: lines a user reads."""

from bayesfit.report import gof_text


def test_gof_line_with_degrees_of_freedom():
    line = gof_text({"chi2": 12.3, "ndf": 10, "p_value": 0.266})
    assert line.startswith("χ² / ndf = 12.3 / 10 = 1.230") and "p-value = 0.266" in line


def test_gof_line_without_degrees_of_freedom_says_no_test():
    line = gof_text({"chi2": 0.0, "ndf": -6, "p_value": float("nan"), "bins_used": 0})
    assert "too few data for a goodness-of-fit test" in line
    assert "/ -6" not in line and "/ −6" not in line and "p-value" not in line
