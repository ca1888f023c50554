"""Toy studies: pulls, coverage and failures of the fits, on many simulated datasets.

A physicist trusts an error bar once toys have shown that it covers. :func:`toys` draws
datasets from a model at chosen parameter values (the truth), fits each one and summarises,
per parameter:

- the **pull** (MLE − truth) / HESSE σ: its mean and width with their errors (a mean away from
  0 is a bias, a width away from 1 a wrong error);
- the **coverage** of the ±1σ HESSE, MINOS and Laplace intervals and of the 68.27 % HDI: the
  share of toys whose interval holds the truth, with its Clopper–Pearson error, against the
  nominal 68.27 %;
- MAP − MLE in HESSE σ (the check between the two independent likelihood codes);
- the toys whose fit failed or was flagged (invalid minimum, parameter at a bound, MINOS cut off
  by a bound), with their reasons. A failing toy is recorded; it never stops the study.

Which fits: ``"mle"`` (iminuit MIGRAD and HESSE, and MINOS unless ``minos=False``) always;
``"map"`` adds MAP + Laplace, ``"nuts"`` also NUTS (both compile once per process and
structure, :mod:`bayesfit.compiled`).

Where they run: with ``workers=1`` in this process; otherwise on Dask, by default on an
embedded local cluster with one single-threaded worker process per core (no set-up), or on
an existing cluster through ``client``. Each toy has its own seed, spawned from the study's
seed with :class:`numpy.random.SeedSequence`, so the results are the same for any number of
workers. Each worker compiles the model once and fits many toys. A study with a
``checkpoint`` file appends every finished toy to it; run again with the same file, it fits
only the toys still missing.

When to use what: :func:`toys` for a study at a point you choose; ``bf.fit(...,
check_coverage=N)`` (``--check-coverage N``) for toys at the fitted point, turned into advice
by :func:`coverage_advice`; :mod:`bayesfit.sbc` to calibrate the Bayesian fit over its prior.
The command line is ``python -m bayesfit toys MODEL``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

__all__ = ["toys", "ToyStudy", "clopper_pearson", "zero_count_bound", "coverage_advice", "NOMINAL"]

#: The probability content of ±1σ of a Gaussian: the nominal coverage of every interval here.
NOMINAL = 0.682689492137086

#: Toys fitted at a time: in this process while a Dask cluster starts, and the least sent to a
#: worker at a time (amortises the scheduling, keeps the progress and the checkpoint fine).
CHUNK = 10
#: Seconds a Dask task should take: chunks grow to it from the speed of the toys fitted here.
TASK_SECONDS = 2.0

#: The intervals whose coverage is measured, and the fit that gives each.
INTERVALS = {"hesse": "mle", "minos": "mle", "laplace": "map", "hdi_68": "nuts"}


def clopper_pearson(k, n, cl=NOMINAL):
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
    """
    return 1 - (1 - cl) ** (1 / trials)


def _fit_toy(model, truth, n_events, poisson, seed, fits, minos, nuts):
    """Simulate and fit one toy; return its record (never raises)."""
    from .engine import run_fits
    from .mle import fit_problem

    record = {"seed": seed.spawn_key[-1] if seed.spawn_key else 0, "ok": False, "flags": []}
    try:
        rng = np.random.default_rng(seed)
        data = model.simulate(truth, n_events, rng=rng, poisson=poisson)
        record["n_events"] = int(np.size(data))
        problem, _ = model.prepare(data, binned=False)
        if fits == ("mle",):
            mle = fit_problem(problem, minos=minos)
            fit = None
        else:
            fit = run_fits(problem, sample="nuts" in fits, log=lambda line: None, progressbar=False,
                           ppc=False, minos=minos, seed=int(rng.integers(2**31)), **nuts)
            mle = fit.mle
        record["mle"] = [float(v) for v in mle.values]
        record["hesse"] = [float(e) for e in mle.errors]
        record["minos"] = [[float(v) for v in mle.minos[n]] for n in problem.names] if minos else None
        record["minos_valid"] = [bool(mle.minos_valid.get(n, False)) for n in problem.names] if minos else None
        record["at_limit"] = list(mle.at_limit)
        record["valid"] = bool(mle.valid)
        if not mle.valid:
            record["flags"].append("MIGRAD: invalid minimum")
        for name in mle.at_limit:
            record["flags"].append(f"{name} at a bound")
        if minos:
            for name, side in mle.minos_at_limit.items():
                record["flags"].append(f"MINOS of {name} cut by " + ("both bounds" if side == "both" else
                                                                      f"the {side} bound"))
        if fit is not None:
            record["map"] = [float(v) for v in fit.map.values]
            record["laplace"] = [float(e) for e in np.sqrt(np.diag(fit.map.covariance))]
            if fit.idata is not None:
                record["hdi_68"] = [list(fit.comparison[n]["posterior"]["hdi_68"]) for n in problem.names]
                if not fit.diagnostics.get("ok", True):
                    record["flags"].extend(w for w in fit.diagnostics["warnings"] if "NUTS" in w or "ESS" in w
                                           or "r̂" in w)
        record["ok"] = bool(mle.valid)
    except Exception as exc:  # a failing toy is recorded, never stops the study
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["flags"].append("failed: " + record["error"])
    return record


