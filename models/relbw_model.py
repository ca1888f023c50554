"""Posterior of the relativistic Breit–Wigner shape ρ (the seed notebook's Bayesian section).

Data: 400 draws x ~ RelBW(ρ = 2), standardised (scale 1), from
``scipy.stats.rel_breitwigner.rvs(2.0, size=400, random_state=np.random.default_rng(7))``.
Prior ρ ~ LogNormal(0, 0.7), so the posterior mode is *not* the MLE: the run reports both and
their distance in HESSE σ. With ``flat_prior=True`` the prior is uniform on the bounds and the
MAP must equal the MLE. With ``fit_scale=True`` the scale Γ is fitted too, which reproduces
``scipy.stats.rel_breitwigner.fit(data, floc=0)``.

As an independent check the posterior is also evaluated on the seed's grid (ρ ∈ [0.2, 8], 600
points, scipy's logpdf and lognorm); its mode, mean and sd are stored under
``meta.grid_posterior`` and drawn beside the NUTS draws and the Laplace Gaussian.
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
GRID = (0.2, 8.0, 600)


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


def grid_posterior(x, *, flat_prior=False):
    """Return the posterior on the seed's grid: its mode, mean and sd."""
    grid = np.linspace(*GRID)
    logpost = log_posterior(x, grid, flat_prior=flat_prior)
    dens = np.exp(logpost - logpost.max())
    dens /= integrate.trapezoid(dens, grid)
    mean = integrate.trapezoid(grid * dens, grid)
    sd = np.sqrt(integrate.trapezoid((grid - mean) ** 2 * dens, grid))
    return {"grid": list(GRID), "mode": float(grid[np.argmax(dens)]), "mean": float(mean), "sd": float(sd)}


def _scale_guess(x, window, nbins):
    median = float(np.median(x))
    return {"scale": (1.0, 1e-3 * median, 100 * median)}


def plot_rho(fit, *, flat_prior=False):
    """Return the ρ posterior three ways (NUTS, grid, Laplace) with the MLE and the truth."""
    import matplotlib.pyplot as plt

    from bayesfit.plots import format_measurement

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
    checks = None if fit_scale else (lambda problem: {"grid_posterior": grid_posterior(problem.data,
                                                                                       flat_prior=flat_prior)})
    return bf.WindowModel(
        (0.0, np.inf), [bf.RelBWRho(rho, scale)], name="relbw", x_label="$x$", nbins=20, min_events=3,
        title="Relativistic Breit–Wigner", guess=_scale_guess if fit_scale else None,
        meta={"prior": "uniform on bounds" if flat_prior else "rho ~ LogNormal(0, 0.7)"},
        checks=checks, plots=lambda fit: plot_rho(fit, flat_prior=flat_prior))


def default_data(model, *, seed=None):
    """Return ``(values, meta)``: the seed's 400 draws of RelBW(ρ = 2)."""
    return seed_data(), {"source": "seed", "truth": {"rho": RHO_TRUE}}
