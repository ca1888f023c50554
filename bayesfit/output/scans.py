"""The profile-likelihood and MINOS-contour scans of a report, kept within a time budget.

The scans refit the model hundreds of times. :func:`scan_plan` times one likelihood call and
chooses how many points (and contour pairs) fit in :data:`SCAN_BUDGET_S`; :func:`scan_figures`
draws them, saying beforehand how long they will take and afterwards what was left out.
"""

from __future__ import annotations

import time

from bayesfit.output.plots import most_correlated_pairs, plot_contours, plot_profiles

__all__ = ["SCAN_BUDGET_S", "scan_plan", "scan_figures"]


#: Seconds the profile scans, and separately the MINOS contours, may take by default; beyond,
#: fewer points (and pairs) are drawn, and a figure that cannot fit at all is left out.
SCAN_BUDGET_S = 90.0
#: Function calls per profile point and per contour point, measured on the shipped models.
_CALLS_PER_PROFILE_POINT, _CALLS_PER_CONTOUR_POINT = 25, 65


def scan_plan(fit, budget=SCAN_BUDGET_S) -> dict:
    """Return how finely the profiles and contours are drawn for ``fit`` within ``budget`` seconds.

    One call of the negative log-likelihood is timed; profiles get 20 points per parameter (down
    to 8), contours 20 points per curve for the three most correlated pairs (down to one pair of
    10 points). A figure that does not fit even then is planned as None.

    Parameters
    ----------
    fit : bayesfit.FitResult
    budget : float
        Seconds for the profiles, and again for the contours.

    Returns
    -------
    dict
        ``profile_points`` (int or None), ``contour_pairs`` and ``contour_size`` (int or None),
        ``seconds`` (the estimate) and ``call_s`` (one likelihood call).
    """
    problem, k = fit.problem, len(fit.problem.params)
    t0 = time.perf_counter()
    for _ in range(3):
        problem.nll(fit.mle.values)
    call = (time.perf_counter() - t0) / 3
    per_profile = lambda points: k * points * _CALLS_PER_PROFILE_POINT * call
    per_contour = lambda pairs, size: pairs * 2 * size * _CALLS_PER_CONTOUR_POINT * call
    points = next((n for n in (20, 14, 8) if per_profile(n) <= budget), None)
    npairs = min(3, k * (k - 1) // 2)
    contour = next(((p, n) for p, n in ((npairs, 20), (npairs, 14), (1, 14), (1, 10)) if per_contour(p, n) <= budget),
                   (None, None))
    seconds = (per_profile(points) if points else 0.0) + (per_contour(*contour) if contour[0] else 0.0)
    return {"profile_points": points, "contour_pairs": contour[0], "contour_size": contour[1],
            "seconds": seconds, "call_s": call}


def scan_figures(fit, log=None) -> dict:
    """Return the profile and contour figures, as fine as :func:`scan_plan` allows, saying so.

    Parameters
    ----------
    fit : bayesfit.FitResult
        With a valid MIGRAD minimum.
    log : callable, optional
        Receives the announcement and what was left out.

    Returns
    -------
    dict
        ``{"profiles": Figure, "contours": Figure}``, either left out where it would not fit.
    """
    plan = scan_plan(fit)
    say = log or (lambda line: None)
    k = len(fit.problem.params)
    wanted = ["profiles"] + (["contours"] if k > 1 else [])
    doing = (["profile likelihoods"] if plan["profile_points"] else []) + (
        ["MINOS contours"] if k > 1 and plan["contour_pairs"] else [])
    if doing and plan["seconds"] >= 1:
        say(f"{' and '.join(doing)} (refits of the model, about {plan['seconds']:.0f} s) ...")
    out = {}
    if plan["profile_points"]:
        out["profiles"] = plot_profiles(fit.problem.params, fit.mle, fit.idata, points=plan["profile_points"])
    if k > 1 and plan["contour_pairs"]:
        pairs = most_correlated_pairs(fit.mle.correlation, plan["contour_pairs"])
        out["contours"] = plot_contours(fit.problem.params, fit.mle, fit.idata, pairs=pairs,
                                        size=plan["contour_size"])
    for name in wanted:
        if name not in out:
            say(f"note: {name}.png left out: one likelihood call takes {plan['call_s'] * 1e3:.0f} ms, and its "
                f"scans would exceed {SCAN_BUDGET_S:.0f} s (bayesfit.output.plots.plot_{name} draws it)")
    return out
