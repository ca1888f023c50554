"""Plots shared by every model.

- :func:`plot_marginals`: each marginal posterior (ArviZ) with the Gaussian of the MLE and
  its HESSE error, and the MINOS interval, drawn on it.
- :func:`plot_profiles`: for each parameter, the profile likelihood (iminuit's ``mnprofile``)
  against the marginal posterior, both as −2Δln, with the HESSE parabola and MINOS interval.
- :func:`plot_contours`: for the most correlated pairs, the MINOS 68 % and 95 % contours
  (``mncontour``) over the posterior's highest-density regions and the HESSE ellipse.
- :func:`plot_pairs`: the pairwise HESSE ellipses (and the Laplace ones) over the posterior
  draws.
- :func:`plot_ppc`: the posterior-predictive check (χ² of the data against χ² of replicated
  data, draw by draw, and the Bayesian p-value) beside the frequentist χ² test at the MLE.
- :func:`plot_hist_fit`: a histogram with √N errors, the fitted shape and its components,
  an info box and a pull panel; used by the one-dimensional density models.
- :func:`ellipse`: the Δ(−2 ln L) = k² contour of a two-dimensional Gaussian.

Numbers on the figures are written by :mod:`bayesfit.output.formatting`; figures are saved by
:mod:`bayesfit.output.figures`.

Every helper returns the figure and never calls ``plt.show()``; none changes matplotlib's
backend (the command line selects Agg for itself).
"""

from __future__ import annotations


import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse
from scipy import stats

from bayesfit.core.constants import ONE_SIGMA
from bayesfit.core.posterior import posterior_draws
from bayesfit.output.formatting import display_measurement, display_scale, format_p_value, pdg_round, ppc_p_text

__all__ = ["ellipse", "plot_marginals", "plot_profiles", "plot_contours", "plot_pairs", "plot_ppc", "plot_hist_fit",
           "most_correlated_pairs", "CONTOUR_LEVELS"]


def ellipse(mean, cov, nsigma=1.0, **kwargs) -> Ellipse:
    """Return the ``nsigma`` contour of a two-dimensional Gaussian as a patch.

    Parameters
    ----------
    mean : array_like, shape (2,)
    cov : array_like, shape (2, 2)
    nsigma : float
        The contour Δ(−2 ln L) = nsigma²: its projections on the axes are ±nsigma
        standard deviations.
    **kwargs
        Passed to :class:`matplotlib.patches.Ellipse`.

    Returns
    -------
    matplotlib.patches.Ellipse
    """
    evals, evecs = np.linalg.eigh(np.asarray(cov, dtype=float))
    evals = np.clip(evals, 0.0, None)
    angle = np.degrees(np.arctan2(evecs[1, 1], evecs[0, 1]))
    width, height = 2 * nsigma * np.sqrt(evals[1]), 2 * nsigma * np.sqrt(evals[0])
    kwargs.setdefault("fill", False)
    return Ellipse(tuple(mean), width, height, angle=angle, **kwargs)


def _sub(cov, i, j):
    return np.asarray(cov)[np.ix_([i, j], [i, j])]