def _pin_worker_threads():
    """In a Dask worker process, keep numba's kernels to one thread: there is a worker per core.

    Never in the user's own process (``workers=1``), whose later fits of large samples use
    every core.
    """
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):  # not in a worker
        return
    import numba

    numba.set_num_threads(1)


def _fit_chunk(model, truth, n_events, poisson, seeds, fits, minos, nuts):
    """Fit toys one after the other in this process (a Dask task, or the local loop)."""
    _pin_worker_threads()
    return [(int(s.spawn_key[-1]), _fit_toy(model, truth, n_events, poisson, s, fits, minos, nuts))
            for s in seeds]


def _measured_intervals(summary) -> list:
    """Return the intervals whose coverage a study's summary holds, in :data:`INTERVALS` order."""
    return [k for k in INTERVALS if any(k in p.get("coverage", {}) for p in summary["parameters"].values())]


@dataclass
class ToyStudy:
    """The toys of one study and their summary (:func:`toys` returns it).

    Attributes
    ----------
    model : str
        The model's name.
    names : list of str
        Parameters, in order.
    truth : numpy.ndarray
        The values the toys were drawn at.
    n_events : int
        Events per toy (the mean, with ``poisson``).
    poisson : bool
        Whether the event count fluctuates.
    seed : int
        The study's seed; toy *i* uses ``SeedSequence(seed).spawn(n_toys)[i]``.
    fits : tuple of str
        ``"mle"``, and ``"map"`` / ``"nuts"`` if asked for.
    records : list of dict
        One per toy, in toy order: fitted values, errors, intervals, flags.
    timing_s : dict
        ``{"wall", "cluster_start", "toys_fitted", "toys_per_s", "toys_per_s_after_start"}`` of
        this run (resumed toys are not counted; ``cluster_start`` is the time until the Dask
        cluster, embedded or given, had the model, 0 without one: this process fits toys
        meanwhile, so the rate after the start is an upper bound).
    """

    model: str
    names: list
    truth: np.ndarray
    n_events: int
    poisson: bool
    seed: int
    fits: tuple
    records: list = field(default_factory=list)
    timing_s: dict = field(default_factory=dict)
    workers: int = 1

    # --- summary -----------------------------------------------------------------------------
    def _column(self, key, k, keep):
        return np.array([r[key][k] for r in keep], dtype=float)

    def summary(self) -> dict:
        """Return the per-parameter pulls, coverages and MAP − MLE, and the failures.

        Returns
        -------
        dict
            ``{"toys", "failed", "flagged", "reasons", "parameters": {name: {...}}}``. Pulls and
            coverages use the toys whose MIGRAD minimum is valid; MINOS coverage the toys
            where MINOS gave an interval for that parameter (one cut off by a bound ends there). Each coverage is ``{"k", "n",
            "share", "cp_68"}`` (Clopper–Pearson interval at 68.27 %).
        """
        good = [r for r in self.records if r.get("ok")]
        reasons = {}
        for r in self.records:
            for f in r["flags"]:
                key = f.split(":")[0] if f.startswith("failed") else f
                reasons[key] = reasons.get(key, 0) + 1
        out = {"toys": len(self.records), "failed": sum(1 for r in self.records if not r.get("ok")),
               "flagged": sum(1 for r in self.records if r["flags"]), "reasons": reasons, "parameters": {}}
        for k, name in enumerate(self.names):
            t = float(self.truth[k])
            p = {}
            if good:
                v, e = self._column("mle", k, good), self._column("hesse", k, good)
                use = e > 0
                pull = (v[use] - t) / e[use]
                n = pull.size
                if n > 1:
                    sd = float(np.std(pull, ddof=1))
                    p["pull_mean"], p["pull_mean_error"] = float(np.mean(pull)), sd / math.sqrt(n)
                    p["pull_width"], p["pull_width_error"] = sd, sd / math.sqrt(2 * (n - 1))
                p["at_limit"] = sum(1 for r in self.records if name in r.get("at_limit", []))
                cover = {"hesse": np.abs(v - t) <= e}
                if good[0].get("minos") is not None:
                    # an interval cut off by a bound still ends there: it counts; a failed one does not
                    lo = np.array([r["minos"][k][0] for r in good]) + v
                    hi = np.array([r["minos"][k][1] for r in good]) + v
                    ok = np.isfinite(lo) & np.isfinite(hi)
                    cover["minos"] = ((lo <= t) & (t <= hi))[ok]
                if "map" in good[0]:
                    m, s = self._column("map", k, good), self._column("laplace", k, good)
                    cover["laplace"] = np.abs(m - t) <= s
                    d = (m - v) / e
                    p["map_minus_mle_in_hesse"] = {"mean": float(np.mean(d)), "max_abs": float(np.max(np.abs(d)))}
                if "hdi_68" in good[0]:
                    h = np.array([r["hdi_68"][k] for r in good], dtype=float)
                    cover["hdi_68"] = (h[:, 0] <= t) & (t <= h[:, 1])
                p["coverage"] = {}
                for key, hit in cover.items():
                    kk, nn = int(np.sum(hit)), int(np.size(hit))
                    p["coverage"][key] = {"k": kk, "n": nn, "share": kk / nn if nn else float("nan"),
                                          "cp_68": list(clopper_pearson(kk, nn))}
            out["parameters"][name] = p
        return out

    def to_dict(self) -> dict:
        """Return the study as JSON-safe data: settings, summary and every toy (``toys.json``)."""
        from .engine import _clean

        return _clean({"model": self.model, "parameter_order": list(self.names),
                       "truth": dict(zip(self.names, map(float, self.truth))), "n_events": self.n_events,
                       "poisson": self.poisson, "seed": self.seed, "fits": list(self.fits),
                       "nominal_coverage": NOMINAL, "workers": self.workers, "timing_s": self.timing_s,
                       "summary": self.summary(), "records": self.records})

    def table(self) -> str:
        """Return the summary as a terminal table: pulls and coverages with their errors."""
        s = self.summary()
        good = [r for r in self.records if r.get("ok")]
        kinds = _measured_intervals(s)
        head = ["param", "truth", "pull mean", "pull width", *[f"cover {k}" for k in kinds], "at bound"]
        rows = []
        for k, name in enumerate(self.names):
            p = s["parameters"][name]
            row = [name, f"{self.truth[k]:.6g}"]
            row.append(f"{p['pull_mean']:+.3f} ± {p['pull_mean_error']:.3f}" if "pull_mean" in p else "—")
            row.append(f"{p['pull_width']:.3f} ± {p['pull_width_error']:.3f}" if "pull_width" in p else "—")
            for kind in kinds:
                c = p.get("coverage", {}).get(kind)
                if c and c["n"]:
                    lo, hi = c["cp_68"]
                    fewer = f" (of {c['n']})" if c["n"] < len(good) else ""
                    row.append(f"{100 * c['share']:.1f} +{100 * (hi - c['share']):.1f} "
                               f"−{100 * (c['share'] - lo):.1f} %{fewer}")
                else:
                    row.append("—")
            row.append(str(p.get("at_limit", 0)))
            rows.append(row)
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        fmt = lambda r: "  ".join(str(x).rjust(w) for x, w in zip(r, widths))
        lines = [fmt(head), "-" * len(fmt(head)), *map(fmt, rows), "",
                 f"{s['toys']:,} toys of {self.n_events:,} events{' (Poisson)' if self.poisson else ''}; "
                 f"nominal coverage {100 * NOMINAL:.2f} %; {s['failed']} failed, {s['flagged']} flagged"]
        for reason, count in sorted(s["reasons"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  {count:6d} × {reason}")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    # --- plots and files ---------------------------------------------------------------------
    def plot_pulls(self):
        """Return a figure: each parameter's pull histogram with the unit Gaussian over it."""
        import matplotlib.pyplot as plt

        s = self.summary()
        good = [r for r in self.records if r.get("ok")]
        k = len(self.names)
        ncol = min(k, 3)
        nrow = -(-k // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow + 0.4), squeeze=False)
        x = np.linspace(-4.5, 4.5, 300)
        for i, name in enumerate(self.names):
            ax = axes.flat[i]
            v, e = self._column("mle", i, good), self._column("hesse", i, good)
            pull = ((v - self.truth[i]) / e)[e > 0]
            edges = np.linspace(-4.5, 4.5, 37)
            inside = pull[(pull >= edges[0]) & (pull <= edges[-1])]
            ax.hist(inside, bins=edges, color="C0", alpha=0.6, label=f"{pull.size:,} toys")
            width = edges[1] - edges[0]
            ax.plot(x, pull.size * width * stats.norm.pdf(x), "k-", lw=1.4, label="unit Gaussian")
            p = s["parameters"][name]
            if "pull_mean" in p:
                ax.plot(x, pull.size * width * stats.norm.pdf(x, p["pull_mean"], p["pull_width"]), "C3--", lw=1.2,
                        label="Gaussian of the pulls' mean, width")
                ax.set_title(f"{name}: mean {p['pull_mean']:+.2f} ± {p['pull_mean_error']:.2f}, "
                             f"width {p['pull_width']:.2f} ± {p['pull_width_error']:.2f}".replace("-", "−"),
                             fontsize=9)
            outside = pull.size - inside.size
            if outside:
                ax.text(0.02, 0.95, f"{outside} beyond ±4.5", transform=ax.transAxes, fontsize=7, va="top")
            ax.set_xlabel(f"pull of {name}: (MLE − truth) / HESSE σ")
            ax.set_ylabel("toys")
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
        fig.suptitle(f"Pulls of {self.model}: {s['toys']:,} toys of {self.n_events:,} events")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        return fig

    def plot_coverage(self):
        """Return a figure: each interval's coverage per parameter, Clopper–Pearson error bars."""
        import matplotlib.pyplot as plt

        s = self.summary()
        kinds = _measured_intervals(s)
        label = {"hesse": "HESSE ±1σ", "minos": "MINOS", "laplace": "Laplace ±1σ", "hdi_68": "68.27 % HDI (NUTS)"}
        fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(self.names) + 2), 4.2))
        xs = np.arange(len(self.names))
        for j, kind in enumerate(kinds):
            shift = (j - (len(kinds) - 1) / 2) * 0.15
            share, lo, hi = [], [], []
            for name in self.names:
                c = s["parameters"][name].get("coverage", {}).get(kind)
                if c and c["n"]:
                    share.append(100 * c["share"])
                    lo.append(100 * (c["share"] - c["cp_68"][0]))
                    hi.append(100 * (c["cp_68"][1] - c["share"]))
                else:
                    share.append(np.nan)
                    lo.append(0)
                    hi.append(0)
            ax.errorbar(xs + shift, share, yerr=[lo, hi], fmt="o", ms=5, capsize=3, label=label[kind])
        ax.axhline(100 * NOMINAL, color="k", lw=1, ls="--", label="nominal 68.27 %")
        ax.set_xticks(xs, self.names)
        ax.set_ylabel("coverage [%]")
        ax.set_xlim(-0.6, len(self.names) - 0.4)
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
        ax.set_title(f"Coverage of the intervals: {s['toys']:,} toys of {self.model}, {self.n_events:,} events "
                     "(error bars: Clopper–Pearson 68 %)", fontsize=9)
        fig.tight_layout()
        return fig

    def save(self, directory) -> list:
        """Write ``toys.json``, ``toys.md`` and the pull and coverage plots (PNG, PDF) into ``directory``.

        Returns
        -------
        list of pathlib.Path
        """
        from .plots import save_figure

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "toys.json").write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")
        (out / "toys.md").write_text(f"# Toy study of {self.model}\n\n```\n{self.table()}\n```\n")
        files = [out / "toys.json", out / "toys.md"]
        if any(r.get("ok") for r in self.records):
            files += save_figure(self.plot_pulls(), out, "pulls")
            files += save_figure(self.plot_coverage(), out, "coverage")
        return files


