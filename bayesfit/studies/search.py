"""Is there a signal in a model, and where? The discovery test for any model, and the mass scan.

- :func:`significance`: for a window model or a simultaneous fit with a parameter of interest
  μ ≥ 0 (a signal yield, a signal strength), the test statistic q₀ = −2 ln λ(0) with the
  nuisance parameters profiled (Cowan, Cranmer, Gross & Vitells, Eur. Phys. J. C 71 (2011)
  1554), its asymptotic p-value ½ P(χ²₁ ≥ q₀) = Φ(−√q₀) (Chernoff: μ on its boundary under the
  null), the p-value from background-only toys on Dask with its Clopper–Pearson error, and the
  Bayes factor B₁₀ of the same two hypotheses with a flat prior on μ over its bounds (stated:
  B₁₀ scales as the inverse of that range, Lindley's paradox made visible). Each hypothesis's
  nuisance parameters are integrated in the Laplace approximation around their profile, and
  μ by quadrature.
- :func:`mass_scan`: a narrow signal of known shape moved across a mass range (the model
  built by a function of the mass); at each mass the local q₀, p-value and Z, and the
  asymptotic CLs limit with its expected band; the global p-value with the look-elsewhere
  effect from background-only toys (the largest q₀ over the range in each) and from the
  Gross–Vitells estimate (Eur. Phys. J. C 70 (2010) 525), p_global ≈ p_local + ⟨N(c₀)⟩
  e^{−(q₀ − c₀)/2}, with ⟨N(c₀)⟩ the mean number of up-crossings of the level c₀ by q₀(m),
  counted on the toys (or, without toys, on the data's own curve).

The seed's own signal test (a Breit–Wigner on a flat background, the seed's numbers
reproduced) stays in :mod:`bayesfit.studies.discovery`; limits are in
:mod:`bayesfit.studies.limits`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, stats

from bayesfit.core.binomial import clopper_pearson, zero_count_bound
from bayesfit.output.limit_plots import plot_limit_scan, plot_local_pvalues, plot_q0_null
from bayesfit.studies.limits import (ProfileLikelihood, bind_like, draw_dataset, event_counts, save_study,
                                     upper_limit_of_problem)
from bayesfit.studies.parallel import CHUNK

__all__ = ["Significance", "MassScan", "significance", "mass_scan", "chernoff_pvalue"]

#: The level c₀ of q₀ whose up-crossings the Gross–Vitells estimate counts.
CROSSING_LEVEL = 0.5
#: Points of Simpson's rule over μ in the Bayes factor (from the boundary to where the profile
#: likelihood has fallen by e^−50).
QUADRATURE_POINTS = 121


def chernoff_pvalue(q0):
    """Return the asymptotic p-value of q₀ for μ ≥ 0 on its boundary: ½ P(χ²₁ ≥ q₀) = Φ(−√q₀).

    Parameters
    ----------
    q0 : float or array_like

    Returns
    -------
    float or numpy.ndarray
        1/2 at q₀ = 0 (the half of the null experiments with μ̂ = 0 have q₀ = 0).
    """
    return stats.norm.sf(np.sqrt(np.maximum(q0, 0.0)))


def _z(p):
    return float(stats.norm.isf(p)) if 0 < p < 1 else (math.inf if p == 0 else 0.0)


@dataclass
class Significance:
    """The discovery test of one model on its data (see :func:`significance`)."""

    poi: str
    mle: float
    q0: float
    p_asymptotic: float
    z_asymptotic: float
    toys: int = 0
    p_toys: float = None
    p_toys_cp68: tuple = None
    p_bound_95: float = None
    z_toys: float = None
    ln_b10: float = None
    prior: str = ""
    bayes_method: str = ""
    timing_s: dict = field(default_factory=dict)
    q0_toys: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Return the result as plain data."""
        out = {k: v for k, v in self.__dict__.items() if k != "q0_toys"}
        out["p_toys_cp68"] = list(self.p_toys_cp68) if self.p_toys_cp68 else None
        return out

    def table(self) -> str:
        """Return the test in a few lines of text."""
        lines = [f"Is there a signal? {self.poi}: maximum likelihood {self.mle:.4g}, q₀ = {self.q0:.3f}",
                 f"  asymptotic (½χ²₁): p = {self.p_asymptotic:.3g}, Z = {self.z_asymptotic:.2f}"]
        if self.toys:
            if self.p_bound_95 is not None:
                lines.append(f"  toys: none of {self.toys:,} reaches q₀: p < {self.p_bound_95:.2g} at 95 % CL")
            else:
                lo, hi = self.p_toys_cp68
                lines.append(f"  toys: p = {self.p_toys:.3g} (68 % CL {lo:.3g}–{hi:.3g}) from {self.toys:,}, "
                             f"Z = {self.z_toys:.2f}")
        if self.ln_b10 is not None:
            lines.append(f"  Bayes factor: ln B₁₀ = {self.ln_b10:.2f} ({self.bayes_method}); prior {self.prior}")
        elif self.bayes_method:
            lines.append(f"  Bayes factor: {self.bayes_method}")
            lines.append("  note: such a parameter also takes q₀ out of Chernoff's asymptotics (the look-elsewhere "
                         "effect): trust the toys' p-value, or scan the mass")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    def save(self, directory) -> list:
        """Write ``significance.json``, ``significance.txt`` and the toys' q₀ distribution (PNG and PDF)."""
        return save_study(self, directory, "significance", {"q0_null": plot_q0_null})