def plot_pairs(params, mle, map_=None, idata=None, *, max_draws=3000, seed=0):
    """Plot the pairwise HESSE ellipses, over the posterior draws when there are some.

    Parameters
    ----------
    params : sequence of bayesfit.modeling.problem.Parameter
    mle : bayesfit.engine.mle.MLEResult
    map_ : bayesfit.engine.bayes.MAPResult, optional
        Its Laplace 1σ ellipse is drawn dashed.
    idata : arviz.InferenceData, optional
        NUTS draws, shown as points (at most ``max_draws``).
    max_draws : int
    seed : int
        Seed for thinning the draws.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(params)
    size = max(3.2, 2.4 * (n - 1))
    fig, axes = plt.subplots(n - 1, n - 1, figsize=(size, size), squeeze=False)
    draws = None
    if idata is not None:
        draws = posterior_draws(idata, [p.name for p in params]).T
        if draws.shape[1] > max_draws:
            pick = np.random.default_rng(seed).choice(draws.shape[1], max_draws, replace=False)
            draws = draws[:, pick]
    # every axis relative to the PDG-rounded estimate: short tick labels, no offsets
    axis = [_relative_axis(p, mle.values[k], mle.errors[k]) for k, p in enumerate(params)]
    refs = np.array([a[0] for a in axis])
    for row in range(n - 1):
        for col in range(n - 1):
            ax = axes[row, col]
            i, j = col, row + 1  # x parameter, y parameter
            if col > row:
                ax.set_visible(False)
                continue
            shift = refs[[i, j]]
            if draws is not None:
                ax.plot(draws[i] - shift[0], draws[j] - shift[1], ".", ms=1.5, alpha=0.25, color="C0",
                        rasterized=True,  # thousands of dots: an image inside the PDF, not vectors
                        label="NUTS draws" if (row, col) == (0, 0) else None)
            for k, style in ((1, "-"), (2, ":")):
                ax.add_patch(ellipse(mle.values[[i, j]] - shift, _sub(mle.covariance, i, j), k,
                                     color="C3", lw=1.5, ls=style,
                                     label=f"HESSE {k}σ" if (row, col) == (0, 0) else None))
            if map_ is not None and map_.posdef:
                ax.add_patch(ellipse(map_.values[[i, j]] - shift, _sub(map_.covariance, i, j), 1,
                                     color="k", lw=1.0, ls="--",
                                     label="Laplace 1σ" if (row, col) == (0, 0) else None))
            ax.plot(*(mle.values[[i, j]] - shift), "+", color="C3", ms=8)
            si, sj = mle.errors[i], mle.errors[j]
            ax.set_xlim(mle.values[i] - shift[0] - 3.2 * si, mle.values[i] - shift[0] + 3.2 * si)
            ax.set_ylim(mle.values[j] - shift[1] - 3.2 * sj, mle.values[j] - shift[1] + 3.2 * sj)
            ax.ticklabel_format(useOffset=False)
            ax.xaxis.set_major_locator(plt.MaxNLocator(3))
            ax.yaxis.set_major_locator(plt.MaxNLocator(4))
            _scale_ticks(ax.xaxis, axis[i][2])
            _scale_ticks(ax.yaxis, axis[j][2])
            if row == n - 2:
                ax.set_xlabel(axis[i][1], fontsize=8)
            else:
                ax.tick_params(labelbottom=False)
            if col == 0:
                ax.set_ylabel(axis[j][1], fontsize=8)
            else:
                ax.tick_params(labelleft=False)
    if n > 2:  # the empty upper right holds the legend
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", fontsize=9, markerscale=6, bbox_to_anchor=(0.97, 0.93))
    else:
        axes[0, 0].legend(fontsize=8, loc="best", markerscale=6)
    fig.suptitle("HESSE ellipses (Δ(−2 ln L) = 1, 4)" + (" over NUTS draws" if draws is not None else ""))
    fig.tight_layout()
    return fig


def plot_marginals(params, mle, idata):
    """Plot each marginal posterior with the Gaussian of the MLE and the MINOS interval.

    Each panel: the NUTS draws as a density histogram with its 68.27 % HDI shaded, the Gaussian
    of the MLE and its HESSE error, and the MINOS interval; the x axis is drawn relative to the
    PDG-rounded estimate (no offsets), and the panel's title gives the posterior mean ± sd and
    the MLE ± HESSE, both PDG-rounded. One legend below the panels.

    Parameters
    ----------
    params : sequence of bayesfit.modeling.problem.Parameter
    mle : bayesfit.engine.mle.MLEResult
    idata : arviz.InferenceData
        NUTS posterior.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    n = len(params)
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(4.3 * ncol, 6.0), 3.2 * nrow + 0.5), squeeze=False)
    for k, p in enumerate(params):
        ax = axes.flat[k]
        draws = np.asarray(idata.posterior[p.name]).ravel()
        mu, sd = float(mle.values[k]), float(mle.errors[k])
        ref, label, factor = _relative_axis(p, mu, sd)
        lo_hdi, hi_hdi = (float(v) for v in az.hdi(draws, hdi_prob=ONE_SIGMA))
        ax.hist(draws - ref, bins=60, density=True, color="C0", alpha=0.35, lw=0)
        inside = (draws >= lo_hdi) & (draws <= hi_hdi)
        ax.hist(draws[inside] - ref, bins=60, range=(draws.min() - ref, draws.max() - ref), density=False,
                weights=np.full(inside.sum(), 1.0 / (draws.size * (draws.max() - draws.min()) / 60)),
                color="C0", alpha=0.45, lw=0)
        x = np.linspace(mu - 4 * sd, mu + 4 * sd, 300)
        ax.plot(x - ref, stats.norm.pdf(x, mu, sd), color="C3", lw=1.5)
        lo, hi = mle.minos[p.name]
        if np.isfinite(lo) and np.isfinite(hi):
            for edge in (mu + lo, mu + hi):
                ax.axvline(edge - ref, color="C3", ls="--", lw=1.0)
        span = np.quantile(draws, [0.001, 0.999])
        ax.set_xlim(min(span[0], mu - 4 * sd) - ref, max(span[1], mu + 4 * sd) - ref)
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        _scale_ticks(ax.xaxis, factor)
        ax.set_yticks([])
        ax.set_xlabel(label)
        post = display_measurement(p, draws.mean(), draws.std())
        ax.set_title(f"posterior {post}\nMLE {display_measurement(p, mu, sd)}", fontsize=8.5)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles = [Patch(color="C0", alpha=0.35, label="posterior (NUTS draws)"),
               Patch(color="C0", alpha=0.7, label="68.27 % HDI"),
               Line2D([], [], color="C3", lw=1.5, label="MLE ± HESSE (Gaussian)"),
               Line2D([], [], color="C3", ls="--", lw=1.0, label="MINOS interval")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Marginal posteriors (NUTS) vs maximum likelihood")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _profile_range(mu, sd, minos, lower, upper, reach=2.5):
    """Return the x range of a profile: ``reach`` MINOS (else HESSE) errors each side, in bounds."""
    lo, hi = minos
    lo = lo if np.isfinite(lo) and lo < 0 else -sd
    hi = hi if np.isfinite(hi) and hi > 0 else sd
    return max(mu + reach * lo, lower), min(mu + reach * hi, upper)


def plot_profiles(params, mle, idata, *, points=20):
    """Plot, per parameter, the profile likelihood against the marginal posterior.

    Both curves are drawn as −2Δln: −2Δln L of the profile (iminuit's ``mnprofile``, the other
    parameters refitted at each point; MINOS reads its crossing of 1) and −2 ln of the marginal
    posterior density (a Gaussian KDE of the NUTS draws) relative to its maximum, with the HESSE
    parabola ((x − x̂)/σ)². For a Gaussian likelihood and flat priors the three coincide;
    where they part (a skewed parameter, a prior, a bound) the picture shows how.

    Parameters
    ----------
    params : sequence of bayesfit.modeling.problem.Parameter
    mle : bayesfit.engine.mle.MLEResult
        With its ``minuit`` (the fitted :class:`iminuit.Minuit`).
    idata : arviz.InferenceData
        NUTS posterior.
    points : int
        Points of each profile scan.

    Returns
    -------
    matplotlib.figure.Figure
    """
    m = mle.minuit
    n = len(params)
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(4.3 * ncol, 7.0), 3.4 * nrow), squeeze=False)
    for k, p in enumerate(params):
        ax = axes.flat[k]
        mu, sd = float(mle.values[k]), float(mle.errors[k])
        lo_b = p.lower if np.isfinite(p.lower) else -np.inf
        hi_b = p.upper if np.isfinite(p.upper) else np.inf
        a, b = _profile_range(mu, sd, mle.minos[p.name], lo_b, hi_b)
        ref, label, factor = _relative_axis(p, mu, sd)
        x, y, ok = m.mnprofile(p.name, size=points, bound=(a, b))
        y = y - mle.fval  # relative to the global minimum, not to the lowest point of the scan
        ok = np.asarray(ok, dtype=bool)
        ax.plot(x[ok] - ref, 2 * y[ok], "-", color="C3", lw=1.8, label="profile likelihood (MINUIT)")
        if (~ok).any():
            ax.plot(x[~ok] - ref, 2 * y[~ok], "x", color="C3", ms=5, label="profile: fit failed")
        grid = np.linspace(a, b, 200)
        ax.plot(grid - ref, ((grid - mu) / sd) ** 2, ":", color="k", lw=1.2, label="HESSE parabola")
        if idata is not None:
            draws = np.asarray(idata.posterior[p.name]).ravel()
            kde = stats.gaussian_kde(draws)
            full = np.linspace(draws.min(), draws.max(), 400)
            peak = kde(full).max()
            with np.errstate(divide="ignore"):
                ax.plot(grid - ref, -2 * np.log(kde(grid) / peak), "-", color="C0", lw=1.8,
                        label="marginal posterior (NUTS, KDE)")
        lo, hi = mle.minos[p.name]
        ax.axhline(1.0, color="0.6", lw=0.8)
        if np.isfinite(lo) and np.isfinite(hi):
            for edge in (mu + lo, mu + hi):
                ax.axvline(edge - ref, color="C3", ls="--", lw=0.9)
        ax.set_ylim(0, 6.5)
        ax.set_xlim(a - ref, b - ref)
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        _scale_ticks(ax.xaxis, factor)
        ax.set_xlabel(label)
        ax.set_ylabel(r"$-2\,\Delta\ln L$  or  $-2\ln(p/p_\mathrm{max})$", fontsize=8)
        if k == 0:
            ax.legend(fontsize=7, loc="upper center", framealpha=0.9)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    with_minos = any(np.all(np.isfinite(mle.minos[p.name])) for p in params)
    fig.suptitle("Profile likelihood " + ("(MINOS interval dashed, at 1) " if with_minos else "") + "vs marginal posterior")
    fig.tight_layout()
    return fig


