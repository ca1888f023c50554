"""No signal? Upper limits and intervals for a parameter at a physical boundary.

Three answers to one question, side by side (:func:`upper_limit`):

- **CLs** (the LHC's convention; Read 2002): the test statistic q̃μ of Cowan, Cranmer, Gross and
  Vitells (Eur. Phys. J. C 71 (2011) 1554, "CCGV") for a parameter μ ≥ 0, CLs = CLs+b / CLb, the
  limit where CLs = 1 − CL. Asymptotically (CCGV's formulae, σ from the background-only Asimov
  dataset), with the expected limit and its ±1σ, ±2σ band; or from toys (signal + background
  and background-only toys at each point of a grid, on Dask). CLs+b, the plain frequentist
  limit, is reported beside it. CLs over-covers by design where the signal is small.
- **Feldman–Cousins** (Phys. Rev. D 57 (1998) 3873, "FC"): the unified interval of a Neyman
  construction ordered by the likelihood ratio t_μ = −2 ln λ(μ) with μ̂ ≥ 0 and the nuisance
  parameters profiled; from the same signal + background toys, or without toys from the
  asymptotic distribution of t̃μ (CCGV eq. 44). It becomes two-sided by itself when the data
  say so.
- **Bayesian**: the CL quantile of the marginal posterior of μ, prior flat in μ on the
  parameter's bounds unless the parameter has its own ``prior=``; NUTS with the nuisance
  parameters integrated, or quadrature where μ is the only free parameter. The prior is stated
  in every output.

For a counting experiment with a known background (:class:`Counting`) everything is exact:
the sums over the Poisson counts replace the toys, and the posterior is an incomplete gamma
function. There, with n = 0 and b = 0, the 95 % CLs and flat-prior limits are both −ln 0.05
= 2.996, and FC's 90 % interval is [0, 2.44] (their table IV): the tests check these.

When to use what: :func:`upper_limit` for a window model, a simultaneous fit or a counting
experiment; :class:`ProfileLikelihood` for the profiled −ln L of one dataset as a function of
μ (q̃μ, t_μ); :func:`cls_asymptotic` for CCGV's formulae given q̃μ and its Asimov value.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize, special, stats

from bayesfit.core.binomial import clopper_pearson

__all__ = ["Counting", "ProfileLikelihood", "LimitResult", "LimitCoverage", "save_study", "cls_asymptotic", "cls_expected",
           "fc_pvalue_asymptotic", "upper_limit", "upper_limit_of_problem", "counting_coverage", "limit_coverage",
           "coverage_signals", "fc_interval_counting", "BAND_SIGMAS",
           "METHODS"]

#: The methods :func:`upper_limit` knows, in the order of its table.
METHODS = ("cls", "fc", "bayes")
#: The expected limits of CLs: the median and the ±1σ, ±2σ quantiles of the background-only
#: experiments (a positive N is an upward fluctuation of the background, a weaker limit).
BAND_SIGMAS = (-2, -1, 0, 1, 2)
#: Bins of the Asimov dataset of an unbinned model: its expected counts on a fine binning.
ASIMOV_BINS = 400
#: Points of the grid on which the toys are run, by default.
GRID_POINTS = 9
#: Toys whose test statistic lies within this of the data's count as equal to it (in the tail):
#: a discrete count gives toys with the very same value, which MIGRAD places to ~1e-4.
TIE = 1e-3


# --- CCGV's asymptotic formulae -----------------------------------------------------------
def cls_asymptotic(q_obs, q_asimov):
    """Return (CLs, CLs+b, CLb) of q̃μ from its asymptotic distributions (CCGV eqs. 65–66).

    Parameters
    ----------
    q_obs : float
        q̃μ of the data.
    q_asimov : float
        q̃μ of the background-only Asimov dataset, μ²/σ² (CCGV eq. 30).

    Returns
    -------
    (float, float, float)
    """
    q, qa = max(float(q_obs), 0.0), max(float(q_asimov), 1e-300)
    sq, sqa = math.sqrt(q), math.sqrt(qa)
    if q <= qa:
        clsb, clb = stats.norm.sf(sq), stats.norm.cdf(sqa - sq)
    else:
        clsb, clb = stats.norm.sf((q + qa) / (2 * sqa)), stats.norm.sf((q - qa) / (2 * sqa))
    return (clsb / clb if clb > 0 else 1.0), float(clsb), float(clb)


def fc_pvalue_asymptotic(t_obs, q_asimov):
    """Return P(t̃μ ≥ t_obs | μ), the p-value that orders Feldman–Cousins's belt, asymptotically (CCGV eq. 44).

    t̃μ = −2 ln λ(μ) with μ̂ ≥ 0 (two-sided); under μ its distribution function is 2Φ(√t) − 1 up to
    μ²/σ² and Φ(√t) + Φ((t + μ²/σ²)/(2μ/σ)) − 1 beyond, with μ²/σ² the background-only Asimov
    value of q̃μ.

    Parameters
    ----------
    t_obs : float
        t̃μ of the data.
    q_asimov : float
        μ²/σ².

    Returns
    -------
    float
    """
    t, qa = max(float(t_obs), 0.0), max(float(q_asimov), 1e-300)
    st = math.sqrt(t)
    if t <= qa:
        cdf = 2 * stats.norm.cdf(st) - 1
    else:
        cdf = stats.norm.cdf(st) + stats.norm.cdf((t + qa) / (2 * math.sqrt(qa))) - 1
    return float(1 - cdf)


def cls_expected(q_asimov, n_sigma):
    """Return the expected CLs of background-only experiments at the band ``n_sigma`` (CCGV §4.3).

    For background only, μ̂ = Nσ at the N-th band: CLs = (1 − Φ(√q̃μ,A − N)) / Φ(N).
    """
    sqa = math.sqrt(max(float(q_asimov), 0.0))
    return float(stats.norm.sf(sqa - n_sigma) / stats.norm.cdf(n_sigma))


# --- the counting experiment: exact sums -----------------------------------------------
@dataclass(frozen=True)
class Counting:
    """A counting experiment: n events observed, a known background b, a signal s ≥ 0.

    L(s) = Poisson(n | s + b). Every method is exact here: the Poisson sums replace the toys
    and the flat-prior posterior is an incomplete gamma function.

    Parameters
    ----------
    n : int
        Events observed.
    background : float
        The known expected background, ≥ 0.
    upper : float
        The signal's upper bound (the flat prior's range and the scans'); by default
        n + 10√(n + b) + 20.

    Examples
    --------
    >>> import bayesfit as bf
    >>> round(bf.upper_limit(bf.Counting(0, 0.0), methods=("cls",)).limits["cls"], 3)
    2.996
    """

    n: int
    background: float
    upper: float = None

    def __post_init__(self):
        if int(self.n) != self.n or self.n < 0:
            raise ValueError(f"n must be a non-negative integer (got {self.n!r})")
        if not (math.isfinite(self.background) and self.background >= 0):
            raise ValueError(f"the background must be a finite number ≥ 0 (got {self.background!r})")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "background", float(self.background))
        if self.upper is None:
            object.__setattr__(self, "upper", self.n + 10 * math.sqrt(self.n + self.background) + 20)
        if not self.upper > 0:
            raise ValueError("the signal's upper bound must be positive")

    @property
    def names(self):
        """The one parameter, the signal ``s``."""
        return ["s"]

    def _counts(self, s):
        return np.arange(int(stats.poisson.isf(1e-14, s + self.background)) + 20)

    def _nll(self, s, n):
        mu = s + self.background
        return mu - special.xlogy(n, mu)

    def t(self, s, n, *, one_sided):
        """Return t_s (FC) or q̃_s (``one_sided``, CLs) of the counts ``n``: −2 ln λ(s), ŝ ≥ 0."""
        n = np.asarray(n, dtype=float)
        s_hat = np.maximum(n - self.background, 0.0)
        out = 2 * (self._nll(s, n) - self._nll(s_hat, n))
        out = np.maximum(out, 0.0)
        return np.where(s_hat > s, 0.0, out) if one_sided else out

    def cls(self, s):
        """Return (CLs, CLs+b, CLb) at signal ``s``: sums over n with q̃_s(n) ≥ q̃_s(n_obs)."""
        n = self._counts(s)
        q = self.t(s, n, one_sided=True)
        q_obs = self.t(s, self.n, one_sided=True) * (1 - 1e-12)  # ties belong to the tail
        tail = q >= q_obs
        clsb = float(stats.poisson.pmf(n[tail], s + self.background).sum())
        clb = float(stats.poisson.pmf(n[tail], self.background).sum())
        return (clsb / clb if clb > 0 else 1.0), clsb, clb

    def fc_pvalue(self, s):
        """Return P(t_s ≥ t_s(n_obs) | s): n_obs lies in FC's acceptance region where it exceeds 1 − CL."""
        n = self._counts(s)
        t = self.t(s, n, one_sided=False)
        t_obs = self.t(s, self.n, one_sided=False) * (1 - 1e-12)
        return float(stats.poisson.pmf(n[t >= t_obs], s + self.background).sum())

    def fc_acceptance(self, s, cl):
        """Return FC's acceptance region of n at ``s``: (lowest n, highest n)."""
        n = self._counts(s)
        t = self.t(s, n, one_sided=False)
        order = np.argsort(t, kind="stable")
        p = stats.poisson.pmf(n[order], s + self.background)
        k = int(np.searchsorted(np.cumsum(p), cl)) + 1
        kept = n[order[:k]]
        return int(kept.min()), int(kept.max())

    def posterior_cdf(self, s):
        """Return the flat-prior posterior's P(signal ≤ s) (on [0, ∞), an incomplete gamma function)."""
        b, a = self.background, self.n + 1
        return float(1 - special.gammaincc(a, s + b) / special.gammaincc(a, b))