#: How far from the nominal 68.27 % a coverage may lie and still be trusted.
COVERAGE_TOLERANCE = 0.05

#: Confidence level of the Clopper–Pearson interval behind a verdict: with about twenty
#: verdicts per check, 99 % keeps false alarms rare (0.5 % each, one-sided).
VERDICT_CL = 0.99

_LABELS = {"hesse": "HESSE ±1σ", "minos": "MINOS", "laplace": "Laplace ±1σ", "hdi_68": "68.27 % HDI"}


def coverage_advice(study, tolerance=COVERAGE_TOLERANCE) -> dict:
    """Turn a toy study at the fitted point into advice: which intervals can be trusted.

    Per parameter and interval, the verdict is ``"trusted"`` when the 99 % Clopper–Pearson
    interval (:data:`VERDICT_CL`) of the coverage lies within ``tolerance`` of 68.27 %,
    ``"undercovers"`` (too narrow) or
    ``"overcovers"`` (too wide) when it lies wholly below or above that band, and
    ``"undetermined"`` when the toys are too few to tell. Undercoverage, a pull bias beyond
    0.1 σ (and three of its errors), and a parameter at a bound in more than 5 % of the toys
    become warnings.

    Parameters
    ----------
    study : ToyStudy
    tolerance : float

    Returns
    -------
    dict
        ``{"toys", "n_events", "nominal", "tolerance", "parameters": {name: {interval:
        {"coverage", "cp_68", "toys", "verdict"}, "pull_mean", ...}}, "warnings": [...]}``.
    """
    s = study.summary()
    out = {"toys": s["toys"], "n_events": study.n_events, "nominal": NOMINAL, "tolerance": tolerance,
           "failed": s["failed"], "parameters": {}, "warnings": []}
    for name, p in s["parameters"].items():
        entry = {k: p[k] for k in ("pull_mean", "pull_mean_error", "pull_width", "pull_width_error", "at_limit")
                 if k in p}
        for kind, c in p.get("coverage", {}).items():
            if not c["n"]:
                continue
            lo, hi = clopper_pearson(c["k"], c["n"], VERDICT_CL)
            if hi < NOMINAL - tolerance:
                verdict = "undercovers"
            elif lo > NOMINAL + tolerance:
                verdict = "overcovers"
            elif lo >= NOMINAL - tolerance and hi <= NOMINAL + tolerance:
                verdict = "trusted"
            else:
                verdict = "undetermined"
            entry[kind] = {"coverage": c["share"], "cp_68": c["cp_68"], "cp_99": [lo, hi], "toys": c["n"],
                           "verdict": verdict}
            if verdict == "undercovers":
                out["warnings"].append(
                    f"{_LABELS[kind]} interval of {name} covers {100 * c['share']:.1f} % of {c['n']:,} toys of "
                    f"{study.n_events:,} events (nominal 68.3 %): too narrow at this sample size")
        if "pull_mean" in p and abs(p["pull_mean"]) > max(0.1, 3 * p["pull_mean_error"]):
            out["warnings"].append(f"the MLE of {name} is biased by {p['pull_mean']:+.2f} ± {p['pull_mean_error']:.2f} "
                                   f"of its HESSE error in toys at this sample size")
        if s["toys"] and p.get("at_limit", 0) > 0.05 * s["toys"]:
            out["warnings"].append(f"{name} ends at a bound in {p['at_limit']:,} of {s['toys']:,} toys: its errors "
                                   "and intervals are unreliable at this sample size")
        out["parameters"][name] = entry
    return out


