"""Posterior of the relativistic Breit–Wigner shape ρ (the seed notebook's Bayesian section).

Data: 400 draws x ~ RelBW(ρ = 2), standardised (scale 1), from
``scipy.stats.rel_breitwigner.rvs(2.0, size=400, random_state=np.random.default_rng(7))``.
Prior ρ ~ LogNormal(0, 0.7), so the posterior mode is *not* the MLE: the run reports both and
their distance in HESSE σ. With ``flat_prior=True`` the prior is uniform on the bounds and the
MAP must equal the MLE. With ``fit_scale=True`` the scale Γ is fitted too, which reproduces
``scipy.stats.rel_breitwigner.fit(data, floc=0)``.

As an independent check the posterior is also evaluated on a grid of 600 points (scipy's
logpdf and lognorm), placed where the posterior is (the seed's fixed grid ρ ∈ [0.2, 8] misses it
for ρ ≲ 0.25 or ≳ 8); its mode, mean and sd are stored under ``meta.grid_posterior`` and drawn
beside the NUTS draws and the Laplace Gaussian. Posterior mass at a bound of ρ is named there.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats

import bayesfit as bf

COMMAND = "relbw"
HELP = "posterior of the relativistic Breit-Wigner shape rho (seed notebook), with grid check"

RHO_TRUE = 2.0
N_EVENTS = 400
DATA_SEED = 7
PRIOR_SIGMA = 0.7  # rho ~ LogNormal(0, 0.7)
RHO_BOUNDS = (0.05, 50.0)
GRID = (0.2, 8.0, 600)  # the seed's grid; ours follows the posterior (grid_posterior)


def seed_data():
    """Return the seed's data set: 400 draws of RelBW(2.0) with ``default_rng(7)``."""
    return stats.rel_breitwigner.rvs(RHO_TRUE, size=N_EVENTS, random_state=np.random.default_rng(DATA_SEED))


def log_prior(rho):
    """Return the log density of the LogNormal(0, 0.7) prior (scipy)."""
    return stats.lognorm.logpdf(rho, PRIOR_SIGMA)


def _lognormal_prior(name):
    import pymc as pm

    return pm.LogNormal(name, 0.0, PRIOR_SIGMA)


def log_posterior(x, rho, *, flat_prior=False):
    """Return the unnormalised log posterior of ρ at scale 1 (scipy; the independent check)."""
    rho = np.atleast_1d(rho)
    ll = stats.rel_breitwigner.logpdf(np.asarray(x)[None, :], rho[:, None]).sum(axis=1)
    return ll + (0.0 if flat_prior else log_prior(rho))


def grid_posterior(x, *, flat_prior=False, points=GRID[2], fixed=None):
    """Return the posterior of ρ on a grid that follows it: mode, mean, sd, and the grid used.

    A coarse logarithmic scan of the whole prior range (the bounds ``RHO_BOUNDS``) finds where
    the posterior is within e⁻³⁰ of its maximum; ``points`` equally spaced points cover that
    region. Where the region reaches a bound, the posterior is cut there (as NUTS's and the
    MAP's are), and ``at_bound`` names the bound.

    Parameters
    ----------
    x : array_like
        Standardised values.
    flat_prior : bool
        Uniform prior on the bounds instead of LogNormal(0, 0.7).
    points : int
        Grid points.
    fixed : (float, float, int), optional
        Evaluate on ``numpy.linspace(*fixed)`` instead, e.g. the seed's grid :data:`GRID`.

    Returns
    -------
    dict
        ``grid`` (lo, hi, points), ``mode``, ``mean``, ``sd``, ``at_bound`` (a bound of ρ the
        posterior reaches, or None; with ``fixed``, an end of that grid).
    """
    lo, hi = RHO_BOUNDS
    if fixed is not None:
        a, b, points = fixed
        lo, hi = a, b
    else:
        coarse = np.geomspace(lo, hi, 400)
        logpost = log_posterior(x, coarse, flat_prior=flat_prior)
        keep = np.flatnonzero(logpost > logpost.max() - 30)
        a, b = coarse[max(keep[0] - 1, 0)], coarse[min(keep[-1] + 1, coarse.size - 1)]
    grid = np.linspace(a, b, points)
    logpost = log_posterior(x, grid, flat_prior=flat_prior)
    dens = np.exp(logpost - logpost.max())
    dens /= integrate.trapezoid(dens, grid)
    mean = integrate.trapezoid(grid * dens, grid)
    sd = np.sqrt(integrate.trapezoid((grid - mean) ** 2 * dens, grid))
    edge = [bound for bound, end in ((lo, dens[0]), (hi, dens[-1])) if end > 1e-6 * dens.max()]
    return {"grid": [float(a), float(b), points], "mode": float(grid[np.argmax(dens)]), "mean": float(mean),
            "sd": float(sd), "at_bound": edge[0] if edge else None}