# --- a model's profile likelihood --------------------------------------------------------
class ProfileLikelihood:
    """The profiled −ln L of one dataset as a function of the parameter of interest (iminuit).

    Parameters
    ----------
    problem : bayesfit.modeling.problem.Problem
        A model bound to its data.
    poi : int
        Index of the parameter of interest in ``problem.names``; its lower bound is the physical
        boundary (MIGRAD keeps μ̂ on it).
    start : array_like, optional
        Where MIGRAD starts (the problem's start values by default).
    """

    def __init__(self, problem, poi, start=None):
        from iminuit import Minuit

        self.problem, self.poi = problem, int(poi)
        x0 = np.asarray(problem.start if start is None else start, dtype=float)
        m = Minuit(problem.nll, x0, name=problem.names, grad=problem.nll_grad)
        m.errordef = Minuit.LIKELIHOOD
        m.limits = problem.mle_limits
        m.print_level = 0
        m.tol = 0.01  # EDM below 1e-5: −ln L to ~1e-5, far inside TIE
        self._m, self._start, self._min = m, x0, None

    def _migrad(self, start):
        m = self._m
        m.values = start
        m.migrad()
        if not m.valid:
            m.migrad()
        return float(m.fval), np.array(m.values)

    def minimum(self):
        """Return (−ln L at the minimum, the fitted values) with μ free (μ̂ at its boundary or above)."""
        if self._min is None:
            from bayesfit.backend import compat

            self._m.fixed[self.poi] = False
            with compat.quiet_minuit():
                self._min = self._migrad(self._start)
        return self._min

    def profile(self, mu):
        """Return (−ln L, the nuisance parameters profiled) with μ fixed at ``mu``."""
        from bayesfit.backend import compat

        fval, values = self.minimum()
        start = values.copy()
        start[self.poi] = mu
        self._m.fixed[self.poi] = True
        try:
            with compat.quiet_minuit():
                out = self._migrad(start)
        finally:
            self._m.fixed[self.poi] = False
        return out

    def log_nuisance_volume(self):
        """Return ½ ln det of the nuisance parameters' HESSE covariance at the last profile fit (μ fixed).

        The Laplace approximation of ∫ L dθ around the profile, up to constants; 0 without
        nuisance parameters, NaN where HESSE finds no positive-definite covariance (a nuisance
        the data do not fix at this μ, such as a signal's mass without signal).
        """
        others = [i for i in range(len(self.problem.names)) if i != self.poi]
        if not others:
            return 0.0
        from bayesfit.backend import compat

        self._m.fixed[self.poi] = True
        try:
            with compat.quiet_minuit():
                self._m.hesse()
        finally:
            self._m.fixed[self.poi] = False
        if self._m.covariance is None:  # HESSE failed: a nuisance the data do not fix at this μ
            return math.nan
        sign, logdet = np.linalg.slogdet(np.array(self._m.covariance)[np.ix_(others, others)])
        return 0.5 * logdet if sign > 0 else math.nan

    def t(self, mu):
        """Return (t_μ, q̃μ): −2 ln λ(μ) (FC's ordering), and 0 where μ̂ > μ (CLs's q̃μ)."""
        fval, values = self.minimum()
        t = max(2.0 * (self.profile(mu)[0] - fval), 0.0)
        return t, (0.0 if values[self.poi] > mu else t)