def _header(model, truth, n_events, poisson, seed, fits, minos, n_toys):
    return {"study": "bayesfit toys", "model": model.name, "truth": [float(t) for t in truth],
            "n_events": n_events, "poisson": poisson, "seed": seed, "fits": list(fits), "minos": minos,
            "n_toys": n_toys}


def _read_checkpoint(path, header):
    """Return the finished toys of a checkpoint file, ``{index: record}``; check it is this study's."""
    lines = Path(path).read_text().splitlines()
    if not lines:
        return {}
    first = json.loads(lines[0])
    mismatch = [k for k in header if k != "n_toys" and first.get(k) != header[k]]
    if mismatch:
        raise ValueError(f"{path}: a checkpoint of another study (its {', '.join(mismatch)} differ); "
                         "use another file or delete it")
    done = {}
    for line in lines[1:]:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by the interruption
            continue
        done[int(item["index"])] = item["record"]
    return done


class _Progress:
    """One line on stderr: toys done, rate, time left (rewritten in place on a terminal)."""

    def __init__(self, total, done, enabled):
        self.total, self.start_done, self.done = total, done, done
        self.enabled = enabled
        self.t0 = self.last = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, n):
        self.done += n
        now = time.perf_counter()
        if not self.enabled or (now - self.last < (0.2 if self.tty else 10) and self.done < self.total):
            return
        self.last = now
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        line = f"toys: {self.done:,}/{self.total:,}  {rate:.1f} toys/s  ~{left:.0f} s left"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        if self.tty and self.done >= self.total:
            print(file=sys.stderr)


