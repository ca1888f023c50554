"""Figures of toy studies: pull histograms and coverage per interval.

Each function takes a study by its attributes (``names``, ``truth``, ``records``,
``summary()``, ``model``, ``n_events``: a :class:`bayesfit.studies.toys.ToyStudy`) and
returns a matplotlib Figure.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from bayesfit.core.constants import ONE_SIGMA
from bayesfit.output.formatting import INTERVAL_LABELS

__all__ = ["plot_pulls", "plot_coverage"]


def _column(records, key, k):
    return np.array([r[key][k] for r in records], dtype=float)


def measured_intervals(summary) -> list:
    """Return the intervals whose coverage a study's summary holds, in :data:`INTERVAL_LABELS` order.

    Parameters
    ----------
    summary : dict
        A study's ``summary()``.

    Returns
    -------
    list of str
    """
    return [k for k in INTERVAL_LABELS if any(k in p.get("coverage", {}) for p in summary["parameters"].values())]


def plot_pulls(study):
    """Return a figure: each parameter's pull histogram with the unit Gaussian over it.

    Parameters
    ----------
    study : bayesfit.studies.toys.ToyStudy

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = study.summary()
    good = [r for r in study.records if r.get("ok")]
    k = len(study.names)
    ncol = min(k, 3)
    nrow = -(-k // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow + 0.4), squeeze=False)
    x = np.linspace(-4.5, 4.5, 300)
    for i, name in enumerate(study.names):
        ax = axes.flat[i]
        v, e = _column(good, "mle", i), _column(good, "hesse", i)
        pull = ((v - study.truth[i]) / e)[e > 0]
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
    fig.suptitle(f"Pulls of {study.model}: {s['toys']:,} toys of {study.n_events:,} events")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_coverage(study):
    """Return a figure: each interval's coverage per parameter, Clopper–Pearson error bars.

    Parameters
    ----------
    study : bayesfit.studies.toys.ToyStudy

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = study.summary()
    kinds = measured_intervals(s)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(study.names) + 2), 4.2))
    xs = np.arange(len(study.names))
    for j, kind in enumerate(kinds):
        shift = (j - (len(kinds) - 1) / 2) * 0.15
        share, lo, hi = [], [], []
        for name in study.names:
            c = s["parameters"][name].get("coverage", {}).get(kind)
            if c and c["n"]:
                share.append(100 * c["share"])
                lo.append(100 * (c["share"] - c["cp_68"][0]))
                hi.append(100 * (c["cp_68"][1] - c["share"]))
            else:
                share.append(np.nan)
                lo.append(0)
                hi.append(0)
        ax.errorbar(xs + shift, share, yerr=[lo, hi], fmt="o", ms=5, capsize=3, label=INTERVAL_LABELS[kind])
    ax.axhline(100 * ONE_SIGMA, color="k", lw=1, ls="--", label="nominal 68.27 %")
    ax.set_xticks(xs, study.names)
    ax.set_ylabel("coverage [%]")
    ax.set_xlim(-0.6, len(study.names) - 0.4)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    ax.set_title(f"Coverage of the intervals: {s['toys']:,} toys of {study.model}, {study.n_events:,} events "
                 "(error bars: Clopper–Pearson 68 %)", fontsize=9)
    fig.tight_layout()
    return fig