def _grid_check(x, flat_prior):
    grid = grid_posterior(x, flat_prior=flat_prior)
    found = {"grid_posterior": grid}
    if grid["at_bound"] is not None:
        found["warnings"] = [f"the posterior of rho reaches its bound {grid['at_bound']:g}: every answer "
                             f"(grid, MAP, NUTS) is cut there; the data want rho beyond {RHO_BOUNDS}"]
    return found


def _scale_guess(x, window, nbins):
    median = float(np.median(x))
    return {"scale": (1.0, 1e-3 * median, 100 * median)}


def plot_rho(fit, *, flat_prior=False):
    """Return the ρ posterior three ways (NUTS, grid, Laplace) with the MLE and the truth."""
    import matplotlib.pyplot as plt

    from bayesfit.output.formatting import format_measurement

    problem = fit.problem
    fig, ax = plt.subplots(figsize=(7, 4.5))
    mode, sd = fit.map.values[0], fit.map.sd[0]
    lo, hi = mode - 5 * sd, mode + 5 * sd
    if fit.idata is not None:
        ax.hist(fit.idata.posterior["rho"].values.ravel(), bins=60, range=(lo, hi), density=True,
                color="C0", alpha=0.45, label="NUTS draws")
    if len(problem.params) == 1:
        grid = np.linspace(max(lo, 1e-3), hi, 600)
        logpost = log_posterior(problem.data, grid, flat_prior=flat_prior)
        dens = np.exp(logpost - logpost.max())
        dens /= integrate.trapezoid(dens, grid)
        ax.plot(grid, dens, "k-", lw=1.5, label="grid posterior (scipy)")
    xs = np.linspace(lo, hi, 400)
    ax.plot(xs, stats.norm.pdf(xs, mode, sd), "C1--", lw=1.5, label=f"Laplace: {format_measurement(mode, sd)}")
    mle, err = fit.mle.values[0], fit.mle.errors[0]
    ax.errorbar([mle], [0.05 * ax.get_ylim()[1]], xerr=[err], fmt="s", color="C3", capsize=4,
                label=f"MLE ± HESSE: {format_measurement(mle, err)}")
    truth = problem.meta.get("truth", {}).get("rho")
    if truth is not None:
        ax.axvline(truth, color="C2", lw=2, label=rf"true $\rho$ = {truth:g}")
    ax.set_xlabel(r"$\rho = M_0/\Gamma$")
    ax.set_ylabel(r"posterior density $p(\rho\,|\,x)$")
    ax.set_title(f"RelBW shape posterior, {problem.n_data} events, prior: {problem.meta['prior']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"relbw_rho": fig}


def relbw(flat_prior=False, fit_scale=False):
    """Return the model of the standardised relativistic Breit–Wigner shape ρ.

    Parameters
    ----------
    flat_prior : bool
        Uniform prior on ρ in [0.05, 50] instead of LogNormal(0, 0.7): then MAP = MLE.
    fit_scale : bool
        Also fit the scale Γ instead of fixing it to 1.

    Returns
    -------
    bayesfit.WindowModel
    """
    rho = bf.Parameter("rho", 1.0, *RHO_BOUNDS, label=r"$\rho$",
                       prior=None if flat_prior else _lognormal_prior)
    scale = bf.Parameter("scale", 1.0, 1e-3, 1e3, label=r"$\Gamma$ (scale)") if fit_scale else 1.0
    checks = None if fit_scale else (lambda problem: _grid_check(problem.data, flat_prior))
    return bf.WindowModel(
        (0.0, np.inf), [bf.RelBWRho(rho, scale)], name="relbw", x_label="$x$", nbins=20, min_events=3,
        title="Relativistic Breit–Wigner", guess=_scale_guess if fit_scale else None,
        meta={"prior": "uniform on bounds" if flat_prior else "rho ~ LogNormal(0, 0.7)"},
        checks=checks, plots=lambda fit: plot_rho(fit, flat_prior=flat_prior))


def default_data(model, *, seed=None):
    """Return ``(values, meta)``: the seed's 400 draws of RelBW(ρ = 2)."""
    return seed_data(), {"source": "seed", "truth": {"rho": RHO_TRUE}}
