"""Coverage verdicts: which intervals of a fit can be trusted, from toys at the fitted point.

``bf.fit(..., check_coverage=N)`` runs N toys at the fitted point (:func:`bayesfit.toys`) and
:func:`coverage_advice` turns the study into a verdict per parameter and interval, with
warnings where an interval is too narrow, the MLE biased, or a parameter often at a bound.
"""

import math

from scipy import stats

from bayesfit.core.binomial import clopper_pearson
from bayesfit.core.constants import ONE_SIGMA
from bayesfit.output.formatting import INTERVAL_LABELS

__all__ = ["coverage_advice", "toys_to_decide", "COVERAGE_TOLERANCE", "VERDICT_CL"]


#: How far from the nominal 68.27 % a coverage may lie and still be trusted.
COVERAGE_TOLERANCE = 0.05

#: Confidence level of the Clopper–Pearson interval behind a verdict: with about twenty
#: verdicts per check, 99 % keeps false alarms rare (0.5 % each, one-sided).
VERDICT_CL = 0.99


def toys_to_decide(share, tolerance=COVERAGE_TOLERANCE, cl=VERDICT_CL) -> int | None:
    """Return about how many toys tell whether a coverage of ``share`` lies within ``tolerance`` of 68.3 %.

    That many toys make the ``cl`` interval of the coverage (its normal approximation,
    ±z·√(p(1 − p)/N)) as narrow as the distance of ``share`` from the nearer edge of the band.

    Parameters
    ----------
    share : float
        The measured coverage.
    tolerance : float
        Half-width of the band around the nominal coverage.
    cl : float
        Confidence level of the verdict.

    Returns
    -------
    int or None
        ``None`` for a share on the band's edge (no number of toys decides it).
    """
    margin = abs(tolerance - abs(share - ONE_SIGMA))
    spread = math.sqrt(max(share * (1 - share), 1e-4))
    if margin < 1e-9:
        return None
    return math.ceil((stats.norm.isf((1 - cl) / 2) * spread / margin) ** 2)


def coverage_advice(study, tolerance=COVERAGE_TOLERANCE) -> dict:
    """Turn a toy study at the fitted point into advice: which intervals can be trusted.

    Per parameter and interval, the verdict is ``"trusted"`` when the 99 % Clopper–Pearson
    interval (:data:`VERDICT_CL`) of the coverage lies within ``tolerance`` of 68.27 %,
    ``"undercovers"`` (too narrow) or
    ``"overcovers"`` (too wide) when it lies wholly below or above that band, and
    ``"undetermined"`` when the toys are too few to tell; then ``toys_to_decide`` says about
    how many would (:func:`toys_to_decide`). Whatever the verdict, ``versus_nominal`` says
    what the toys at hand show: "consistent with 68.3 %", or "below"/"above 68.3 % at 99 % CL".
    Undercoverage, a pull bias beyond 0.1 σ (and three of its errors), and a parameter at a
    bound in more than 5 % of the toys become warnings.

    Parameters
    ----------
    study : ToyStudy
    tolerance : float

    Returns
    -------
    dict
        ``{"toys", "n_events", "nominal", "tolerance", "parameters": {name: {interval:
        {"coverage", "error", "cp_68", "cp_99", "toys", "verdict", "versus_nominal", "toys_to_decide"},
        "pull_mean", ...}}, "warnings": [...]}``; ``error`` is the binomial standard error.
    """
    s = study.summary()
    out = {"toys": s["toys"], "n_events": study.n_events, "nominal": ONE_SIGMA, "tolerance": tolerance,
           "failed": s["failed"], "parameters": {}, "warnings": []}
    for name, p in s["parameters"].items():
        entry = {k: p[k] for k in ("pull_mean", "pull_mean_error", "pull_width", "pull_width_error", "at_limit")
                 if k in p}
        for kind, c in p.get("coverage", {}).items():
            if not c["n"]:
                continue
            lo, hi = clopper_pearson(c["k"], c["n"], VERDICT_CL)
            if hi < ONE_SIGMA - tolerance:
                verdict = "undercovers"
            elif lo > ONE_SIGMA + tolerance:
                verdict = "overcovers"
            elif lo >= ONE_SIGMA - tolerance and hi <= ONE_SIGMA + tolerance:
                verdict = "trusted"
            else:
                verdict = "undetermined"
            if hi < ONE_SIGMA:
                versus = f"below {100 * ONE_SIGMA:.1f} % at {100 * VERDICT_CL:.0f} % CL"
            elif lo > ONE_SIGMA:
                versus = f"above {100 * ONE_SIGMA:.1f} % at {100 * VERDICT_CL:.0f} % CL"
            else:
                versus = f"consistent with {100 * ONE_SIGMA:.1f} %"
            share = c["share"]
            entry[kind] = {"coverage": share, "error": math.sqrt(share * (1 - share) / c["n"]), "cp_68": c["cp_68"],
                           "cp_99": [lo, hi], "toys": c["n"], "verdict": verdict, "versus_nominal": versus,
                           "toys_to_decide": toys_to_decide(share, tolerance) if verdict == "undetermined" else None}
            if verdict == "undercovers":
                out["warnings"].append(
                    f"{INTERVAL_LABELS[kind]} interval of {name} covers {100 * c['share']:.1f} % of {c['n']:,} toys of "
                    f"{study.n_events:,} events (nominal 68.3 %): too narrow at this sample size")
        if "pull_mean" in p and abs(p["pull_mean"]) > max(0.1, 3 * p["pull_mean_error"]):
            out["warnings"].append(f"the MLE of {name} is biased by {p['pull_mean']:+.2f} ± {p['pull_mean_error']:.2f} "
                                   f"of its HESSE error in toys at this sample size")
        if s["toys"] and p.get("at_limit", 0) > 0.05 * s["toys"]:
            out["warnings"].append(f"{name} ends at a bound in {p['at_limit']:,} of {s['toys']:,} toys: its errors "
                                   "and intervals are unreliable at this sample size")
        out["parameters"][name] = entry
    return out