_HDR68, _HDR95 = "#8fbfe0", "#d6e8f5"  # fills of the posterior's highest-density regions

#: Two-parameter regions: probability content and the Δ(−2 ln L) of its contour (χ², 2 dof).
CONTOUR_LEVELS = ((ONE_SIGMA, stats.chi2.ppf(ONE_SIGMA, 2)), (0.95, stats.chi2.ppf(0.95, 2)))


def most_correlated_pairs(correlation, count=3):
    """Return the ``count`` index pairs (i < j) with the largest ``|correlation|``."""
    c = np.abs(np.asarray(correlation, dtype=float))
    pairs = [(i, j) for i in range(len(c)) for j in range(i + 1, len(c))]
    return sorted(pairs, key=lambda ij: -np.nan_to_num(c[ij]))[:count]


def _relative_axis(p, mu, sd):
    """Return (reference value, axis label, display factor) for an axis drawn as x − x̂.

    x̂ is the PDG-rounded estimate; data stay in the parameter's unit, and a factor other
    than 1 (MeV for a GeV parameter, :func:`bayesfit.output.formatting.display_scale`) is applied by :func:`_scale_ticks`.
    """
    factor, unit = display_scale(p, sd)
    text = pdg_round(mu * factor, sd * factor)[0]
    shift = f"+ {text[1:]}" if text.startswith("-") else f"− {text}"
    return float(text) / factor, f"{p.label or p.name} {shift}" + (f" [{unit}]" if unit else ""), factor


