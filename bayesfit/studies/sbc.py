"""Simulation-based calibration (Talts et al. 2018) of the Bayesian fit.

If the sampler and the model are right, the truth drawn from the prior is, for data drawn at
that truth, just another draw from the posterior: its rank among L posterior draws is uniform
on 0 … L. :func:`sbc` repeats this: parameters from the prior, events from the model, NUTS
(nutpie, compiled once per worker and structure), the rank of the truth among ``n_ranks``
draws thinned evenly from the chains (thinning keeps the draws nearly independent, as Talts et
al. advise). A rank histogram that is ∪-shaped says the posterior is too narrow, ∩-shaped too
wide, tilted biased; the χ² test of uniformity gives a p-value per parameter.

Why not a package: simuk (arviz-devs) implements SBC for PyMC, but it draws the data from
``pm.sample_prior_predictive`` of observed variables, and bayesfit's likelihoods are
``pm.Potential`` terms of custom densities with no random generator in PyMC; the events come
from the components' own samplers (:meth:`bayesfit.WindowModel.simulate`). The loop is small;
it reuses the toys' seeding and Dask runner (:mod:`bayesfit.studies.toys`), so it is reproducible for
any number of workers. :func:`ranks` and :func:`uniformity` are tested on a conjugate
Gaussian, whose exact posterior gives uniform ranks and a too-narrow one does not.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from bayesfit.core import interrupts
from bayesfit.studies.parallel import CHUNK, Progress, map_chunks, pin_worker_threads

__all__ = ["sbc", "SBCResult", "ranks", "uniformity", "prior_draws"]

#: Posterior draws the truth is ranked among (ranks 0 … 99: a hundred equally likely values).
N_RANKS = 99

#: Groups of ranks in the histogram and in the χ² test (five ranks each).
RANK_BINS = 20


def prior_draws(model, n, seed=None) -> np.ndarray:
    """Return ``n`` draws of the parameters from their priors, shape ``(n, len(params))``.

    The priors are the Bayesian fit's own (:meth:`bayesfit.Parameter.pymc_variable`: flat
    within the bounds unless a ``prior`` is given), drawn by PyMC. A constraint is not part
    of this prior: it is an auxiliary measurement, drawn with each dataset at the drawn truth,
    so that the flat prior times the constraint's likelihood is the posterior SBC checks.
    """
    import pymc as pm

    with pm.Model():
        free = [p.pymc_variable() for p in model.params]
    out = pm.draw(free, draws=n, random_seed=seed)
    return np.column_stack([np.asarray(v, dtype=float).reshape(n) for v in out])


def ranks(truth, draws, n_ranks=N_RANKS) -> np.ndarray:
    """Return the rank of each truth among ``n_ranks`` draws thinned evenly from its draws.

    Parameters
    ----------
    truth : array_like, shape (k,)
    draws : array_like, shape (S, k)
        Posterior draws (chains concatenated), S ≥ ``n_ranks``.
    n_ranks : int

    Returns
    -------
    numpy.ndarray of int, shape (k,)
        Values in 0 … ``n_ranks``.
    """
    draws = np.asarray(draws, dtype=float)
    if draws.shape[0] < n_ranks:
        raise ValueError(f"need at least {n_ranks} posterior draws to rank among, got {draws.shape[0]}")
    pick = np.linspace(0, draws.shape[0] - 1, n_ranks).round().astype(int)
    return np.sum(draws[pick] < np.asarray(truth, dtype=float), axis=0)


def uniformity(rank_values, n_ranks=N_RANKS, bins=RANK_BINS) -> float:
    """Return the χ² p-value of the hypothesis that ranks are uniform on 0 … ``n_ranks``.

    Ranks are grouped into ``bins`` groups of equal size (``n_ranks + 1`` must divide by it).
    """
    if (n_ranks + 1) % bins:
        raise ValueError(f"{n_ranks + 1} ranks do not split into {bins} equal groups")
    counts = np.bincount(np.asarray(rank_values, dtype=int) * bins // (n_ranks + 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)


def _sbc_chunk(model, n_events, items, nuts, n_ranks):
    """Run SBC simulations one after another (a Dask task or the local loop)."""
    from bayesfit.core.posterior import posterior_draws
    from bayesfit.engine.fits import run_fits


    pin_worker_threads()
    out = []
    for index, truth, seed in items:
        record = {"truth": [float(t) for t in truth], "ok": False}
        try:
            rng = np.random.default_rng(seed)
            data = model.simulate(truth, n_events, rng=rng)
            problem, _ = model.prepare(data, binned=False)
            terms = problem.constraint_terms
            if terms:  # a constraint is a measurement: drawn at the truth like the data (the prior stays flat)
                terms.observed.update(terms.draw(truth, rng))
            fit = run_fits(problem, sample=True, minos=False, ppc=False, log=lambda line: None, progressbar=False,
                           seed=int(rng.integers(2**31)), **nuts)
            draws = posterior_draws(fit.idata, problem.names)
            record["ranks"] = ranks(truth, draws, n_ranks).tolist()
            record["divergences"] = int(fit.diagnostics.get("divergences") or 0)
            record["ess_bulk_min"] = fit.diagnostics.get("ess_bulk_min")
            record["ok"] = True
        except Exception as exc:  # a failing simulation is recorded, never stops the study
            stop = interrupts.interruption(exc)
            if stop is not None:  # Ctrl-C or SIGTERM inside a compiled callback: the study stops
                raise stop from None
            record["error"] = f"{type(exc).__name__}: {exc}"
        out.append((index, record))
    return out


@dataclass
class SBCResult:
    """The simulations of :func:`sbc` and their rank statistics.

    Attributes
    ----------
    model : str
    names : list of str
    n_events : int
    n_ranks : int
        Draws the truth was ranked among (ranks 0 … ``n_ranks``).
    records : list of dict
        Per simulation: the truth, the ranks, divergences, the smallest bulk ESS, or the error.
    seed : int
    timing_s : dict
    """

    model: str
    names: list
    n_events: int
    n_ranks: int
    records: list
    seed: int
    timing_s: dict = field(default_factory=dict)
    workers: int = 1

    @property
    def rank_array(self) -> np.ndarray:
        """Return the ranks of the successful simulations, shape ``(n_ok, k)``."""
        rows = [r["ranks"] for r in self.records if r.get("ok")]
        return np.array(rows, dtype=int).reshape(len(rows), len(self.names))

    def p_values(self) -> dict:
        """Return the χ² p-value of uniform ranks for each parameter."""
        r = self.rank_array
        return {n: uniformity(r[:, k], self.n_ranks) for k, n in enumerate(self.names)}

    def summary(self) -> dict:
        """Return simulations done, failed, with divergences, and the p-value per parameter."""
        ok = [r for r in self.records if r.get("ok")]
        return {"simulations": len(self.records), "failed": len(self.records) - len(ok),
                "with_divergences": sum(1 for r in ok if r["divergences"]), "n_ranks": self.n_ranks,
                "rank_bins": RANK_BINS, "p_uniform": self.p_values() if ok else {}}

    def table(self) -> str:
        """Return the summary as text: per parameter the uniformity p-value, then the counts."""
        s = self.summary()
        lines = [f"SBC of {self.model}: {s['simulations']:,} simulations of {self.n_events:,} events, "
                 f"ranks among {self.n_ranks} posterior draws ({RANK_BINS} groups of "
                 f"{(self.n_ranks + 1) // RANK_BINS})"]
        for name, p in s["p_uniform"].items():
            verdict = "consistent with uniform" if p > 0.01 else "NOT uniform: the posterior is miscalibrated"
            lines.append(f"  {name:>10}: χ² p-value {p:.3f}  ({verdict})")
        lines.append(f"  {s['failed']} failed, {s['with_divergences']} with divergent transitions")
        ok = s["simulations"] - s["failed"]
        if ok < 5 * RANK_BINS:
            lines.append(f"  note: {ok} simulations for {RANK_BINS} rank groups: fewer than 5 per group, the χ² "
                         "p-values are rough; run at least 100")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    def plot(self):
        """Return a figure: each parameter's rank histogram with the 99 % band of a uniform one."""
        import matplotlib.pyplot as plt

        r = self.rank_array
        n = r.shape[0]
        k = len(self.names)
        ncol = min(k, 3)
        nrow = -(-k // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow + 0.4), squeeze=False)
        edges = np.linspace(0, self.n_ranks + 1, RANK_BINS + 1)
        expect = n / RANK_BINS
        lo, hi = stats.binom.ppf([0.005, 0.995], n, 1 / RANK_BINS)
        p = self.p_values() if n else {}
        for i, name in enumerate(self.names):
            ax = axes.flat[i]
            ax.axhspan(lo, hi, color="0.85", label="99 % band of a uniform histogram")
            ax.axhline(expect, color="0.4", lw=1)
            counts, _, _ = ax.hist(r[:, i], bins=edges, color="C0", alpha=0.75, label="rank of the truth")
            ax.set_xlim(0, self.n_ranks + 1)
            ax.set_ylim(0, 1.2 * max(hi, counts.max(), 1))
            ax.set_xlabel(f"rank of the true {name} among {self.n_ranks} posterior draws")
            ax.set_ylabel("simulations")
            if name in p:
                ax.set_title(f"{name}: χ² p-value {p[name]:.3f}", fontsize=9)
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
        fig.suptitle(f"Simulation-based calibration of {self.model}: {n:,} simulations of {self.n_events:,} events")
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return fig

    def to_dict(self) -> dict:
        """Return the study as JSON-safe data (``sbc.json``)."""
        from bayesfit.core.jsonable import to_jsonable

        return to_jsonable({"model": self.model, "parameter_order": list(self.names), "n_events": self.n_events,
                       "seed": self.seed, "workers": self.workers, "timing_s": self.timing_s,
                       "summary": self.summary(), "records": self.records})

    def save(self, directory) -> list:
        """Write ``sbc.json`` and the rank histograms ``sbc.png``/``sbc.pdf`` into ``directory``.

        The folder then holds this calibration's set of files only, replacing the previous
        run's set as a whole (:func:`bayesfit.output.folder.staged`).

        Parameters
        ----------
        directory : str or path-like

        Returns
        -------
        list of pathlib.Path
        """
        from bayesfit.output import folder
        from bayesfit.output.figures import save_figure

        with folder.staged(directory) as new:
            (new / "sbc.json").write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")
            if self.rank_array.shape[0]:
                save_figure(self.plot(), new, "sbc")
        return folder.written(directory)


def sbc(model, n_sims, n_events, *, seed=0, draws=500, tune=500, chains=2, n_ranks=N_RANKS, workers=None,
        client=None, progress=True) -> SBCResult:
    """Run simulation-based calibration of a model's Bayesian fit.

    Parameters
    ----------
    model : bayesfit.WindowModel
        A model that simulates its data.
    n_sims : int
        Simulations: truth from the prior, data from the model, NUTS.
    n_events : int
        Events per simulated dataset.
    seed : int
        The study's seed; the priors' draws and each simulation's seed follow from it.
    draws, tune, chains : int
        NUTS settings of each fit (``draws × chains`` ≥ ``n_ranks``).
    n_ranks : int
        Posterior draws the truth is ranked among; ``n_ranks + 1`` must divide by
        :data:`RANK_BINS`.
    workers, client : optional
        Where to run, as for :func:`bayesfit.studies.toys.toys`.
    progress : bool
        Show simulations done and the rate on stderr.

    Returns
    -------
    SBCResult
    """

    if not hasattr(model, "simulate"):
        raise TypeError(f"SBC needs a model that simulates its data (a WindowModel), got {type(model).__name__}")
    if draws * chains < n_ranks:
        raise ValueError(f"draws × chains = {draws * chains} is fewer than the {n_ranks} draws to rank among")
    if (n_ranks + 1) % RANK_BINS:
        raise ValueError(f"n_ranks + 1 must be a multiple of {RANK_BINS}")
    root = np.random.SeedSequence(seed)
    prior_seed, sim_seeds = root.spawn(2)
    truths = prior_draws(model, int(n_sims), seed=np.random.default_rng(prior_seed))
    items = list(zip(range(int(n_sims)), truths, sim_seeds.spawn(int(n_sims))))
    done = {}
    bar = Progress(int(n_sims), 0, progress, label="simulations")

    def keep(results):
        for index, record in results:
            done[index] = record
        bar.update(len(results))

    chunk = max(1, CHUNK // 5)  # a NUTS fit takes seconds: smaller chunks balance the workers
    chunks = [items[k:k + chunk] for k in range(0, len(items), chunk)]
    t0 = time.perf_counter()
    n_workers, _ = map_chunks(_sbc_chunk, (model, int(n_events)), ({"draws": draws, "tune": tune, "chains": chains},
                                                               n_ranks), chunks, workers, client, keep)
    wall = time.perf_counter() - t0
    return SBCResult(model.name, list(model.names), int(n_events), n_ranks, [done[i] for i in range(int(n_sims))],
                     seed, {"wall": wall, "simulations_per_s": n_sims / wall if wall > 0 else None}, n_workers)