def _toy_q0_chunk(plan, chunk):
    """q₀ of each background-only toy of ``chunk`` (seeds) at each of the plan's structures."""
    problems, poi, truth = plan
    n_events = event_counts(problems[0])
    out = []
    for seed in chunk:
        rng = np.random.default_rng(seed)
        data = draw_dataset(problems[0].model, truth, n_events, rng)
        q = []
        for problem in problems:
            toy = bind_like(problem, data)
            terms = toy.constraint_terms
            if terms:
                terms.observed.update(problem.constraint_terms.observed)
                terms.observed.update(terms.draw(truth, rng))
            pl = ProfileLikelihood(toy, poi, start=truth)
            q.append(pl.t(problem.params[poi].lower)[0])
        out.append(q)
    return out


def _toy_pvalue(q_toys, q_obs):
    """Return (p, its 68 % Clopper–Pearson interval, the 95 % bound where no toy reaches q_obs, else None).

    Toys within 1e-3 of q_obs count as reaching it: MIGRAD places each q₀ to ~1e-4.
    """
    n = len(q_toys)
    hits = int(np.sum(np.asarray(q_toys) >= q_obs - 1e-3))
    return hits / n, clopper_pearson(hits, n), (zero_count_bound(n) if hits == 0 else None)


def _toys_q0(problems, poi, truth, n_toys, seed, workers, progress):
    """Background-only toys drawn from ``problems[0]`` at ``truth``; their q₀ at every problem's structure."""
    from bayesfit.studies.parallel import Progress, map_chunks

    seeds = np.random.SeedSequence(seed).spawn(n_toys)
    chunks = [seeds[k:k + CHUNK] for k in range(0, n_toys, CHUNK)]
    results, shown = [], Progress(n_toys, 0, progress)

    def keep(part):
        results.extend(part)
        shown.update(len(part))

    map_chunks(_toy_q0_chunk, ((list(problems), poi, np.asarray(truth, dtype=float)),), (), chunks, workers, None,
               keep)
    return np.array(results, dtype=float)