def _scale_ticks(axis, factor):
    """Label the ticks of ``axis`` (an x or y axis) multiplied by ``factor``; no offset."""
    if factor != 1.0:
        from matplotlib.ticker import FuncFormatter

        axis.set_major_formatter(FuncFormatter(lambda v, pos: f"{round(v * factor, 9):g}".replace("-", "\N{MINUS SIGN}")))


def plot_contours(params, mle, idata, *, pairs=None, size=20, max_draws=2000, seed=0):
    """Plot MINOS contours over the posterior's highest-density regions, pair by pair.

    For each pair: iminuit's ``mncontour`` at 68.27 % and 95 % (Δ(−2 ln L) = 2.30 and 5.99, the
    other parameters refitted), the HESSE ellipse of 68.27 %, and the regions of highest posterior
    density holding 68.27 % and 95 % of the NUTS draws (density from a Gaussian KDE; the level is
    the density exceeded by that fraction of the draws).

    Parameters
    ----------
    params : sequence of bayesfit.modeling.problem.Parameter
    mle : bayesfit.engine.mle.MLEResult
        With its ``minuit``.
    idata : arviz.InferenceData or None
        NUTS posterior; without it only the frequentist contours are drawn.
    pairs : sequence of (int, int), optional
        Parameter index pairs; by default the three most correlated (HESSE).
    size : int
        Points per MINOS contour (each a fit of the other parameters), joined by straight lines:
        every drawn vertex is a point MINUIT found.
    max_draws : int
        Draws used for the KDE (a seeded subset of all).
    seed : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    m = mle.minuit
    pairs = list(pairs) if pairs is not None else most_correlated_pairs(mle.correlation)
    fig, axes = plt.subplots(1, len(pairs), figsize=(max(4.6 * len(pairs), 7.0), 4.6), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs):
        pi, pj = params[i], params[j]
        (xi, lx, fx), (yj, ly, fy) = (_relative_axis(pi, mle.values[i], mle.errors[i]),
                              _relative_axis(pj, mle.values[j], mle.errors[j]))
        if idata is not None:
            draws = np.vstack([np.asarray(idata.posterior[pi.name]).ravel(),
                               np.asarray(idata.posterior[pj.name]).ravel()])
            if draws.shape[1] > max_draws:
                draws = draws[:, np.random.default_rng(seed).choice(draws.shape[1], max_draws, replace=False)]
            kde = stats.gaussian_kde(draws)
            levels = np.quantile(kde(draws), [1 - q for q, _ in CONTOUR_LEVELS[::-1]])
            gx = np.linspace(draws[0].min(), draws[0].max(), 80)  # finer than the KDE's bandwidth
            gy = np.linspace(draws[1].min(), draws[1].max(), 80)
            X, Y = np.meshgrid(gx, gy)
            Z = kde(np.vstack([X.ravel(), Y.ravel()])).reshape(X.shape)
            ax.contourf(X - xi, Y - yj, Z, levels=[levels[0], levels[1], np.inf], colors=[_HDR95, _HDR68])
            ax.contour(X - xi, Y - yj, Z, levels=list(levels), colors="C0", linewidths=1.0)
            inside = Z >= levels[0]  # the 95 % region sets the view
            extent = [[X[inside].min(), X[inside].max()], [Y[inside].min(), Y[inside].max()]]
        else:
            extent = [[mle.values[i] - 3 * mle.errors[i]] * 2, [mle.values[j] - 3 * mle.errors[j]] * 2]
        for (q, delta), style in zip(CONTOUR_LEVELS, ("-", "--")):
            try:
                pts = np.asarray(m.mncontour(pi.name, pj.name, cl=q, size=size))
            except RuntimeError:
                continue
            if pts.size:
                closed = np.vstack([pts, pts[:1]])
                ax.plot(closed[:, 0] - xi, closed[:, 1] - yj, style, color="C3", lw=1.5)
                extent = [[min(extent[0][0], pts[:, 0].min()), max(extent[0][1], pts[:, 0].max())],
                          [min(extent[1][0], pts[:, 1].min()), max(extent[1][1], pts[:, 1].max())]]
        cov = mle.covariance[np.ix_([i, j], [i, j])]
        ax.add_patch(ellipse((mle.values[i] - xi, mle.values[j] - yj), cov, np.sqrt(CONTOUR_LEVELS[0][1]),
                             color="k", ls=":", lw=1.2))
        ax.plot(mle.values[i] - xi, mle.values[j] - yj, "+", color="C3", ms=10)
        (x0, x1), (y0, y1) = extent
        ax.set_xlim(x0 - xi - 0.08 * (x1 - x0), x1 - xi + 0.08 * (x1 - x0))
        ax.set_ylim(y0 - yj - 0.08 * (y1 - y0), y1 - yj + 0.08 * (y1 - y0))
        ax.ticklabel_format(useOffset=False)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        _scale_ticks(ax.xaxis, fx)
        _scale_ticks(ax.yaxis, fy)
        ax.set_xlabel(lx)
        ax.set_ylabel(ly)
        ax.set_title(f"ρ(HESSE) = {mle.correlation[i, j]:+.2f}".replace("-", "\N{MINUS SIGN}"), fontsize=10)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color="C3", ls="-", label="MINOS 68.27 % (Δχ² = 2.30)"),
               Line2D([], [], color="C3", ls="--", label="MINOS 95 % (Δχ² = 5.99)"),
               Line2D([], [], color="k", ls=":", label="HESSE ellipse, 68.27 %")]
    if idata is not None:
        handles += [Patch(color=_HDR68, label="posterior 68.27 % HDR (NUTS)"),
                    Patch(color=_HDR95, label="posterior 95 % HDR")]
    wide = len(pairs) > 2
    fig.legend(handles=handles, loc="lower center", ncol=len(handles) if wide else 3, fontsize=8, frameon=False)
    fig.suptitle("Two-parameter regions: MINOS contours vs posterior highest-density regions")
    fig.tight_layout(rect=(0, 0.07 if wide else 0.12, 1, 1))
    return fig


def plot_ppc(ppc, gof, *, title=None):
    """Plot the posterior-predictive χ² check beside the frequentist χ² test.

    Left, one point per posterior draw θ: the χ² of the observed data at θ against the χ² of
    a dataset replicated from the model at θ; the Bayesian p-value is the share of points
    above the diagonal. Right, the frequentist test: the χ² at the MLE on the χ²(NDF)
    density, its tail shaded.

    Parameters
    ----------
    ppc : dict
        :func:`bayesfit.engine.fits.posterior_predictive`'s result.
    gof : dict
        The fit's ``{"chi2", "ndf", "p_value"}`` at the MLE.
    title : str, optional
        What was fitted, put above both panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    obs, rep = np.asarray(ppc["observed"]), np.asarray(ppc["replicated"])
    fig, (ax, axf) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"wspace": 0.28})
    above = rep >= obs
    ax.scatter(obs[~above], rep[~above], s=8, alpha=0.5, color="C3", lw=0,
               label=r"$\chi^2_\mathrm{rep} < \chi^2_\mathrm{obs}$")
    ax.scatter(obs[above], rep[above], s=8, alpha=0.5, color="C0", lw=0,
               label=r"$\chi^2_\mathrm{rep} \geq \chi^2_\mathrm{obs}$")
    lo = min(obs.min(), rep.min())
    hi = max(obs.max(), rep.max())
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k-", lw=1)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\chi^2$ of the observed data at draw $\theta$")
    ax.set_ylabel(r"$\chi^2$ of data replicated at $\theta$")
    ax.set_title(f"Bayesian: posterior-predictive {ppc_p_text(ppc)}\n"
                 f"({ppc['draws']:,} posterior draws)", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, markerscale=2, framealpha=0.9)

    chi2, ndf = gof["chi2"], gof["ndf"]
    if ndf > 0:
        bottom = min(stats.chi2.ppf(1e-4, ndf), 0.85 * chi2)
        top = max(stats.chi2.ppf(1 - 1e-4, ndf), 1.15 * chi2)
        x = np.linspace(bottom, top, 600)
        y = stats.chi2.pdf(x, ndf)
        axf.plot(x, y, "k-", lw=1.4, label=rf"$\chi^2$ density, NDF = {ndf}")
        tail = x >= chi2
        axf.fill_between(x[tail], y[tail], color="C1", alpha=0.5, lw=0,
                         label=f"p = {format_p_value(gof['p_value'])}")
        axf.axvline(chi2, color="C1", lw=1.5, label=rf"$\chi^2_\mathrm{{MLE}}$ = {chi2:.1f}")
        axf.set_xlim(bottom, top)
        axf.set_ylim(0, 1.25 * np.nanmax(y[np.isfinite(y)]))
        axf.set_ylabel("probability density")
        axf.set_title(f"Frequentist: χ² at the MLE, p = {format_p_value(gof['p_value'])}", fontsize=10)
        axf.legend(loc="upper right", fontsize=8, framealpha=0.9)
    else:
        axf.text(0.5, 0.5, f"χ² = {chi2:.1f} with NDF = {ndf}:\ntoo few data for a χ² test",
                 ha="center", va="center", transform=axf.transAxes)
        axf.set_yticks([])
        axf.set_title("Frequentist: no test", fontsize=10)
    axf.set_xlabel(r"$\chi^2$")
    fig.suptitle(("Goodness of fit, Bayesian vs frequentist" + (f": {title}" if title else "")), y=1.01)
    return fig


