"""Binomial statistics of counted outcomes: coverage of toys, p-values from toys.

Use :func:`clopper_pearson` for the error of a share k/n (a coverage, a p-value from toys),
and :func:`zero_count_bound` for what a share of 0 out of n means (a p-value no toy reached).
"""

from scipy import stats

from bayesfit.core.constants import ONE_SIGMA

__all__ = ["clopper_pearson", "zero_count_bound"]


def clopper_pearson(k, n, cl=ONE_SIGMA):
    """Return the Clopper–Pearson (exact binomial) interval of a share ``k / n`` at ``cl``.

    Parameters
    ----------
    k, n : int
        Successes and trials.
    cl : float
        Confidence level of the two-sided interval (68.27 % by default: a "±1σ" error bar).

    Returns
    -------
    (float, float)
        Lower and upper end; ``(0, 1)`` for ``n = 0``.
    """
    if n == 0:
        return 0.0, 1.0
    a = (1 - cl) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def zero_count_bound(trials, cl=0.95):
    """Return the one-sided upper bound at ``cl`` on a probability of which none of ``trials`` hit.

    1 − (1 − cl)^(1/trials), about 3/trials at 95 % CL: what a p-value of 0 from toys (or
    posterior replicas) means.

    Parameters
    ----------
    trials : int
        Number of trials, none of which hit.
    cl : float
        Confidence level of the one-sided bound.

    Returns
    -------
    float
    """
    return 1 - (1 - cl) ** (1 / trials)