def draw_dataset(model, values, n_events, rng):
    """Draw a dataset of a window model or a simultaneous fit at ``values`` (Poisson for yields)."""
    from bayesfit.modeling.simultaneous import Simultaneous

    if isinstance(model, Simultaneous):
        free = dict(zip(model.names, values))
        return {k: draw_dataset(m, [free[n] for n in m.names], n_events[k], rng) for k, m in model.categories.items()}
    return model.simulate(values, None if model.extended else n_events, rng=rng)


def bind_like(problem, data, *, counts=None):
    """Bind ``data`` to the structure of ``problem`` (no validation: toys and Asimov data).

    ``counts``: expected counts per bin (or per category) instead of events: an Asimov dataset.
    """
    from bayesfit.modeling.simultaneous import SimultaneousProblem

    if isinstance(problem, SimultaneousProblem):
        parts = {k: bind_like(p, None if data is None else data[k], counts=None if counts is None else counts[k])
                 for k, p in problem.problems.items()}
        return SimultaneousProblem(problem.model, parts)
    if counts is None:
        return problem.model.bind(data, fit_bins=problem.fit_bins)
    bound = problem.model.bind(np.empty(0), fit_bins=len(counts))
    bound.fit_counts = np.asarray(counts, dtype=float)
    return bound


def asimov_counts(problem, values):
    """Expected counts of ``problem``'s structure at ``values``: per bin, or per category and bin."""
    from bayesfit.modeling.simultaneous import SimultaneousProblem

    if isinstance(problem, SimultaneousProblem):
        return {k: asimov_counts(p, np.asarray(values)[problem.index[k]]) for k, p in problem.problems.items()}
    edges = problem.fit_edges if problem.fit_bins is not None else np.linspace(problem.lo, problem.hi,
                                                                               ASIMOV_BINS + 1)
    contents = sum(problem.model.bin_contents(values, edges))
    return contents if problem.model.extended else problem.n_data * contents


def event_counts(problem):
    from bayesfit.modeling.simultaneous import SimultaneousProblem

    if isinstance(problem, SimultaneousProblem):
        return {k: p.n_data for k, p in problem.problems.items()}
    return problem.n_data


def _with_observed(problem, observed):
    """Set the constraints' measured values (the global observables) of a problem."""
    if problem.constraint_terms:
        problem.constraint_terms.observed.update(observed)
    return problem


class _ToyPlan:
    """What a Dask worker needs to fit the toys of one model: picklable, sent once.

    ``jobs``: per kind of toy, the truth it is drawn at and the values of μ its t_μ and q̃μ are
    computed at (the background-only toys at every point of the grid, the signal + background
    toys of a point at that point).
    """

    def __init__(self, problem, poi, jobs):
        self.problem, self.poi = problem, poi
        self.jobs = [(np.asarray(truth, dtype=float), np.asarray(mus, dtype=float)) for truth, mus in jobs]
        self.n_events = event_counts(problem)


def _toy_chunk(plan, chunk, redraw):
    """Fit the toys of ``chunk`` ((job, seed) pairs): μ̂ and (t_μ, q̃μ) at each μ of the job."""
    out = []
    for job, seed in chunk:
        truth, mus = plan.jobs[job]
        rng = np.random.default_rng(seed)
        data = draw_dataset(plan.problem.model, truth, plan.n_events, rng)
        toy = bind_like(plan.problem, data)
        terms = toy.constraint_terms
        if terms:
            terms.observed.update(plan.problem.constraint_terms.observed)
            if redraw:  # the global observables fluctuate with each toy (see docs/analyses.md)
                terms.observed.update(terms.draw(truth, rng))
        pl = ProfileLikelihood(toy, plan.poi, start=truth)
        pairs = [pl.t(mu) for mu in mus]
        out.append((job, float(pl.minimum()[1][plan.poi]), [p[0] for p in pairs], [p[1] for p in pairs]))
    return out


def _run_toys(plan, n_toys, seed, workers, progress, redraw=True):
    """Run ``n_toys`` toys of every job of ``plan`` (here or on Dask); per job (μ̂, t, q̃) arrays."""
    from bayesfit.studies.parallel import CHUNK, Progress, map_chunks

    items = [(job, s) for job in range(len(plan.jobs)) for s in np.random.SeedSequence([seed, job]).spawn(n_toys)]
    chunks = [items[k:k + CHUNK] for k in range(0, len(items), CHUNK)]
    results = []
    shown = Progress(len(items), 0, progress)

    def keep(chunk):
        results.extend(chunk)
        shown.update(len(chunk))

    map_chunks(_toy_chunk, (plan,), (redraw,), chunks, workers, None, keep)
    out = []
    for job in range(len(plan.jobs)):
        mine = [r for r in results if r[0] == job]
        out.append((np.array([r[1] for r in mine]), np.array([r[2] for r in mine]), np.array([r[3] for r in mine])))
    return out


def save_study(result, directory, stem, figures) -> list:
    """Write a study's ``{stem}.json`` (``to_dict()``), ``{stem}.txt`` (``table()``) and figures to ``directory``.

    Parameters
    ----------
    result : object
        With ``to_dict()`` and ``table()``.
    directory : str or path-like
        Made if missing.
    stem : str
    figures : dict
        ``{file stem: plot function}``; a function returning ``None`` (nothing to draw) writes nothing.

    Returns
    -------
    list of str
        The files written.
    """
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    (out / f"{stem}.txt").write_text(result.table() + "\n")
    written = [f"{stem}.json", f"{stem}.txt"]
    for name, plot in figures.items():
        fig = plot(result)
        if fig is None:
            continue
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", dpi=150, bbox_inches="tight")
            written.append(f"{name}.{ext}")
        plt.close(fig)
    return written