def toys(model, n_toys, n_events, *, truth=None, poisson=False, seed=0, fits=("mle",), minos=True,
         nuts=None, workers=None, client=None, checkpoint=None, progress=True) -> ToyStudy:
    """Run a toy study: simulate ``n_toys`` datasets from ``model`` at ``truth`` and fit each.

    Parameters
    ----------
    model : bayesfit.WindowModel
        The declared model (each component draws its own events).
    n_toys : int
        Number of toys.
    n_events : int
        Events per toy (the Poisson mean with ``poisson=True``).
    truth : sequence of float or dict, optional
        Parameter values to draw at; the model's start values by default.
    poisson : bool
        Fluctuate the number of events of each toy.
    seed : int
        The study's seed; toy *i* draws with ``SeedSequence(seed).spawn(n_toys)[i]``.
    fits : sequence of {"mle", "map", "nuts"}
        The fits to run on each toy; the MLE always.
    minos : bool
        Run MINOS (about ten times the cost of MIGRAD + HESSE).
    nuts : dict, optional
        NUTS settings for ``"nuts"`` (``draws``, ``tune``, ``chains``); short by default.
    workers : int, optional
        Worker processes of the embedded Dask cluster; 1 runs here without Dask; the number
        of cores by default. Ignored with ``client``.
    client : distributed.Client, optional
        An existing Dask cluster to run on.
    checkpoint : str or path-like, optional
        File to append each finished toy to; an existing one of the same study is resumed.
    progress : bool
        Show toys done and the rate on stderr.

    Returns
    -------
    ToyStudy
    """
    if not hasattr(model, "simulate"):
        raise TypeError(f"toys need a model that simulates its data (a WindowModel), got {type(model).__name__}")
    names = list(model.names)
    if truth is None:
        truth = [p.start for p in model.params]
    elif isinstance(truth, dict):
        unknown = set(truth) - set(names)
        if unknown:
            raise ValueError(f"truth names unknown parameter(s) {', '.join(sorted(unknown))}; the parameters are "
                             f"{', '.join(names)}")
        truth = [truth.get(p.name, p.start) for p in model.params]
    truth = np.asarray(truth, dtype=float)
    if truth.shape != (len(names),):
        raise ValueError(f"truth needs {len(names)} values ({', '.join(names)}), got {truth.size}")
    for p, t in zip(model.params, truth):
        if not (p.lower <= t <= p.upper):
            raise ValueError(f"truth {p.name} = {t:g} is outside its bounds [{p.lower:g}, {p.upper:g}]")
    n_toys, n_events = int(n_toys), int(n_events)
    if n_toys < 1 or n_events < 1:
        raise ValueError("need at least one toy of at least one event")
    fits = tuple(dict.fromkeys(["mle", *fits]))
    bad = set(fits) - {"mle", "map", "nuts"}
    if bad:
        raise ValueError(f"unknown fit(s) {', '.join(sorted(bad))}; choose from mle, map, nuts")
    if "nuts" in fits and "map" not in fits:
        fits = ("mle", "map", "nuts")
    nuts = {"draws": 500, "tune": 500, "chains": 2, **(nuts or {})}
    seeds = np.random.SeedSequence(seed).spawn(n_toys)
    header = _header(model, truth, n_events, poisson, seed, fits, minos, n_toys)
    done = {}
    if checkpoint is not None and Path(checkpoint).exists():
        done = _read_checkpoint(checkpoint, header)
    todo = [s for i, s in enumerate(seeds) if i not in done]
    sink = None
    if checkpoint is not None:
        fresh = not Path(checkpoint).exists() or Path(checkpoint).stat().st_size == 0
        sink = open(checkpoint, "a")
        if fresh:
            sink.write(json.dumps(header) + "\n")
            sink.flush()

    def keep(results):
        for index, record in results:
            done[index] = record
            if sink is not None:
                sink.write(json.dumps({"index": index, "record": record}) + "\n")
        if sink is not None:
            sink.flush()
        bar.update(len(results))

    bar = _Progress(n_toys, len(done), progress)
    args = (model, truth, n_events, poisson)
    t0 = time.perf_counter()
    n_workers = 1
    try:
        chunks = [todo[k:k + CHUNK] for k in range(0, len(todo), CHUNK)]
        n_workers, start = _map_chunks(_fit_chunk, args, (fits, minos, nuts), chunks, workers, client, keep)
    finally:
        if sink is not None:
            sink.close()
    wall = time.perf_counter() - t0
    records = [done[i] for i in range(n_toys)]
    ran = len(todo)
    fitting = wall - start
    return ToyStudy(model.name, names, truth, n_events, poisson, seed, fits, records,
                    {"wall": wall, "cluster_start": start, "toys_fitted": ran,
                     "toys_per_s": ran / wall if wall > 0 else None,
                     "toys_per_s_after_start": ran / fitting if fitting > 0 else None}, n_workers)


