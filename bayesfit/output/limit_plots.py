"""Figures of upper limits: the CLs scan with its Brazil band, the posterior with its limit, FC's belt.

Each function takes a limit result by its attributes (``poi``, ``unit``, ``cl``, ``limits``,
``intervals``, ``expected``, ``scan``, ``posterior``, ``belt``, ``prior``, ``how``: a
:class:`bayesfit.studies.limits.LimitResult`) and returns a matplotlib Figure, or ``None``
where the result holds nothing to draw.
"""

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["limit_figures", "plot_cls_scan", "plot_posterior", "plot_fc_belt", "plot_q0_null", "plot_local_pvalues",
           "plot_limit_scan", "plot_limit_coverage"]

#: The Brazil band's colours: ±1σ green, ±2σ yellow, as the LHC experiments draw them.
BAND_COLOURS = {1: "#00cc00", 2: "#ffee00"}


def _axis_label(result):
    return f"{result.poi} [{result.unit}]" if result.unit else result.poi


def plot_cls_scan(result):
    """Return CLs against the parameter: observed, expected median with ±1σ and ±2σ, the limit.

    Parameters
    ----------
    result : bayesfit.studies.limits.LimitResult

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    scan = result.scan
    if "mu" not in scan or "cls" not in result.limits:
        return None
    mu = np.asarray(scan["mu"])
    alpha = 1 - result.cl
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    exact = "cls_exact" in scan
    source = "exact" if exact else "asymptotic"
    if "cls_expected_+0" in scan:
        for n in (2, 1):
            ax.fill_between(mu, scan[f"cls_expected_{-n:+d}"], scan[f"cls_expected_{n:+d}"], color=BAND_COLOURS[n],
                            label=f"expected ±{n}σ ({source})", lw=0)
        ax.plot(mu, scan["cls_expected_+0"], "k--", lw=1.2, label=f"expected median ({source})")
    observed = scan["cls_exact"] if exact else scan["cls_asymptotic"]
    ax.plot(mu, observed, "k-", lw=1.6, label="observed CLs (" + ("exact" if exact else "asymptotic") + ")")
    clsb = scan.get("clsb_exact", scan.get("clsb_asymptotic"))
    if clsb is not None:
        ax.plot(mu, clsb, color="tab:blue", lw=1.0, ls=":", label="observed CLs+b")
    if "cls_toys" in scan:
        n_toys = int(result.how["cls"].split()[1]) if result.how.get("cls", "").startswith("toys") else None
        y = np.asarray(scan["cls_toys"][1:])
        err = None
        if n_toys:
            clsb_t, clb_t = np.asarray(scan["clsb_toys"][1:]), np.asarray(scan["clb_toys"][1:])
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.sqrt(clsb_t * (1 - clsb_t) / n_toys / np.maximum(clsb_t, 1e-300) ** 2
                              + clb_t * (1 - clb_t) / n_toys / np.maximum(clb_t, 1e-300) ** 2)
            err = np.where(np.isfinite(rel), y * rel, 0.0)
        ax.errorbar(scan["mu_toys"][1:], y, yerr=err, fmt="o", color="tab:red", ms=4, label="observed CLs (toys)")
    ax.axhline(alpha, color="tab:red", lw=1, ls="-.")
    ax.text(mu[-1], alpha, f" {100 * alpha:g} %", va="bottom", ha="right", color="tab:red", fontsize=9)
    ax.axvline(result.limits["cls"], color="0.3", lw=0.8)
    ax.set_xlim(0 if mu[0] >= 0 else mu[0], mu[-1])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_axis_label(result))
    ax.set_ylabel("CLs")
    unit = f" {result.unit}" if result.unit else ""
    ax.set_title(f"CLs: {result.poi} < {result.limits['cls']:.3g}{unit} at {100 * result.cl:g} % CL "
                 f"({result.how['cls']})", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def plot_posterior(result):
    """Return the marginal posterior of the parameter with the Bayesian limit shaded, its prior stated.

    Parameters
    ----------
    result : bayesfit.studies.limits.LimitResult

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    post = result.posterior
    if post is None or "bayes" not in result.limits:
        return None
    limit = result.limits["bayes"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if "samples" in post:
        samples = np.asarray(post["samples"])
        counts, edges, _ = ax.hist(samples, bins=80, density=True, histtype="step", color="k",
                                   label=f"NUTS draws ({samples.size:,})")
        inside = edges[:-1] < limit
        ax.bar(edges[:-1][inside], counts[inside], width=np.diff(edges)[inside], align="edge", color="tab:blue",
               alpha=0.35, lw=0, label=f"{100 * result.cl:g} % of the posterior")
    else:
        grid, dens = np.asarray(post["grid"]), np.asarray(post["density"])
        ax.plot(grid, dens, "k-", lw=1.5, label="posterior (" + result.how["bayes"] + ")")
        below = grid <= limit
        ax.fill_between(grid[below], dens[below], color="tab:blue", alpha=0.35, lw=0,
                        label=f"{100 * result.cl:g} % of the posterior")
    ax.axvline(limit, color="tab:blue", lw=1.2)
    unit = f" {result.unit}" if result.unit else ""
    ax.set_xlabel(_axis_label(result))
    ax.set_ylabel(f"posterior density [1/{result.unit}]" if result.unit else "posterior density")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_title(f"Bayesian: {result.poi} < {limit:.3g}{unit} at {100 * result.cl:g} % credibility\n"
                 f"prior {result.prior}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_fc_belt(result):
    """Return Feldman–Cousins' confidence belt with the observed value and the interval it gives.

    The acceptance region of each μ (the measured values the construction keeps at CL) is a
    horizontal band; the interval is every μ whose band holds the observed value.

    Parameters
    ----------
    result : bayesfit.studies.limits.LimitResult

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    belt = result.belt
    if not belt or "fc" not in result.intervals:
        return None
    mu, accepted, obs = np.asarray(belt["mu"]), np.asarray(belt["accepted"], dtype=float), belt["observed"]
    discrete = belt.get("discrete", False)
    lo, hi = result.intervals["fc"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    pad = 0.5 if discrete else 0.0
    # each μ's band reaches halfway to its neighbours
    middles = 0.5 * (mu[1:] + mu[:-1])
    bottoms = np.concatenate([[mu[0]], middles])
    tops = np.concatenate([middles, [mu[-1]]])
    for bottom, top, (a, b) in zip(bottoms, tops, accepted):
        if np.isfinite(a):
            ax.fill_between([a - pad, b + pad], bottom, top, color="tab:green", alpha=0.35, lw=0)
    ax.plot([], [], color="tab:green", alpha=0.35, lw=6, label=f"acceptance regions ({100 * result.cl:g} %)")
    # a fit on the boundary ends a hair above it (MIGRAD's limit transform): that is the boundary
    shown = result.lower if not discrete and obs - result.lower <= 1e-6 * max(1.0, abs(mu[-1])) else obs
    ax.axvline(obs, color="k", lw=1.2, label=("observed n" if discrete else f"observed {result.poi} (MLE)")
               + f" = {shown:.4g}")
    ax.plot([obs, obs], [lo, hi], color="tab:red", lw=4, solid_capstyle="butt",
            label=f"FC interval [{lo:.3g}, {hi:.3g}]")
    ax.set_xlabel("events observed n" if discrete else f"maximum-likelihood {_axis_label(result)}")
    ax.set_ylabel(f"true {_axis_label(result)}")
    ax.set_ylim(mu[0], mu[-1])
    ax.set_title(f"Feldman–Cousins belt ({result.how['fc']})", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def limit_figures(result) -> dict:
    """Return the figures a limit result holds, ``{file stem: Figure}``.

    Parameters
    ----------
    result : bayesfit.studies.limits.LimitResult

    Returns
    -------
    dict
    """
    figures = {"cls_scan": plot_cls_scan(result), "posterior": plot_posterior(result), "fc_belt": plot_fc_belt(result)}
    return {k: v for k, v in figures.items() if v is not None}


def plot_q0_null(result):
    """Return the background-only toys' q₀ with the asymptotic ½χ²₁ tail and the observed q₀.

    Parameters
    ----------
    result : bayesfit.studies.search.Significance

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    from scipy import stats

    q = result.q0_toys
    if q is None:
        return None
    q = np.sort(np.asarray(q))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    grid = np.linspace(0, max(q.max(), result.q0) * 1.1 + 1e-9, 300)
    tail = np.array([np.mean(q >= g) for g in grid])
    ax.step(grid, tail, where="post", color="k", label=f"background-only toys ({q.size:,})")
    ax.plot(grid, 0.5 * stats.chi2.sf(grid, 1), "b--", label="asymptotic ½χ²₁")
    ax.axvline(result.q0, color="tab:red", label=f"observed q₀ = {result.q0:.2f}")
    ax.set_yscale("log")
    ax.set_ylim(max(0.3 / q.size, 1e-6), 1.1)
    ax.set_xlabel("q₀ = −2 ln λ(0)")
    ax.set_ylabel("P(q₀ ≥ x)")
    ax.set_title(f"Is there a signal? {result.poi}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_local_pvalues(scan):
    """Return the local p-value against the mass, with the 1σ–5σ levels and the global p-values.

    Parameters
    ----------
    scan : bayesfit.studies.search.MassScan

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy import stats

    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    ax.plot(scan.masses, scan.p_local, "k-", lw=1.5, label="local p-value (asymptotic)")
    p_min = max(float(np.min(scan.p_local)), 1e-12)
    bottom = min(p_min / 3, 0.1)
    for z in range(1, 8):
        p = stats.norm.sf(z)
        if p < bottom:
            break
        ax.axhline(p, color="tab:red", lw=0.7, ls=":")
        ax.text(scan.masses[-1], p, f" {z}σ", va="center", ha="left", color="tab:red", fontsize=8)
    notes = []
    if scan.global_p_toys is not None and scan.global_p_bound_95 is None:
        notes.append(f"global p (toys) = {scan.global_p_toys:.3g}")
    elif scan.global_p_bound_95 is not None:
        notes.append(f"global p (toys) < {scan.global_p_bound_95:.2g}")
    if scan.global_p_gross_vitells is not None:
        notes.append(f"global p (Gross–Vitells) = {scan.global_p_gross_vitells:.3g}")
    ax.set_yscale("log")
    ax.set_ylim(bottom, 1.0)
    ax.set_xlim(scan.masses[0], scan.masses[-1])
    ax.set_xlabel(f"signal mass [{scan.mass_unit}]")
    ax.set_ylabel("local p-value")
    ax.set_title(f"Local significance of {scan.poi}" + ("\n" + "; ".join(notes) if notes else ""), fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def plot_limit_scan(scan):
    """Return the CLs limit against the mass: observed, expected median, ±1σ and ±2σ.

    Parameters
    ----------
    scan : bayesfit.studies.search.MassScan

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    lim = scan.limits
    if "cls" not in lim:
        return None
    m = scan.masses
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for n in (2, 1):
        ax.fill_between(m, lim[f"expected_{-n:+d}"], lim[f"expected_{n:+d}"], color=BAND_COLOURS[n], lw=0,
                        label=f"expected ±{n}σ")
    ax.plot(m, lim["expected_+0"], "k--", lw=1.2, label="expected median")
    ax.plot(m, lim["cls"], "k-", lw=1.6, marker="o", ms=2.5, label="observed")
    unit = f" [{scan.unit}]" if scan.unit else ""
    ax.set_xlim(m[0], m[-1])
    ax.set_xlabel(f"signal mass [{scan.mass_unit}]")
    ax.set_ylabel(f"{100 * scan.cl:g} % CL upper limit on {scan.poi}{unit}")
    ax.set_title("CLs upper limits (asymptotic) across the mass range", fontsize=10)
    ax.set_ylim(0, 1.3 * float(np.nanmax([np.nanmax(lim["cls"]), np.nanmax(lim["expected_+2"])])))
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


def plot_limit_coverage(study):
    """Return each method's coverage against the true signal: toys with Clopper–Pearson errors, exact sums.

    Parameters
    ----------
    study : bayesfit.studies.limits.LimitCoverage

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayesfit.core.binomial import clopper_pearson

    names = {"cls": "CLs", "fc": "Feldman–Cousins", "bayes": "Bayesian (flat prior)"}
    colours = {"cls": "tab:red", "fc": "tab:green", "bayes": "tab:blue"}
    offsets = {"cls": -0.06, "fc": 0.0, "bayes": 0.06}
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    s = np.asarray(study.signals)
    lowest = [min(v) for v in study.exact.values()]
    for m in study.covered:
        frac = study.fraction(m)
        bounds = np.array([clopper_pearson(int(c), study.toys) for c in study.covered[m]])
        lowest.append(float(bounds[:, 0].min()))
        ax.errorbar(s + offsets[m], frac, yerr=[frac - bounds[:, 0], bounds[:, 1] - frac], fmt="o", ms=4,
                    color=colours[m], label=f"{names[m]} (toys)")
        if study.exact:
            ax.plot(s, study.exact[m], "-", lw=1, color=colours[m], alpha=0.6)
    ax.axhline(study.cl, color="k", ls="--", lw=1, label=f"nominal {100 * study.cl:g} %")
    if study.exact:
        ax.plot([], [], "-", color="0.4", lw=1, label="exact Poisson sums")
    ax.set_xlabel(f"true {study.poi}" + (f" [{study.unit}]" if study.unit else ""))
    ax.set_ylabel(f"coverage: P(interval contains the true {study.poi})")
    ax.set_ylim(max(min(study.cl - 0.05, min(lowest) - 0.01), 0.0), 1.005)
    ax.set_title(f"Coverage of {100 * study.cl:g} % intervals: {study.description}\n"
                 f"({study.toys:,} toys per point)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