def _headroom(fig, ax, boxes, centers, top, curves, gap=0.03) -> float:
    """Return the top of a y axis from 0 at which nothing drawn runs under the legend or the info box.

    The boxes sit at fixed places of the axes (upper left, upper right); with several peaks a
    peak can lie under either. For each box, the highest point of the data (with its error
    bar) and of the curves within the box's horizontal extent must stay ``gap`` (a fraction
    of the axes' height) below the box's lower edge; the axis is raised until it does.
    """
    highest = max(float(np.max(top, initial=0.0)), *(float(np.nanmax(y, initial=0.0)) for _, y in curves), 1.0)
    needed = 1.05 * highest
    to_axes = ax.transAxes.inverted()
    lo, hi = ax.get_xlim()
    for box in boxes:
        (x0, y0), (x1, _) = to_axes.transform(box.get_window_extent().get_points())  # any backend's renderer
        a, b = lo + x0 * (hi - lo), lo + x1 * (hi - lo)
        under = [top[(centers >= a - 1e-12) & (centers <= b + 1e-12)]]
        under += [y[(x >= a) & (x <= b)] for x, y in curves]
        peak = max((float(np.nanmax(u)) for u in under if u.size), default=0.0)
        needed = max(needed, peak / max(y0 - gap, 0.1))
    return needed


