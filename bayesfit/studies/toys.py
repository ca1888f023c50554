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
structure, :mod:`bayesfit.backend.compiled`).

Where they run: with ``workers=1`` in this process; otherwise on Dask, by default on an
embedded local cluster with one single-threaded worker process per core (no set-up), or on
an existing cluster through ``client``. Each toy has its own seed, spawned from the study's
seed with :class:`numpy.random.SeedSequence`, so the results are the same for any number of
workers. Each worker compiles the model once and fits many toys. A study with a
``checkpoint`` file appends every finished toy to it; run again with the same file, it fits
only the toys still missing.

When to use what: :func:`toys` for a study at a point you choose; ``bf.fit(...,
check_coverage=N)`` (``--check-coverage N``) for toys at the fitted point, turned into advice
by :func:`bayesfit.studies.coverage.coverage_advice`; :mod:`bayesfit.studies.sbc` to calibrate the Bayesian fit over its prior.
The command line is ``python -m bayesfit toys MODEL``.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayesfit.core import interrupts
from bayesfit.core.binomial import clopper_pearson
from bayesfit.core.constants import ONE_SIGMA
from bayesfit.core.jsonable import to_jsonable
from bayesfit.output import folder, study_plots
from bayesfit.output.figures import save_figure
from bayesfit.studies import checkpoint as checkpoints
from bayesfit.studies.parallel import CHUNK, Progress, map_chunks, pin_worker_threads

__all__ = ["toys", "ToyStudy", "resolve_truth"]


def _fit_toy(model, truth, n_events, poisson, redraw, seed, fits, minos, nuts):
    """Simulate and fit one toy; return its record (never raises)."""
    from bayesfit.engine.fits import run_fits
    from bayesfit.engine.mle import fit_problem

    record = {"seed": seed.spawn_key[-1] if seed.spawn_key else 0, "ok": False, "flags": []}
    try:
        rng = np.random.default_rng(seed)
        data = model.simulate(truth, n_events, rng=rng, poisson=poisson)
        record["n_events"] = int(np.size(data))
        problem, _ = model.prepare(data, binned=False)
        terms = problem.constraint_terms
        if terms and redraw:  # the global observables: each toy's calibration fluctuates too
            terms.observed.update(terms.draw(truth, rng))
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
        stop = interrupts.interruption(exc)
        if stop is not None:  # Ctrl-C or SIGTERM inside a compiled callback: the study stops
            raise stop from None
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["flags"].append("failed: " + record["error"])
    return record


def _fit_chunk(model, truth, n_events, poisson, redraw, seeds, fits, minos, nuts):
    """Fit toys one after the other in this process (a Dask task, or the local loop)."""
    pin_worker_threads()
    return [(int(s.spawn_key[-1]), _fit_toy(model, truth, n_events, poisson, redraw, s, fits, minos, nuts))
            for s in seeds]


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
        return to_jsonable({"model": self.model, "parameter_order": list(self.names),
                       "truth": dict(zip(self.names, map(float, self.truth))), "n_events": self.n_events,
                       "poisson": self.poisson, "seed": self.seed, "fits": list(self.fits),
                       "nominal_coverage": ONE_SIGMA, "workers": self.workers, "timing_s": self.timing_s,
                       "summary": self.summary(), "records": self.records})

    def table(self) -> str:
        """Return the summary as a terminal table: pulls and coverages with their errors."""
        s = self.summary()
        good = [r for r in self.records if r.get("ok")]
        kinds = study_plots.measured_intervals(s)
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
                 f"nominal coverage {100 * ONE_SIGMA:.2f} %; {s['failed']} failed, {s['flagged']} flagged"]
        for reason, count in sorted(s["reasons"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  {count:6d} × {reason}")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    # --- plots and files ---------------------------------------------------------------------
    def plot_pulls(self):
        """Return a figure: each parameter's pull histogram with the unit Gaussian over it.

        Returns
        -------
        matplotlib.figure.Figure
        """
        return study_plots.plot_pulls(self)

    def plot_coverage(self):
        """Return a figure: each interval's coverage per parameter, Clopper–Pearson error bars.

        Returns
        -------
        matplotlib.figure.Figure
        """
        return study_plots.plot_coverage(self)

    def save(self, directory, *, include=()) -> list:
        """Write ``toys.json``, ``toys.md`` and the pull and coverage plots (PNG, PDF) into ``directory``.

        The folder then holds this study's set of files only, replacing the previous run's set
        as a whole (:func:`bayesfit.output.folder.staged`); files bayesfit did not write stay.

        Parameters
        ----------
        directory : str or path-like
        include : sequence of path-like
            Further files to copy into the set (the command line's checkpoint).

        Returns
        -------
        list of pathlib.Path
        """
        with folder.staged(directory) as new:
            (new / "toys.json").write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")
            (new / "toys.md").write_text(f"# Toy study of {self.model}\n\n```\n{self.table()}\n```\n")
            if any(r.get("ok") for r in self.records):
                save_figure(self.plot_pulls(), new, "pulls")
                save_figure(self.plot_coverage(), new, "coverage")
            for path in include:
                shutil.copy2(path, new / Path(path).name)
        return folder.written(directory)


def resolve_truth(model, truth=None) -> np.ndarray:
    """Return the parameter values toys are drawn at, checked against the model's parameters.

    Parameters
    ----------
    model : bayesfit.WindowModel
    truth : sequence of float or dict, optional
        All values in the model's order, or ``{name: value}`` for some (the others at their
        start values); the start values when omitted.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        An unknown name, the wrong number of values, or a value outside its parameter's bounds.
    """
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
    return truth


def toys(model, n_toys, n_events, *, truth=None, poisson=False, seed=0, fits=("mle",), minos=True,
         nuts=None, workers=None, client=None, checkpoint=None, progress=True, redraw_constraints=True) -> ToyStudy:
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
    redraw_constraints : bool
        For a model with constraints (:mod:`bayesfit.modeling.constraints`): draw each toy's
        measured values (the global observables) afresh around the truth, as a repeated
        experiment with its own calibration would (the default). With False every toy keeps the
        nominal measured values: the constrained parameters' pulls are then too narrow, because
        the calibration's own fluctuation is missing from the toys.

    Returns
    -------
    ToyStudy
    """
    if not hasattr(model, "simulate"):
        raise TypeError(f"toys need a model that simulates its data (a WindowModel), got {type(model).__name__}")
    names = list(model.names)
    truth = resolve_truth(model, truth)
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
    header = checkpoints.study_header(model, truth, n_events, poisson, seed, fits, minos, n_toys)
    redraw = bool(redraw_constraints) and bool(getattr(model, "constraints", ()))
    if getattr(model, "constraints", ()):
        header["redraw_constraints"] = redraw
    done = {}
    if checkpoint is not None and Path(checkpoint).exists():
        done = checkpoints.read(checkpoint, header)
    todo = [s for i, s in enumerate(seeds) if i not in done]
    sink = checkpoints.open_for_append(checkpoint, header) if checkpoint is not None else None

    def keep(results):
        for index, record in results:
            done[index] = record
            if sink is not None:
                sink.write(json.dumps({"index": index, "record": record}) + "\n")
        if sink is not None:
            sink.flush()
        bar.update(len(results))

    bar = Progress(n_toys, len(done), progress)
    args = (model, truth, n_events, poisson, redraw)
    t0 = time.perf_counter()
    n_workers = 1
    try:
        chunks = [todo[k:k + CHUNK] for k in range(0, len(todo), CHUNK)]
        n_workers, start = map_chunks(_fit_chunk, args, (fits, minos, nuts), chunks, workers, client, keep)
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