def _log_bayes_factor(pl, param, fval_0):
    """ln B₁₀ with a flat prior on μ over its bounds; nuisances integrated in the Laplace approximation.

    ``None`` where a nuisance parameter has no positive-definite HESSE covariance somewhere on the
    way (a signal's free mass at μ = 0, which the data cannot fix without signal).

    Z₁/Z₀ = (1/(U − L)) ∫ e^{−(ν(μ) − ν(L))} √(det C(μ) / det C(L)) dμ, with ν(μ) the profiled
    −ln L and C(μ) the covariance of the nuisance parameters at fixed μ (HESSE): the flat priors of
    the nuisances, common to both hypotheses, cancel.
    """

    def log_integrand(mu):
        fval = pl.profile(mu)[0]
        return -(fval - fval_0) + pl.log_nuisance_volume()

    lo, hi = float(param.lower), float(param.upper)
    base = log_integrand(lo)
    if not math.isfinite(base):
        return None
    mu_hat = max(float(pl.minimum()[1][pl.poi]), lo)
    peak = log_integrand(mu_hat)
    # the integrand is negligible (below e^−50 of its peak) beyond where the profile has risen by 50
    end = mu_hat + (hi - lo) * 1e-3
    while end < hi and log_integrand(end) - peak > -50:
        end = mu_hat + 2 * (end - mu_hat)
    end = min(end, hi)
    # Simpson's rule on a fixed grid: the integrand comes from MIGRAD's profile fits, smooth but
    # placed to ~1e-5 in −ln L, below which an adaptive rule's error estimate chases rounding
    grid = np.unique(np.concatenate([np.linspace(lo, end, QUADRATURE_POINTS), [mu_hat]]))
    values = np.exp(np.array([log_integrand(mu) for mu in grid]) - peak)
    if not np.all(np.isfinite(values)):
        return None
    return math.log(integrate.simpson(values, x=grid)) + peak - base - math.log(hi - lo)


def significance(model, data, *, poi, toys=0, seed=0, workers=None, bayes_factor=True, binned=None, log=print,
                 progress=True) -> Significance:
    """Test for a signal in any window model or simultaneous fit: q₀, Z, toys, Bayes factor.

    Parameters
    ----------
    model : bayesfit.WindowModel or bayesfit.Simultaneous
    data : array_like or dict
        The events (a dict by category for a simultaneous fit).
    poi : str
        The signal parameter (a yield or a strength); its lower bound is "no signal".
    toys : int
        Background-only toys for the p-value (0: asymptotic only).
    seed : int
        Seed of the toys.
    workers : int, optional
        Dask worker processes for the toys (the cores by default; 1 runs here).
    bayes_factor : bool
        Also compute ln B₁₀ (a quadrature over μ of profile fits).
    binned : None, bool or int
        As for :func:`bayesfit.fit`.
    log : callable or None
        Receives a line as each stage starts.
    progress : bool
        Show the toys' progress.

    Returns
    -------
    Significance
    """
    log = log or (lambda line: None)
    if poi not in model.names:
        raise ValueError(f"unknown parameter {poi!r}; the model's are {', '.join(model.names)}")
    problem, _ = model.prepare(data, binned=binned)
    k = problem.names.index(poi)
    param = problem.params[k]
    if not math.isfinite(param.lower):
        raise ValueError(f"{poi} needs a finite lower bound: the value of no signal")
    t0 = time.perf_counter()
    pl = ProfileLikelihood(problem, k)
    fval, values = pl.minimum()
    fval_0, theta0 = pl.profile(param.lower)
    q0 = max(2.0 * (fval_0 - fval), 0.0)
    p_asym = float(chernoff_pvalue(q0))
    res = Significance(poi=poi, mle=float(values[k]), q0=q0, p_asymptotic=p_asym, z_asymptotic=_z(p_asym))
    res.timing_s["asymptotic"] = time.perf_counter() - t0
    if toys:
        t1 = time.perf_counter()
        log(f"{toys:,} background-only toys ({poi} = {param.lower:g}, the rest at their profiled values) ...")
        q_null = _toys_q0([problem], k, theta0, int(toys), seed, workers, progress)[:, 0]
        res.toys, res.q0_toys = int(toys), q_null
        res.p_toys, res.p_toys_cp68, res.p_bound_95 = _toy_pvalue(q_null, q0)
        res.z_toys = _z(res.p_toys) if res.p_bound_95 is None else None
        res.timing_s["toys"] = time.perf_counter() - t1
    if bayes_factor:
        t2 = time.perf_counter()
        unit = f" {param.unit}" if param.unit else ""
        res.prior = f"flat in {poi} on [{param.lower:g}, {param.upper:g}]{unit} under H₁"
        res.bayes_method = ("quadrature" if len(problem.names) == 1 else
                            "quadrature in μ, nuisances by the Laplace approximation")
        res.ln_b10 = _log_bayes_factor(ProfileLikelihood(problem, k, start=values), param, fval_0)
        if res.ln_b10 is None:
            res.bayes_method = ("not computed: a nuisance parameter is not fixed by the data without signal (a "
                                "free signal mass?); fix it, as model_at(mass) or --mass does")
        res.timing_s["bayes_factor"] = time.perf_counter() - t2
    return res