def _local_cluster(LocalCluster, n):
    """Start a local Dask cluster of ``n`` single-threaded worker processes.

    The workers are forked from a server process that has imported bayesfit's models (and
    with them PyMC) once, instead of each importing them anew after a spawn (seconds per
    worker); the server lives as long as this process, so a second study starts at once.
    """
    import contextlib
    import multiprocessing

    import dask

    how = contextlib.nullcontext()
    if "forkserver" in multiprocessing.get_all_start_methods():  # not on Windows: spawn there
        multiprocessing.set_forkserver_preload(["bayesfit.toys", "bayesfit.models"])
        how = dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    with how:
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=50)


def _map_chunks(fn, head, tail, chunks, workers, client, keep):
    """Call ``fn(*head, chunk, *tail)`` for every chunk, here or on Dask; hand results to ``keep``.

    In this process when ``workers == 1`` (or there is a single chunk and no ``client``);
    otherwise on ``client``, or on an embedded local cluster of ``workers`` single-threaded
    processes (one per core by default). ``head[0]`` (the model) is sent to each worker once.
    Getting there takes seconds (the cluster starts; each worker imports PyMC to unpickle the
    model), so meanwhile this process fits chunks itself (a study shorter than that is done
    here, and only waits for the cluster to come up and close). Returns the number of workers
    used and the seconds until the cluster had the model.
    """
    if client is None and (workers == 1 or len(chunks) <= 1):
        for chunk in chunks:
            keep(fn(*head, chunk, *tail))
        return 1, 0.0
    from concurrent.futures import ThreadPoolExecutor

    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ImportError("parallel toys need dask.distributed (pip install 'distributed')") from exc
    made = {}  # the embedded cluster and its client, for the clean-up whatever happens

    def connect():
        t0 = time.perf_counter()
        c = client
        if c is None:
            n = workers or os.cpu_count() or 1
            made["cluster"] = _local_cluster(LocalCluster, n)
            c = made["client"] = Client(made["cluster"])
        return c, c.scatter(head[0], broadcast=True), time.perf_counter() - t0

    queue, local, t0 = list(chunks), 0, time.perf_counter()
    try:
        with ThreadPoolExecutor(1) as pool:
            ready = pool.submit(connect)
            while queue and not ready.done():
                chunk = queue.pop(0)
                keep(fn(*head, chunk, *tail))
                local += len(chunk)
            c, model_future, start = ready.result()
        n_workers = len(c.scheduler_info()["workers"])
        if local and queue:  # tasks of about TASK_SECONDS each, four or more per worker
            rest = [seed for chunk in queue for seed in chunk]
            per_toy = (time.perf_counter() - t0) / local
            size = int(min(max(len(queue[0]), TASK_SECONDS / per_toy), max(1, len(rest) // (4 * n_workers))))
            queue = [rest[k:k + size] for k in range(0, len(rest), size)]
        futures = [c.submit(fn, model_future, *head[1:], chunk, *tail, pure=False) for chunk in queue]
        for fut in as_completed(futures):
            keep(fut.result())
        return n_workers, start
    finally:
        if "client" in made:
            made["client"].close()
        if "cluster" in made:
            made["cluster"].close()
