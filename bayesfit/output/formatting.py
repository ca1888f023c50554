"""Numbers as a physicist writes them: the PDG rounding rule, p-values, units.

- :func:`pdg_round`, :func:`pdg_place`, :func:`at_place`: value and error rounded by the PDG
  rule (the error's three leading digits decide how many digits it keeps);
- :func:`format_measurement` (``"value ± error"``) and :func:`display_measurement` (with the
  unit, in MeV where GeV would need six digits, :func:`display_scale`);
- :func:`format_p_value` and :func:`ppc_p_text`: p-values, and the bound that a count of zero
  gives;
- :func:`format_general`, :func:`format_at_place`, :func:`format_ratio`, :func:`format_ess`:
  the cells of the comparison table, with "—" for a missing number.

The tables (:mod:`bayesfit.output.report`) and the figures (:mod:`bayesfit.output.plots`)
both write numbers through this module, so they agree digit for digit.
"""

from __future__ import annotations

import math

import numpy as np

from bayesfit.core.binomial import zero_count_bound

__all__ = ["pdg_round", "pdg_place", "at_place", "format_measurement", "display_scale", "display_measurement",
           "format_p_value", "ppc_p_text", "format_general", "format_at_place", "format_ratio", "format_ess",
           "INTERVAL_LABELS"]

#: How the intervals whose coverage toys measure are named in tables and figures.
INTERVAL_LABELS = {"hesse": "HESSE ±1σ", "minos": "MINOS", "laplace": "Laplace ±1σ", "hdi_68": "68.27 % HDI"}


def pdg_round(value, error):
    """Round ``value`` and ``error`` by the PDG rule; return them as strings.

    The three leading digits of the error decide: 100–354 keep two significant digits,
    355–949 one, 950–999 round up to 1000 and keep two. The value is rounded to the same
    decimal place (PDG, Review of Particle Physics, Introduction, section 5.3).

    Parameters
    ----------
    value, error : float

    Returns
    -------
    value, error : str
    """
    if not (math.isfinite(error) and error > 0 and math.isfinite(value)):
        return f"{value:.6g}", f"{error:.2g}"
    place = pdg_place(error)
    return at_place(value, place), at_place(error, place)


def at_place(x, place) -> str:
    """Return ``x`` rounded to the power of ten ``place`` and written with just those decimals."""
    return f"{round(float(x), -place):.{max(-place, 0)}f}"


def pdg_place(error) -> int:
    """Return the power of ten of the last digit the PDG rule keeps for ``error`` (> 0, finite).

    See :func:`pdg_round`: 0.0121 → −3 (0.012), 0.0456 → −2 (0.05), 2.5 → −1 (2.5).
    """
    exponent = math.floor(math.log10(error))
    leading = int(round(error / 10 ** (exponent - 2)))
    if leading >= 1000:
        leading, exponent = leading // 10, exponent + 1
    if leading <= 354:
        digits = 2
    elif leading <= 949:
        digits = 1
    else:
        digits, exponent = 2, exponent + 1
    return exponent - digits + 1


def format_measurement(value, error) -> str:
    """Return ``"value ± error"`` rounded by the PDG rule (see :func:`pdg_round`)."""
    v, e = pdg_round(float(value), float(error))
    return f"{v} ± {e}"


def display_scale(p, sd):
    """Return (factor, unit) in which to show ``p``: MeV where GeV would give six digits.

    A parameter in GeV whose error is below 5 MeV would need four or more decimals in GeV;
    its axis is shown in MeV instead.

    Parameters
    ----------
    p : bayesfit.Parameter
        Its ``unit`` decides.
    sd : float
        The error to be shown.

    Returns
    -------
    (float, str)
        The factor to multiply values by, and the unit then.
    """
    unit = p.unit or ""
    if unit.startswith("GeV") and 0 < sd < 0.005:
        return 1000.0, "MeV" + unit[3:]
    return 1.0, unit


def format_p_value(p, *, tex=True) -> str:
    """Return a p-value readably: three decimals from 0.001 up, else two digits times a power of ten.

    >>> format_p_value(0.5031), format_p_value(2.556e-08, tex=False)
    ('0.503', '2.6×10⁻⁸')
    """
    if p is None or not np.isfinite(p):
        return "—"
    if p >= 0.001 or p == 0:
        return f"{p:.3f}"
    mantissa, exponent = f"{p:.1e}".split("e")
    if tex:
        return rf"${mantissa}\times10^{{{int(exponent)}}}$"
    return f"{mantissa}×10" + str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def ppc_p_text(ppc) -> str:
    """Return the posterior-predictive p-value with its error, or its 95 % CL bound at 0 or 1.

    With no replica beyond the data among S draws the share is bounded, not measured:
    p < 1 − 0.05^(1/S) ≈ 3/S at 95 % CL (and symmetrically at 1).
    """
    p, s = ppc["p_value"], ppc["draws"]
    bound = zero_count_bound(s)
    if p == 0:
        return f"p < {bound:.2g} (95 % CL)"
    if p == 1:
        return f"p > {1 - bound:.3g} (95 % CL)"
    return f"p = {p:.3f} ± {ppc['p_value_error']:.3f}"


def display_measurement(p, value, error) -> str:
    """Return ``value ± error unit`` of parameter ``p``, PDG-rounded, in its display unit.

    The display unit is MeV for a GeV parameter known to better than 5 MeV
    (:func:`display_scale`), else the parameter's own unit.
    """
    factor, unit = display_scale(p, error)
    text = format_measurement(value * factor, error * factor).replace("-", "\N{MINUS SIGN}")
    return text + (f" {unit}" if unit else "")


def format_general(x, digits=6) -> str:
    """Return ``x`` to ``digits`` significant digits, or "—" where it is missing or not finite.

    Parameters
    ----------
    x : float or None
    digits : int

    Returns
    -------
    str
    """
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    return f"{x:.{digits}g}"


def format_at_place(x, place) -> str:
    """Return ``x`` rounded to the power of ten ``place`` (:func:`format_general` when there is none).

    Parameters
    ----------
    x : float or None
    place : int or None

    Returns
    -------
    str
    """
    if place is None or x is None or not np.isfinite(x):
        return format_general(x)
    return at_place(x, place)


def format_ratio(x) -> str:
    """Return a ratio of errors to three decimals, or "—".

    Parameters
    ----------
    x : float or None

    Returns
    -------
    str
    """
    return format_general(x) if x is None or not np.isfinite(x) else f"{x:.3f}"


def format_ess(x) -> str:
    """Return an effective sample size as a whole number (ESS is an estimate, not a count), or "—".

    Parameters
    ----------
    x : float or None

    Returns
    -------
    str
    """
    return format_general(x) if x is None or not np.isfinite(x) else f"{x:.0f}"