@dataclass
class MassScan:
    """A signal moved across a mass range (see :func:`mass_scan`)."""

    poi: str
    masses: np.ndarray
    q0: np.ndarray
    p_local: np.ndarray
    limits: dict = field(default_factory=dict)
    cl: float = 0.95
    unit: str = ""
    mass_unit: str = "GeV"
    global_p_toys: float = None
    global_p_toys_cp68: tuple = None
    global_p_bound_95: float = None
    global_p_gross_vitells: float = None
    crossings: float = None
    crossings_from: str = ""
    toys: int = 0
    timing_s: dict = field(default_factory=dict)
    max_q0_toys: object = field(default=None, repr=False)

    @property
    def best(self) -> int:
        """Index of the mass with the smallest local p-value."""
        return int(np.argmax(self.q0))

    def to_dict(self) -> dict:
        """Return the scan as plain data."""
        clean = lambda v: [None if not np.isfinite(x) else float(x) for x in np.ravel(v)]  # noqa: E731
        return {"poi": self.poi, "unit": self.unit, "cl": self.cl, "masses": clean(self.masses), "q0": clean(self.q0),
                "p_local": clean(self.p_local), "z_local": clean(stats.norm.isf(np.clip(self.p_local, 1e-300, 0.5))),
                "limits": {k: clean(v) for k, v in self.limits.items()},
                "best_mass": float(self.masses[self.best]), "toys": self.toys,
                "global_p_toys": self.global_p_toys,
                "global_p_toys_cp68": list(self.global_p_toys_cp68) if self.global_p_toys_cp68 else None,
                "global_p_bound_95": self.global_p_bound_95,
                "global_p_gross_vitells": self.global_p_gross_vitells, "crossings": self.crossings,
                "crossings_level": CROSSING_LEVEL, "crossings_from": self.crossings_from, "timing_s": self.timing_s}

    def table(self) -> str:
        """Return the scan's summary: the most significant mass, local and global p-values."""
        b = self.best
        p = self.p_local[b]
        lines = [f"Mass scan of {self.poi}: {len(self.masses)} masses in [{self.masses[0]:g}, {self.masses[-1]:g}] "
                 f"{self.mass_unit}",
                 f"  most significant: m = {self.masses[b]:g} {self.mass_unit}, q₀ = {self.q0[b]:.2f}, local p = "
                 f"{p:.3g} (Z = {_z(p):.2f})"]
        if self.global_p_toys is not None or self.global_p_bound_95 is not None:
            if self.global_p_bound_95 is not None:
                lines.append(f"  global (toys): none of {self.toys:,} reaches it: p < {self.global_p_bound_95:.2g}")
            else:
                lo, hi = self.global_p_toys_cp68
                lines.append(f"  global (toys, {self.toys:,}): p = {self.global_p_toys:.3g} (68 % CL {lo:.3g}–{hi:.3g}),"
                             f" Z = {_z(self.global_p_toys):.2f}")
        if self.global_p_gross_vitells is not None:
            lines.append(f"  global (Gross–Vitells, ⟨N({CROSSING_LEVEL:g})⟩ = {self.crossings:.2f} up-crossings "
                         f"{self.crossings_from}): p = {self.global_p_gross_vitells:.3g}, "
                         f"Z = {_z(min(self.global_p_gross_vitells, 1.0)):.2f}")
        if "cls" in self.limits:
            unit = f" {self.unit}" if self.unit else ""
            lines.append(f"  CLs {100 * self.cl:g} % limits on {self.poi}: {np.nanmin(self.limits['cls']):.3g} to "
                         f"{np.nanmax(self.limits['cls']):.3g}{unit} over the range")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    def save(self, directory) -> list:
        """Write ``scan.json``, ``scan.txt`` and the figures (local p-values, limits; PNG and PDF)."""
        return save_study(self, directory, "scan", {"local_pvalues": plot_local_pvalues, "limit_scan": plot_limit_scan})