# --- the result -------------------------------------------------------------------------
@dataclass
class LimitResult:
    """Upper limits and intervals of one parameter by several methods (see :func:`upper_limit`).

    Attributes
    ----------
    poi : str
        The parameter of interest.
    cl : float
        The confidence or credibility level.
    limits : dict
        ``{method: upper limit}``; "cls", "clsb" (asymptotic or toys), "bayes".
    intervals : dict
        ``{"fc": (lower, upper)}`` and the Bayesian ``(0, limit)``.
    expected : dict
        CLs's expected limits ``{N: limit}`` for N in :data:`BAND_SIGMAS`.
    scan : dict
        The curves behind the figures: μ grid, observed and expected CLs, CLs+b, FC p-values.
    prior : str
        The prior of the Bayesian limit, in words.
    how : dict
        How each method was computed ("asymptotic", "toys (N per point)", "exact", "NUTS", ...).
    """

    poi: str
    cl: float
    unit: str = ""
    limits: dict = field(default_factory=dict)
    intervals: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)
    scan: dict = field(default_factory=dict)
    prior: str = ""
    how: dict = field(default_factory=dict)
    mle: float = float("nan")
    lower: float = 0.0
    values: dict = field(default_factory=dict)
    posterior: object = field(default=None, repr=False)
    belt: dict = field(default_factory=dict, repr=False)
    timing_s: dict = field(default_factory=dict)

    def table(self) -> str:
        """Return the answers as a text table: method, upper limit, interval, how it was computed."""
        unit = f" {self.unit}" if self.unit else ""
        fmt = lambda v: f"{v:.4g}" if v is not None and math.isfinite(v) else "none found"  # noqa: E731
        lines = [f"Upper limits on {self.poi}{f' [{self.unit}]' if self.unit else ''} at {100 * self.cl:g} % CL", ""]
        rows = [("method", "limit", "interval", "how")]
        if "cls" in self.limits:
            rows.append(("CLs", fmt(self.limits["cls"]), "", self.how["cls"]))
            rows.append(("CLs+b", fmt(self.limits["clsb"]), "", self.how["cls"]))
        if "fc" in self.intervals:
            lo, hi = self.intervals["fc"]
            kind = "upper limit" if lo <= 0 else "two-sided"
            rows.append(("Feldman–Cousins", fmt(hi), f"[{fmt(lo)}, {fmt(hi)}]", f"{self.how['fc']}; {kind}"))
        if "bayes" in self.limits:
            rows.append(("Bayesian", fmt(self.limits["bayes"]), f"[0, {fmt(self.limits['bayes'])}]",
                         f"{self.how['bayes']}; prior {self.prior}"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            lines.append("  " + "  ".join(f"{c:<{w}}" for c, w in zip(r[:3], widths)) + "  " + r[3])
        if self.expected:
            e = {k: fmt(v) for k, v in self.expected.items()}
            lines += ["", f"  CLs expected (background only): median {e[0]}{unit},  ±1σ [{e[-1]}, {e[1]}],  "
                          f"±2σ [{e[-2]}, {e[2]}]"]
        if math.isfinite(self.mle):
            scale = max([abs(v) for v in self.limits.values() if math.isfinite(v)] + [1.0])
            if self.mle - self.lower <= 1e-6 * scale:  # MIGRAD's limit transform leaves it a hair above
                lines.append(f"  maximum-likelihood {self.poi} = {self.lower:g}{unit} (on its physical boundary)")
            else:
                lines.append(f"  maximum-likelihood {self.poi} = {self.mle:.4g}{unit}")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    def to_dict(self) -> dict:
        """Return the result as plain data (``limit.json``)."""
        clean = lambda v: None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v  # noqa: E731
        return {"poi": self.poi, "unit": self.unit, "cl": self.cl, "mle": clean(self.mle),
                "limits": {k: clean(float(v)) for k, v in self.limits.items()},
                "intervals": {k: [clean(float(x)) for x in v] for k, v in self.intervals.items()},
                "expected": {str(k): clean(float(v)) for k, v in self.expected.items()},
                "lower": self.lower, "prior": self.prior, "how": self.how, "timing_s": self.timing_s,
                "scan": {k: [clean(float(x)) for x in np.ravel(v)] if np.ndim(v) <= 1 else np.asarray(v).tolist()
                         for k, v in self.scan.items()}}

    def save(self, directory) -> list:
        """Write ``limit.json``, the table ``limit.txt`` and the figures (PNG and PDF) to ``directory``."""
        from bayesfit.output.limit_plots import plot_cls_scan, plot_fc_belt, plot_posterior

        return save_study(self, directory, "limit", {"cls_scan": plot_cls_scan, "posterior": plot_posterior,
                                                      "fc_belt": plot_fc_belt})


# --- the crossings ------------------------------------------------------------------------
def _crossing(mus, values, level):
    """Return the first μ where ``values`` (falling) crosses ``level``, interpolated in log; nan if none."""
    mus, values = np.asarray(mus, float), np.asarray(values, float)
    below = np.flatnonzero(values < level)
    if below.size == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(mus[0])
    v0, v1 = max(values[k - 1], 1e-300), max(values[k], 1e-300)
    frac = (math.log(v0) - math.log(level)) / (math.log(v0) - math.log(v1))
    return float(mus[k - 1] + frac * (mus[k] - mus[k - 1]))


def _root(f, lo, hi, level):
    """The μ in [lo, hi] where the falling ``f`` crosses ``level`` (brentq), widening hi as needed."""
    flo = f(lo) - level
    if flo <= 0:
        return lo
    for _ in range(60):
        if f(hi) - level < 0:
            return float(optimize.brentq(lambda m: f(m) - level, lo, hi, xtol=1e-10 * max(hi, 1.0), rtol=1e-10))
        lo, hi = hi, 2 * hi
    return float("nan")


# --- the methods on a model ---------------------------------------------------------------
def _model_limits(problem, poi, cl, methods, toys, grid, seed, workers, draws, log, progress, curves=True):
    names = problem.names
    k = names.index(poi)
    param = problem.params[k]
    alpha = 1 - cl
    res = LimitResult(poi=poi, cl=cl, unit=param.unit)
    timing = res.timing_s
    t0 = time.perf_counter()
    observed = ProfileLikelihood(problem, k)
    f_min, best = observed.minimum()
    res.mle = float(best[k])
    lower, upper = float(param.lower), float(param.upper)
    res.lower = lower
    res.values = {n: float(v) for n, v in zip(names, best)}
    theta0 = observed.profile(lower)[1]
    # the background-only Asimov dataset, nuisances at their values profiled on the data at μ = 0
    asimov_problem = _with_observed(bind_like(problem, None, counts=asimov_counts(problem, theta0)),
                                    _asimov_observed(problem, theta0))
    asimov = ProfileLikelihood(asimov_problem, k, start=theta0)
    sigma_guess = None
    memo = {}

    def q_pair(mu):  # (q̃μ of the data, q̃μ of the Asimov dataset), each profile fitted once per μ
        if mu not in memo:
            memo[mu] = (observed.t(mu)[1], asimov.t(mu)[0])
        return memo[mu]

    if "cls" in methods or "fc" in methods:
        log(f"asymptotic CLs of {poi} (CCGV formulae, background-only Asimov dataset) ...")
        # a scale for μ: where the Asimov q̃μ reaches 1 (one σ of μ̂ under background only)
        probe = res.mle + 1.0 if res.mle > 0 else (upper - lower) * 1e-3
        for _ in range(40):
            if asimov.t(lower + probe)[0] >= 1.0 or lower + probe >= upper:
                break
            probe *= 2
        q_a = max(asimov.t(lower + probe)[0], 1e-12)
        sigma_guess = probe / math.sqrt(q_a)
        cls_of = lambda mu: cls_asymptotic(*q_pair(mu))[0]  # noqa: E731
        clsb_of = lambda mu: cls_asymptotic(*q_pair(mu))[1]  # noqa: E731
        start_hi = max(res.mle, lower) + 3 * sigma_guess
        cls_limit = _root(cls_of, lower + 1e-9 * sigma_guess, min(start_hi, upper), alpha)
        clsb_limit = _root(clsb_of, lower + 1e-9 * sigma_guess, min(start_hi, upper), alpha)
        expected = {}
        for n in BAND_SIGMAS:
            expected[n] = _root(lambda mu: cls_expected(q_pair(mu)[1], n), lower + 1e-9 * sigma_guess,
                                min(start_hi, upper), alpha)
        timing["cls_asymptotic"] = time.perf_counter() - t0
        finite = [v for v in [cls_limit, clsb_limit, *expected.values()] if math.isfinite(v)]
        if curves and finite:  # CLs against μ, for the figure
            mus = np.linspace(lower, min(max(finite) * 1.5, upper), 60)[1:]
            scan = np.array([cls_asymptotic(*q_pair(mu)) for mu in mus])
            res.scan.update(mu=mus, cls_asymptotic=scan[:, 0], clsb_asymptotic=scan[:, 1],
                            **{f"cls_expected_{n:+d}": [cls_expected(q_pair(mu)[1], n) for mu in mus]
                               for n in BAND_SIGMAS})
        if "cls" in methods:
            res.limits.update(cls=cls_limit, clsb=clsb_limit)
            res.expected = expected
            res.how["cls"] = "asymptotic"
        if "fc" in methods and not toys:
            p_fc = lambda mu: fc_pvalue_asymptotic(observed.t(mu)[0], q_pair(mu)[1])  # noqa: E731
            eps = lower + 1e-9 * sigma_guess
            best = max(res.mle, eps)
            hi_fc = _root(p_fc, best, min(best + 3 * sigma_guess, upper), alpha)
            lo_fc = lower if p_fc(eps) > alpha else float(optimize.brentq(lambda mu: p_fc(mu) - alpha, eps, best,
                                                                           xtol=1e-10 * max(best, 1.0)))
            res.intervals["fc"] = (lo_fc, hi_fc)
            res.how["fc"] = "asymptotic (CCGV's t̃μ)"
    if toys and ("cls" in methods or "fc" in methods):
        t1 = time.perf_counter()
        # the boundary (FC's intervals may start there), then ``grid`` points from half the lowest to
        # 1.4 times the highest of the asymptotic limits: where CLs and FC's p-values cross 1 − CL
        found = [v for v in [cls_limit, clsb_limit, *expected.values()] if math.isfinite(v)] or [4 * sigma_guess]
        first = lower + 0.5 * (min(found) - lower)
        mus = np.concatenate([[lower], np.linspace(first, min(lower + 1.4 * (max(found) - lower), upper), grid)])
        log(f"toys: {toys} signal + background and {toys} background-only per point, {grid + 1} points of {poi} "
            f"in [{mus[0]:.4g}, {mus[-1]:.4g}] ...")
        obs = np.array([observed.t(mu) for mu in mus])
        jobs = [(theta0, mus)] + [(observed.profile(mu)[1], [mu]) for mu in mus]
        done = _run_toys(_ToyPlan(problem, k, jobs), toys, seed, workers, progress)
        mu_b, t_b, q_b = done[0]
        cls_t, clsb_t, clb_t, fc_p, belt = [], [], [], [], []
        exp_t = {n: [] for n in BAND_SIGMAS}
        for j, mu in enumerate(mus):
            mu_sb, t_sb, q_sb = done[j + 1]
            clsb = float(np.mean(q_sb[:, 0] >= obs[j, 1] - TIE))
            clb = float(np.mean(q_b[:, j] >= obs[j, 1] - TIE))
            clsb_t.append(clsb)
            clb_t.append(clb)
            cls_t.append(clsb / clb if clb > 0 else 1.0)
            fc_p.append(float(np.mean(t_sb[:, 0] >= obs[j, 0] - TIE)))
            crit = np.quantile(t_sb[:, 0], cl)
            accepted = mu_sb[t_sb[:, 0] <= crit]
            belt.append((float(accepted.min()), float(accepted.max())) if accepted.size else (np.nan, np.nan))
            for n in BAND_SIGMAS:
                q_n = np.quantile(q_b[:, j], stats.norm.cdf(-n))
                b_tail = np.mean(q_b[:, j] >= q_n - TIE)
                exp_t[n].append(float(np.mean(q_sb[:, 0] >= q_n - TIE) / b_tail) if b_tail > 0 else 1.0)
        res.scan.update(mu_toys=mus, cls_toys=cls_t, clsb_toys=clsb_t, clb_toys=clb_t, fc_pvalue=fc_p,
                        **{f"cls_toys_expected_{n:+d}": v for n, v in exp_t.items()})
        res.belt = {"mu": mus, "accepted": np.array(belt), "observed": res.mle}
        timing["toys"] = time.perf_counter() - t1
        if "cls" in methods:  # from the grid's points off the boundary, where CLs is 1 by definition
            res.limits.update(cls=_crossing(mus[1:], cls_t[1:], alpha), clsb=_crossing(mus[1:], clsb_t[1:], alpha))
            res.expected = {n: _crossing(mus[1:], exp_t[n][1:], alpha) for n in BAND_SIGMAS}
            res.how["cls"] = f"toys, {toys} per point"
        if "fc" in methods:
            inside = np.asarray(fc_p) > alpha
            res.intervals["fc"] = _fc_interval(mus, np.asarray(fc_p), alpha, inside)
            res.how["fc"] = f"toys, {toys} per point"
    if "bayes" in methods:
        t2 = time.perf_counter()
        res.prior = _prior_words(param)
        if len(names) == 1 and param.prior is None:
            res.limits["bayes"], res.posterior = _quadrature_limit(problem, param, cl)
            res.how["bayes"] = "quadrature"
        else:
            log(f"Bayesian limit: NUTS, 4 chains x {draws} draws, nuisance parameters integrated ...")
            res.limits["bayes"], res.posterior = _nuts_limit(problem, k, cl, draws, seed, log)
            res.how["bayes"] = f"NUTS, 4 x {draws} draws"
        res.intervals["bayes"] = (lower, res.limits["bayes"])
        timing["bayes"] = time.perf_counter() - t2
    return res


def _asimov_observed(problem, values):
    """The constraints' measured values of an Asimov dataset: their expectations at ``values``."""
    terms = problem.constraint_terms
    if not terms:
        return {}
    return {c.data_name: c.expected(np.asarray(values)[i]) for c, i in zip(terms.constraints, terms.index)}


def _fc_interval(mus, pvalues, alpha, inside):
    """FC's interval from the p-values on the grid: where they exceed α, ends interpolated."""
    if not inside.any():
        return (float("nan"), float("nan"))
    first, last = int(np.flatnonzero(inside)[0]), int(np.flatnonzero(inside)[-1])

    def edge(a, b):  # linear interpolation of p − α between grid points a (outside) and b (inside)
        pa, pb = pvalues[a] - alpha, pvalues[b] - alpha
        return float(mus[a] + (mus[b] - mus[a]) * pa / (pa - pb)) if pa != pb else float(mus[b])

    lo = float(mus[0]) if first == 0 else edge(first - 1, first)
    hi = float(mus[-1]) if last == len(mus) - 1 else edge(last + 1, last)
    return lo, hi


def _prior_words(param):
    if param.prior is not None:
        return f"the parameter's own prior on {param.name} (prior=)"
    unit = f" {param.unit}" if param.unit else ""
    return f"flat in {param.name} on [{param.lower:g}, {param.upper:g}]{unit}"


def _quadrature_limit(problem, param, cl):
    """The CL quantile of exp(−nll) on the parameter's bounds, flat prior (one free parameter)."""
    lo, hi = param.lower, param.upper
    grid = np.linspace(lo, hi, 2001)
    nll = np.array([problem.nll([m]) for m in grid])
    dens = np.exp(-(nll - nll.min()))
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    cdf /= cdf[-1]
    limit = float(np.interp(cl, cdf, grid))
    return limit, {"grid": grid, "density": dens / np.trapezoid(dens, grid)}


def _nuts_limit(problem, k, cl, draws, seed, log):
    from bayesfit.engine.fits import run_fits

    fit = run_fits(problem, sample=True, draws=draws, tune=draws, seed=seed, progressbar=False,
                   log=lambda line: None, minos=False, ppc=False)
    samples = np.asarray(fit.idata.posterior[problem.names[k]]).ravel()
    return float(np.quantile(samples, cl)), {"samples": samples}


# --- the counting experiment ------------------------------------------------------------
def _counting_limits(exp, cl, methods):
    alpha = 1 - cl
    res = LimitResult(poi="s", cl=cl, unit="events", mle=float(max(exp.n - exp.background, 0.0)))
    hi = exp.upper
    if "cls" in methods:
        res.limits["cls"] = _root(lambda s: exp.cls(s)[0], 0.0, hi, alpha)
        res.limits["clsb"] = _root(lambda s: exp.cls(s)[1], 0.0, hi, alpha)
        res.how["cls"] = "exact Poisson sums"
        mus = np.linspace(0, 1.5 * res.limits["cls"], 80)[1:]
        curves = np.array([exp.cls(s) for s in mus])
        res.scan.update(mu=mus, cls_exact=curves[:, 0], clsb_exact=curves[:, 1])
        # background-only expectations: the limits of the counts at the quantiles Φ(N) of Poisson(b)
        expected = {}
        for n in BAND_SIGMAS:
            n_b = int(stats.poisson.ppf(stats.norm.cdf(n), exp.background)) if exp.background > 0 else 0
            expected[n] = _root(lambda s, n_b=n_b: Counting(n_b, exp.background, hi).cls(s)[0], 0.0, hi, alpha)
        res.expected = expected
        for n in BAND_SIGMAS:
            n_b = int(stats.poisson.ppf(stats.norm.cdf(n), exp.background)) if exp.background > 0 else 0
            res.scan[f"cls_expected_{n:+d}"] = [Counting(n_b, exp.background, hi).cls(s)[0] for s in mus]
    if "fc" in methods:
        res.intervals["fc"] = fc_interval_counting(exp, cl)
        res.how["fc"] = "exact Neyman construction"
        grid = np.linspace(0, max(res.intervals["fc"][1] * 1.6, 3.0), 161)
        res.scan.update(mu_fc=grid, fc_pvalue=[exp.fc_pvalue(s) for s in grid])
        res.belt = {"mu": grid, "accepted": np.array([exp.fc_acceptance(s, cl) for s in grid]), "observed": exp.n,
                    "discrete": True}
    if "bayes" in methods:
        res.limits["bayes"] = _root(lambda s: 1 - exp.posterior_cdf(s), 0.0, hi, alpha)
        res.intervals["bayes"] = (0.0, res.limits["bayes"])
        res.how["bayes"] = "incomplete gamma function"
        res.prior = "flat in s on [0, ∞)"
        grid = np.linspace(0, 2 * res.limits["bayes"], 400)
        dens = stats.gamma.pdf(grid + exp.background, exp.n + 1) / special.gammaincc(exp.n + 1, exp.background)
        res.posterior = {"grid": grid, "density": dens}
    return res


def fc_interval_counting(exp, cl, *, step=1e-2):
    """Return FC's unified interval for a counting experiment with known background.

    The acceptance region of each s holds the counts n in decreasing order of the likelihood
    ratio P(n | s + b) / P(n | ŝ(n) + b), ŝ = max(n − b, 0), until their probability reaches CL;
    the interval is every s whose region holds n_obs, located to ``step`` and then bisected.

    Parameters
    ----------
    exp : Counting
    cl : float
    step : float
        Grid step of the first pass.

    Returns
    -------
    (float, float)
    """
    alpha = 1 - cl
    hi = exp.upper
    grid = np.arange(0.0, hi, step)
    inside = np.array([exp.fc_pvalue(s) > alpha for s in grid])
    if not inside.any():
        return (float("nan"), float("nan"))

    def refine(a, b):  # a outside, b inside
        for _ in range(40):
            m = 0.5 * (a + b)
            if exp.fc_pvalue(m) > alpha:
                b = m
            else:
                a = m
        return 0.5 * (a + b)

    first, last = int(np.flatnonzero(inside)[0]), int(np.flatnonzero(inside)[-1])
    lo = 0.0 if first == 0 else refine(grid[first - 1], grid[first])
    up = refine(grid[last + 1], grid[last]) if last + 1 < grid.size else float("nan")
    return (lo, up)


# --- the one entry point ---------------------------------------------------------------------
def upper_limit(model, data=None, *, poi=None, cl=0.95, methods=METHODS, toys=0, grid=GRID_POINTS, seed=0,
                workers=None, draws=1000, binned=None, log=print, progress=True) -> LimitResult:
    """Upper limits and intervals of one parameter at a physical boundary by CLs, Feldman–Cousins and Bayes.

    Parameters
    ----------
    model : bayesfit.WindowModel, bayesfit.Simultaneous or Counting
        The model; a :class:`Counting` experiment carries its own data.
    data : array_like or dict, optional
        The events (a dict by category for a simultaneous fit).
    poi : str
        The parameter of interest (a signal yield, a signal strength); its lower bound is the
        physical boundary. Not needed for a :class:`Counting` experiment.
    cl : float
        Confidence (and credibility) level, in (0, 1); 0.95 by default.
    methods : sequence of {"cls", "fc", "bayes"}
        Which answers to compute.
    toys : int
        Toys per grid point (background-only and signal + background each); 0 keeps CLs and
        Feldman–Cousins asymptotic (a counting experiment is exact either way).
    grid : int
        Intervals of the grid of μ the toys are run on (from the boundary to above the
        asymptotic limits).
    seed : int
        Seed of the toys and of NUTS.
    workers : int, optional
        Dask worker processes for the toys (the cores by default; 1 runs here).
    draws : int
        NUTS draws (and tuning steps) per chain for the Bayesian limit with nuisance parameters.
    binned : None, bool or int
        The likelihood's binning, as for :func:`bayesfit.fit`.
    log : callable or None
        Receives a line as each stage starts.
    progress : bool
        Show the toys' progress (done, rate, time left) on the terminal.

    Returns
    -------
    LimitResult

    Raises
    ------
    ValueError
        An unknown method or parameter, a level outside (0, 1), or a parameter of interest
        without a finite lower bound.
    """
    methods = tuple(methods)
    bad = set(methods) - set(METHODS)
    if bad or not methods:
        raise ValueError(f"methods must be among {', '.join(METHODS)} (got {', '.join(map(str, methods)) or 'none'})")
    if not 0 < cl < 1:
        raise ValueError(f"cl must lie in (0, 1) (got {cl})")
    if int(toys) != toys or toys < 0:
        raise ValueError(f"toys must be a non-negative integer (got {toys})")
    log = log or (lambda line: None)
    if isinstance(model, Counting):
        return _counting_limits(model, cl, methods)
    if poi is None:
        raise ValueError("give the parameter of interest: poi=NAME")
    if poi not in model.names:
        raise ValueError(f"unknown parameter {poi!r}; the model's are {', '.join(model.names)}")
    problem, _ = model.prepare(data, binned=binned)
    return upper_limit_of_problem(problem, poi, cl=cl, methods=methods, toys=toys, grid=grid, seed=seed,
                                  workers=workers, draws=draws, log=log, progress=progress)


def upper_limit_of_problem(problem, poi, *, cl=0.95, methods=METHODS, toys=0, grid=GRID_POINTS, seed=0, workers=None,
                           draws=1000, log=None, progress=False, curves=True) -> LimitResult:
    """:func:`upper_limit` of a model already bound to its data (a :class:`~bayesfit.modeling.problem.Problem`).

    Parameters
    ----------
    problem : bayesfit.modeling.problem.Problem
    poi : str
    cl, methods, toys, grid, seed, workers, draws, log, progress
        As for :func:`upper_limit`.
    curves : bool
        Also compute CLs against μ on a grid of 60 points (for the figure).

    Returns
    -------
    LimitResult
    """
    param = problem.params[problem.names.index(poi)]
    if not math.isfinite(param.lower):
        raise ValueError(f"{poi} needs a finite lower bound: its physical boundary (a yield ≥ 0)")
    return _model_limits(problem, poi, cl, tuple(methods), int(toys), int(grid), seed, workers, draws,
                         log or (lambda line: None), progress, curves)


# --- coverage ------------------------------------------------------------------------------
#: The true signals of :func:`counting_coverage` by default (0 included: where CLs over-covers most).
COVERAGE_SIGNALS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0)


@dataclass
class LimitCoverage:
    """How often each method's interval contains the true signal (see :func:`counting_coverage`)."""

    background: float
    cl: float
    signals: np.ndarray
    toys: int
    covered: dict
    exact: dict
    description: str = ""
    poi: str = "s"
    unit: str = "events"

    def fraction(self, method):
        """Return the toys' coverage of ``method`` at each true signal."""
        return np.asarray(self.covered[method]) / self.toys

    def to_dict(self) -> dict:
        """Return the study as plain data (``coverage.json``)."""
        return {"description": self.description, "background": self.background, "cl": self.cl, "signals": [float(s) for s in self.signals],
                "toys": self.toys, "covered": {k: [int(c) for c in v] for k, v in self.covered.items()},
                "clopper_pearson_68": {k: [list(clopper_pearson(int(c), self.toys)) for c in v]
                                       for k, v in self.covered.items()},
                "exact": {k: [float(x) for x in v] for k, v in self.exact.items()}}

    def table(self) -> str:
        """Return coverage per method and true signal, toys beside the exact sum."""
        names = {"cls": "CLs", "fc": "Feldman–Cousins", "bayes": "Bayesian"}
        exact = "; exact Poisson sums in brackets" if self.exact else ""
        lines = [f"Coverage at {100 * self.cl:g} % CL, {self.description} ({self.toys:,} toys per signal{exact})", "",
                 "  true s  " + "".join(f"{names[m]:>33}" for m in self.covered)]
        for j, s in enumerate(self.signals):
            cells = []
            for m in self.covered:
                lo, hi = clopper_pearson(int(self.covered[m][j]), self.toys)
                sums = f" ({self.exact[m][j]:.3f})" if self.exact else ""
                cells.append(f"{self.fraction(m)[j]:.3f} [{lo:.3f}, {hi:.3f}]{sums}")
            lines.append(f"  {s:6.2f}  " + "".join(f"{c:>33}" for c in cells))
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    def save(self, directory) -> list:
        """Write ``coverage.json``, ``coverage.txt`` and the coverage figure ``limit_coverage`` (PNG and PDF)."""
        from bayesfit.output.limit_plots import plot_limit_coverage

        return save_study(self, directory, "coverage", {"limit_coverage": plot_limit_coverage})


def counting_coverage(background, *, cl=0.95, methods=METHODS, toys=1000, signals=COVERAGE_SIGNALS,
                      seed=0) -> LimitCoverage:
    """Coverage of CLs, Feldman–Cousins and Bayesian intervals for a counting experiment.

    At each true signal s, ``toys`` counts n ~ Poisson(s + b) are drawn; each method's interval
    for each count (exact: :class:`Counting`) contains s or not. The fraction that do, with its
    Clopper–Pearson error, is set against the nominal level; the exact coverage
    Σ_n P(n | s + b) [s ∈ interval(n)] is computed beside it. CLs's upper limit and the flat-prior
    Bayesian one are the same here (:class:`Counting`) and over-cover near s = 0; Feldman–Cousins's
    intervals cover at least the nominal level by construction.

    Parameters
    ----------
    background : float
        The known background b.
    cl : float
    methods : sequence of {"cls", "fc", "bayes"}
    toys : int
        Counts drawn per true signal.
    signals : sequence of float
        The true signals.
    seed : int

    Returns
    -------
    LimitCoverage
    """
    methods = tuple(m for m in METHODS if m in methods)
    signals = np.asarray(signals, dtype=float)
    intervals = {}

    def interval(n):
        if n not in intervals:
            res = _counting_limits(Counting(n, background), cl, methods)
            intervals[n] = {m: (res.intervals["fc"] if m == "fc" else (0.0, res.limits[m])) for m in methods}
        return intervals[n]

    rng = np.random.default_rng(seed)
    covered = {m: [] for m in methods}
    exact = {m: [] for m in methods}
    for s in signals:
        counts = rng.poisson(s + background, size=int(toys))
        for m in methods:
            inside = {n: interval(int(n))[m][0] <= s <= interval(int(n))[m][1] for n in np.unique(counts)}
            covered[m].append(int(sum(inside[n] for n in counts)))
        top = int(stats.poisson.isf(1e-7, s + background)) + 1
        probs = stats.poisson.pmf(np.arange(top + 1), s + background)
        for m in methods:
            exact[m].append(float(sum(p for n, p in enumerate(probs)
                                      if interval(n)[m][0] <= s <= interval(n)[m][1])))
    return LimitCoverage(background=float(background), cl=cl, signals=signals, toys=int(toys), covered=covered,
                         exact=exact, description=f"counting experiment with background {background:g}")


def coverage_signals(reach):
    """Return the true signals of a coverage study: 0, ¼, ½, 1 and 1.5 times ``reach`` (a limit, say).

    Parameters
    ----------
    reach : float

    Returns
    -------
    tuple of float
    """
    return tuple(float(f * reach) for f in (0.0, 0.25, 0.5, 1.0, 1.5))


def limit_coverage(model, truth, n_events=None, *, poi, signals=None, cl=0.95, methods=("cls", "fc", "bayes"),
                   toys=200, seed=0, draws=500, log=print, progress=True) -> LimitCoverage:
    """Coverage of each method's interval for a model: toys at several true signals (0 included).

    Each toy is drawn from ``model`` at ``truth`` with the parameter of interest set to a true
    signal, and fitted by :func:`upper_limit` without toys of its own: CLs and Feldman–Cousins
    asymptotic, the Bayesian limit by quadrature where μ is the only free parameter, else by NUTS
    (``draws`` per chain; the model is compiled once, each toy then samples for a second or two).

    Parameters
    ----------
    model : bayesfit.WindowModel or bayesfit.Simultaneous
    truth : dict or sequence of float
        The parameters the toys are drawn at (by name, or in ``model.names`` order).
    n_events : int or dict, optional
        Events of a model with fractions (per category for a simultaneous fit); yields draw
        Poisson numbers.
    poi : str
    signals : sequence of float, optional
        The true values of ``poi``; by default 0, ¼, ½, 1 and 1.5 times ``truth``'s value.
    cl : float
    methods : sequence of {"cls", "fc", "bayes"}
    toys : int
        Toys per true signal.
    seed : int
    draws : int
    log : callable or None
    progress : bool

    Returns
    -------
    LimitCoverage
        ``exact`` is empty: a model has no closed form.
    """
    from bayesfit.studies.parallel import Progress

    log = log or (lambda line: None)
    methods = tuple(m for m in METHODS if m in methods)
    names = list(model.names)
    if poi not in names:
        raise ValueError(f"unknown parameter {poi!r}; the model's are {', '.join(names)}")
    values = np.array([truth[n] for n in names] if isinstance(truth, dict) else truth, dtype=float)
    k = names.index(poi)
    if signals is None:
        if not values[k] > 0:
            raise ValueError(f"give the true signals (signals=): {poi} is {values[k]:g} in the truth")
        signals = coverage_signals(values[k])
    signals = np.asarray(signals, dtype=float)
    first = draw_dataset(model, values, n_events, np.random.default_rng(seed))
    template, _ = model.prepare(first)
    counts = event_counts(template) if n_events is None else n_events
    covered = {m: [0] * len(signals) for m in methods}
    shown = Progress(len(signals) * int(toys), 0, progress, label="toys")
    log(f"coverage: {toys:,} toys at each of {len(signals)} true values of {poi} ...")
    for j, s in enumerate(signals):
        at = values.copy()
        at[k] = s
        for child in np.random.SeedSequence([seed, j]).spawn(int(toys)):
            rng = np.random.default_rng(child)
            problem = bind_like(template, draw_dataset(model, at, counts, rng))
            res = upper_limit_of_problem(problem, poi, cl=cl, methods=methods, draws=draws, seed=int(rng.integers(2**31)),
                                         curves=False)
            for m in methods:
                lo, hi = res.intervals["fc"] if m == "fc" else (res.lower, res.limits[m])
                covered[m][j] += int(lo <= s <= hi)
            shown.update(1)
    how = {"cls": "CLs asymptotic", "fc": "FC asymptotic",
           "bayes": "Bayesian by " + ("quadrature" if len(names) == 1 else "NUTS")}
    return LimitCoverage(background=float("nan"), cl=cl, signals=signals, toys=int(toys), covered=covered, exact={},
                         poi=poi, unit=template.params[k].unit,
                         description=f"{getattr(model, 'name', 'model')}, {poi} ("
                                     + ", ".join(how[m] for m in methods) + ")")
