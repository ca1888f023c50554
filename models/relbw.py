"""Posterior of the relativistic Breit–Wigner shape ρ (the seed notebook's Bayesian section).

Data: 400 draws x ~ RelBW(ρ = 2) (``scipy.stats.rel_breitwigner.rvs(2.0, size=400,
random_state=np.random.default_rng(7))``), standardised (scale 1). Prior ρ ~ LogNormal(0, 0.7),
so the posterior mode is *not* the MLE: the run reports both and their distance in HESSE σ.
With ``--flat-prior`` the prior is uniform on the bounds and the MAP must equal the MLE.

As an independent check the posterior is also evaluated on a grid (the seed's ρ ∈ [0.2, 8],
600 points, with scipy's logpdf and lognorm) and its mode, mean and sd are recorded in
``result.json`` under ``meta.grid_posterior``. With ``--fit-scale`` the scale Γ is fitted too
(ρ, scale), which reproduces ``scipy.stats.rel_breitwigner.fit(data, floc=0)``.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
from scipy import integrate, stats

from bayesfit.distributions import RelBreitWigner
from bayesfit.io import InputError, read_masses
from bayesfit.problem import Parameter, Problem

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


class RhoPosterior(Problem):
    """Fit of the RelBW shape ρ (and optionally the scale) to positive values ``x``."""

    def __init__(self, x, *, flat_prior=False, fit_scale=False, source="seed", truth=RHO_TRUE):
        self.x = np.asarray(x, dtype=float)
        self.flat_prior = flat_prior
        self.fit_scale = fit_scale
        params = [Parameter("rho", 1.0, *RHO_BOUNDS, label=r"$\rho$")]
        if fit_scale:
            params.append(Parameter("scale", 1.0, 1e-3 * np.median(self.x), 100 * np.median(self.x),
                                    label=r"$\Gamma$ (scale)"))
        meta = {"source": source, "prior": "uniform on bounds" if flat_prior else "rho ~ LogNormal(0, 0.7)"}
        if truth is not None:
            meta["truth"] = {"rho": truth}
        super().__init__(name="relbw", params=tuple(params), n_data=self.x.size, meta=meta)
        if not fit_scale:
            self.meta["grid_posterior"] = self.grid_posterior()

    def _scale(self, values):
        return values[1] if self.fit_scale else 1.0

    def nll(self, values):
        """Return −ln L from scipy's ``rel_breitwigner.logpdf``."""
        if values[0] <= 0 or self._scale(values) <= 0:
            return np.inf
        return -float(np.sum(stats.rel_breitwigner.logpdf(self.x, values[0], scale=self._scale(values))))

    def log_posterior(self, rho):
        """Return the unnormalised log posterior of ρ (scipy; scale fixed at 1)."""
        rho = np.atleast_1d(rho)
        ll = stats.rel_breitwigner.logpdf(self.x[None, :], rho[:, None]).sum(axis=1)
        lp = np.zeros_like(rho) if self.flat_prior else log_prior(rho)
        return ll + lp

    def grid_posterior(self):
        """Return the posterior on the seed's grid: its mode, mean and sd (independent check)."""
        grid = np.linspace(*GRID)
        logpost = self.log_posterior(grid)
        dens = np.exp(logpost - logpost.max())
        dens /= integrate.trapezoid(dens, grid)
        mean = integrate.trapezoid(grid * dens, grid)
        sd = np.sqrt(integrate.trapezoid((grid - mean) ** 2 * dens, grid))
        return {"grid": list(GRID), "mode": float(grid[np.argmax(dens)]), "mean": float(mean), "sd": float(sd)}

    def pymc_model(self):
        """Return the PyMC model: LogNormal (or flat) prior on ρ, RelBW likelihood."""
        with pm.Model() as model:
            p = self.params[0]
            rho = (pm.Uniform("rho", p.lower, p.upper) if self.flat_prior
                   else pm.LogNormal("rho", 0.0, PRIOR_SIGMA))
            scale = 1.0
            if self.fit_scale:
                s = self.params[1]
                scale = pm.Uniform("scale", s.lower, s.upper)
            RelBreitWigner("x", rho=rho, scale=scale, observed=self.x)
        return model

    def gof(self, values):
        """Return Pearson's χ² in 20 bins of equal probability under the fit."""
        nb = 20
        edges = stats.rel_breitwigner.ppf(np.linspace(0, 1, nb + 1), values[0], scale=self._scale(values))
        counts, _ = np.histogram(self.x, bins=edges)
        expected = self.n_data / nb
        chi2 = float(np.sum((counts - expected) ** 2 / expected))
        ndf = nb - 1 - len(self.params)
        return {"chi2": chi2, "ndf": ndf, "p_value": float(stats.chi2.sf(chi2, ndf))}

    def plots(self, fit):
        """Return the ρ posterior three ways (NUTS, grid, Laplace) with the truth marked."""
        import matplotlib.pyplot as plt

        i = 0
        fig, ax = plt.subplots(figsize=(7, 4.5))
        mode, sd = fit.map.values[i], fit.map.sd[i]
        lo, hi = mode - 5 * sd, mode + 5 * sd
        if fit.idata is not None:
            ax.hist(fit.idata.posterior["rho"].values.ravel(), bins=60, range=(lo, hi), density=True,
                    color="C0", alpha=0.45, label="NUTS draws")
        if not self.fit_scale:
            grid = np.linspace(max(lo, 1e-3), hi, 600)
            logpost = self.log_posterior(grid)
            dens = np.exp(logpost - logpost.max())
            dens /= integrate.trapezoid(dens, grid)
            ax.plot(grid, dens, "k-", lw=1.5, label="grid posterior (scipy)")
        xs = np.linspace(lo, hi, 400)
        ax.plot(xs, stats.norm.pdf(xs, mode, sd), "C1--", lw=1.5, label=f"Laplace: {mode:.4f} ± {sd:.4f}")
        mle, err = fit.mle.values[i], fit.mle.errors[i]
        ax.errorbar([mle], [0.05 * ax.get_ylim()[1]], xerr=[err], fmt="s", color="C3", capsize=4,
                    label=f"MLE ± HESSE: {mle:.4f} ± {err:.4f}")
        if "truth" in self.meta:
            ax.axvline(self.meta["truth"]["rho"], color="C2", lw=2, label=rf"true $\rho$ = {self.meta['truth']['rho']:g}")
        ax.set_xlabel(r"$\rho = M_0/\Gamma$")
        ax.set_ylabel(r"posterior density $p(\rho\,|\,x)$")
        ax.set_title(f"RelBW shape posterior, {self.n_data} events, prior: {self.meta['prior']}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return {"relbw_rho": fig}


def check_positive(values, source):
    """Raise :class:`InputError` if any value is ≤ 0 (outside the RelBW support)."""
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        raise InputError(f"{source}: {bad.size} value(s) ≤ 0, outside the Breit–Wigner support x > 0 "
                         f"(entry {bad[0] + 1} is {values[bad[0]]:g})")


def add_arguments(parser):
    """Add this model's options to its subcommand parser."""
    parser.add_argument("--flat-prior", action="store_true",
                        help="uniform prior on rho in [0.05, 50] instead of LogNormal(0, 0.7): MAP = MLE")
    parser.add_argument("--fit-scale", action="store_true",
                        help="also fit the scale (Gamma) instead of fixing it to 1")
    parser.add_argument("--data", metavar="FILE",
                        help="positive values, .txt/.csv/.npy (default: the seed's 400 draws of RelBW(2))")
    parser.add_argument("--column", default="M", help="CSV column with the values (default: M)")


def build(args):
    """Return the :class:`RhoPosterior` problem for the command-line arguments."""
    if args.data is None:
        return RhoPosterior(seed_data(), flat_prior=args.flat_prior, fit_scale=args.fit_scale)
    values, dropped = read_masses(args.data, column=args.column)
    check_positive(values, args.data)
    if values.size < 2 + args.fit_scale:
        raise InputError(f"{args.data}: {values.size} value(s) are too few for a fit")
    problem = RhoPosterior(values, flat_prior=args.flat_prior, fit_scale=args.fit_scale,
                           source=str(args.data), truth=None)
    problem.meta["notes"] = [f"{args.data}: dropped {dropped} NaN/inf value(s)"] if dropped else []
    return problem