def _upcrossings(curve, level):
    above = np.asarray(curve) > level
    return int(np.sum(~above[:-1] & above[1:]))


def mass_scan(make_model, data, masses, *, poi, cl=0.95, toys=0, seed=0, workers=None, limits=True, binned=None,
              log=print, progress=True) -> MassScan:
    """Scan a narrow signal across masses: local p-values and limits, the global p-value with the LEE.

    Parameters
    ----------
    make_model : callable
        ``make_model(mass)`` returns the model (a window model or a simultaneous fit) with the
        signal at ``mass``; the same background and parameters at every mass.
    data : array_like or dict
        The events.
    masses : array_like
        The masses to scan, increasing.
    poi : str
        The signal parameter (lower bound: no signal).
    cl : float
        Level of the limits.
    toys : int
        Background-only toys for the global p-value (0: Gross–Vitells on the data's curve only).
    seed : int
    workers : int, optional
        Dask worker processes for the toys.
    limits : bool
        Also compute the asymptotic CLs limit and its expected band at each mass.
    binned : None, bool or int
        As for :func:`bayesfit.fit`.
    log : callable or None
    progress : bool

    Returns
    -------
    MassScan
    """
    log = log or (lambda line: None)
    masses = np.asarray(masses, dtype=float)
    if masses.ndim != 1 or masses.size < 2 or np.any(np.diff(masses) <= 0):
        raise ValueError("masses: two or more, increasing")
    t0 = time.perf_counter()
    log(f"local p-values{' and CLs limits' if limits else ''} at {masses.size} masses ...")
    problems, q0, fits = [], [], []
    bands = {key: [] for key in ("cls", "clsb", *(f"expected_{n:+d}" for n in (-2, -1, 0, 1, 2)))}
    for m in masses:
        model = make_model(float(m))
        if poi not in model.names:
            raise ValueError(f"unknown parameter {poi!r}; the model's are {', '.join(model.names)}")
        problem, _ = model.prepare(data, binned=binned)
        k = problem.names.index(poi)
        pl = ProfileLikelihood(problem, k)
        lower = problem.params[k].lower
        fval_0, theta0 = pl.profile(lower)
        q0.append(max(2.0 * (fval_0 - pl.minimum()[0]), 0.0))
        problems.append(problem)
        fits.append(theta0)
        if limits:
            res = upper_limit_of_problem(problem, poi, cl=cl, methods=("cls",), curves=False)
            bands["cls"].append(res.limits["cls"])
            bands["clsb"].append(res.limits["clsb"])
            for n in (-2, -1, 0, 1, 2):
                bands[f"expected_{n:+d}"].append(res.expected[n])
    q0 = np.array(q0)
    param = problems[0].params[problems[0].names.index(poi)]
    scan = MassScan(poi=poi, masses=masses, q0=q0, p_local=chernoff_pvalue(q0), cl=cl, unit=param.unit,
                    limits={k: np.array(v) for k, v in bands.items()} if limits else {})
    scan.timing_s["local"] = time.perf_counter() - t0
    q_max = float(q0.max())
    if toys:
        t1 = time.perf_counter()
        log(f"{toys:,} background-only toys, q₀ at every mass in each (the look-elsewhere effect) ...")
        k = problems[0].names.index(poi)
        q_toys = _toys_q0(problems, k, fits[0], int(toys), seed, workers, progress)
        maxima = q_toys.max(axis=1)
        scan.toys, scan.max_q0_toys = int(toys), maxima
        scan.global_p_toys, scan.global_p_toys_cp68, scan.global_p_bound_95 = _toy_pvalue(maxima, q_max)
        scan.crossings = float(np.mean([_upcrossings(row, CROSSING_LEVEL) for row in q_toys]))
        scan.crossings_from = f"(mean of {toys:,} toys)"
        scan.timing_s["toys"] = time.perf_counter() - t1
    else:
        scan.crossings = float(_upcrossings(q0, CROSSING_LEVEL))
        scan.crossings_from = "(the data's own curve)"
    p_local = float(chernoff_pvalue(q_max))
    scan.global_p_gross_vitells = p_local + scan.crossings * math.exp(-(q_max - CROSSING_LEVEL) / 2)
    return scan