def plot_hist_fit(data, edges, expected, components, *, xlabel, unit, info_lines, title=None,
                  band=None):
    """Plot a histogram with √N errors, the fitted shape, its components and the pulls.

    Parameters
    ----------
    data : numpy.ndarray
        Events inside the window.
    edges : numpy.ndarray
        Equal-width bin edges.
    expected : numpy.ndarray
        Expected counts per bin at the fit (for the pulls).
    components : list of (label, x, y, style)
        Curves in events per bin width; the total first.
    xlabel, unit : str
        Quantity on the x axis and its unit, e.g. ``"m(μμ)"``, ``"GeV/$c^2$"``.
    info_lines : list of str
        Lines of the info box (fit results, χ²/NDF).
    title : str, optional
    band : (x, lo, hi), optional
        A shaded 68 % band of the total shape (from posterior draws), in events per bin.

    Returns
    -------
    matplotlib.figure.Figure
    """
    counts, _ = np.histogram(data, bins=edges)
    centers = 0.5 * (edges[1:] + edges[:-1])
    width = edges[1] - edges[0]
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(8.5, 7), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    ax.errorbar(centers, counts, yerr=np.sqrt(counts), fmt="ko", ms=3, lw=1, label="Data", zorder=3)
    if band is not None:
        ax.fill_between(band[0], band[1], band[2], color="C0", alpha=0.3, lw=0,
                        label="posterior 68 % band of the shape")
    for label, x, y, style in components:
        ax.plot(x, y, style, lw=1.8 if label.startswith("Total") else 1.4, label=label)
    scale = 1000.0 if unit.startswith("GeV") and width < 0.1 else 1.0
    bw_unit = ("MeV" + unit[3:]) if scale == 1000.0 else unit
    ax.set_ylabel(f"Entries / {width * scale:.3g} {bw_unit}".rstrip())
    ax.set_xlim(edges[0], edges[-1])
    legend = ax.legend(loc="upper left", fontsize=9)
    info = ax.text(0.98, 0.97, "\n".join(info_lines), transform=ax.transAxes, ha="right", va="top",
                   fontsize=9, bbox=dict(boxstyle="round", fc="white", ec="0.6", alpha=0.9))
    top = counts + np.sqrt(counts)
    curves = [(np.asarray(x, dtype=float), np.asarray(y, dtype=float)) for _, x, y, _ in components]
    ax.set_ylim(0, _headroom(fig, ax, (legend, info), centers, top, curves))
    if title:
        ax.set_title(title)
    expected = np.asarray(expected, dtype=float)
    ok = expected > 0
    pulls = np.zeros_like(expected)
    pulls[ok] = (counts[ok] - expected[ok]) / np.sqrt(expected[ok])
    axp.bar(centers, pulls, width=width, color="0.5")
    for level in (-2, 2):
        axp.axhline(level, color="C3", ls="--", lw=1)
    axp.axhline(0, color="k", lw=0.8)
    axp.set_ylabel("Pull")
    axp.set_ylim(-5, 5)
    axp.set_xlabel(f"{xlabel} [{unit}]" if unit else xlabel)
    fig.align_ylabels([ax, axp])
    return fig
