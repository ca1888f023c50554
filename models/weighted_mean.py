"""Weighted mean of uncorrelated Gaussian measurements.

The lecture's example: three resistance measurements R = (0.5, 0.2, 0.3) Ω with
σ = (0.25, 0.1, 0.1) Ω. Each xᵢ ~ Normal(x̂, σᵢ), so

    −ln L(x̂) = Σ (xᵢ − x̂)² / (2σᵢ²) + const,    χ² = Σ (xᵢ − x̂)² / σᵢ² = 2(−ln L) + const,

with the closed form x̂ = ⟨x⟩/⟨1⟩ and σ(x̂) = 1/√⟨1⟩, where ⟨q⟩ = Σ qᵢ/σᵢ². (The lecture
writes the χ² with a factor ½: that expression is −ln L, not χ².) The prior on x̂ is flat
over a range 20 σ_max beyond the data on each side, so the posterior is the likelihood.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
from scipy import stats

from bayesfit.io import check_enough, check_sigma, read_columns
from bayesfit.problem import Parameter, Problem

COMMAND = "weighted-mean"
HELP = "weighted mean of measurements x ± σ (the lecture's resistance example)"

#: The lecture's measurements, in Ω.
R = np.array([0.5, 0.2, 0.3])
SIGMA = np.array([0.25, 0.1, 0.1])


def closed_form(x, sigma):
    """Return the weighted mean, its error and the χ² (the lecture's formulas).

    Parameters
    ----------
    x, sigma : array_like
        Measurements and their uncertainties.

    Returns
    -------
    mean, error, chi2 : float
    """
    w = 1.0 / np.asarray(sigma) ** 2
    mean = np.sum(w * x) / np.sum(w)
    return mean, 1.0 / np.sqrt(np.sum(w)), float(np.sum(w * (x - mean) ** 2))


class WeightedMean(Problem):
    """Weighted-mean fit of measurements ``x`` with uncertainties ``sigma``."""

    def __init__(self, x, sigma, *, unit="Ω", source="lecture"):
        self.x = np.asarray(x, dtype=float)
        self.sigma = np.asarray(sigma, dtype=float)
        pad = 20 * self.sigma.max()
        lo, hi = self.x.min() - pad, self.x.max() + pad
        start = float(np.median(self.x))
        super().__init__(
            name="weighted_mean",
            params=(Parameter("mean", start, lo, hi, label=r"$\hat{x}$", unit=unit,
                              limit=False),),
            n_data=self.x.size,
            meta={"source": source, "unit": unit},
        )

    def nll(self, values):
        """Return −ln L from scipy's normal density."""
        return -float(np.sum(stats.norm.logpdf(self.x, values[0], self.sigma)))

    def pymc_model(self):
        """Return the PyMC model: flat prior on the mean, Normal measurements."""
        (p,) = self.params
        with pm.Model() as model:
            mean = pm.Uniform("mean", p.lower, p.upper)
            pm.Normal("x", mu=mean, sigma=self.sigma, observed=self.x)
        return model

    def gof(self, values):
        """Return χ² = Σ (xᵢ − x̂)²/σᵢ² with N − 1 degrees of freedom."""
        chi2 = float(np.sum(((self.x - values[0]) / self.sigma) ** 2))
        ndf = self.n_data - 1
        return {"chi2": chi2, "ndf": ndf, "p_value": float(stats.chi2.sf(chi2, ndf))}

    def plots(self, fit):
        """Return the measurements with error bars and the combined value ± 1σ band."""
        import matplotlib.pyplot as plt

        mean, err = fit.mle.values[0], fit.mle.errors[0]
        idx = np.arange(1, self.n_data + 1)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.axhspan(mean - err, mean + err, color="C1", alpha=0.3,
                   label=rf"weighted mean {mean:.4g} ± {err:.2g} {self.meta['unit']}")
        ax.axhline(mean, color="C1")
        if fit.idata is not None:
            post = fit.comparison["mean"]["posterior"]
            ax.errorbar([idx[-1] + 0.6], [post["mean"]], yerr=[post["sd"]], fmt="s", color="C2",
                        capsize=4, label="NUTS posterior mean ± sd")
        ax.errorbar(idx, self.x, yerr=self.sigma, fmt="ko", capsize=4, label="measurements")
        ax.set_xticks(idx)
        ax.set_xlabel("measurement")
        ax.set_ylabel(f"value [{self.meta['unit']}]")
        chi2 = fit.gof
        ax.set_title(f"χ²/ndf = {chi2['chi2']:.3f}/{chi2['ndf']}, p = {chi2['p_value']:.3f}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return {"weighted_mean": fig}


def add_arguments(parser):
    """Add this model's options to its subcommand parser."""
    parser.add_argument("--data", metavar="FILE",
                        help="CSV file with columns x,sigma (default: the lecture's resistances)")
    parser.add_argument("--unit", default="Ω", help="unit of the measurements, for labels (default: Ω)")


def build(args):
    """Return the :class:`WeightedMean` problem for the command-line arguments."""
    if args.data is None:
        return WeightedMean(R, SIGMA, unit=args.unit)
    cols = read_columns(args.data, ("x", "sigma"))
    check_sigma(cols["sigma"], args.data)
    check_enough(cols["x"].size, 1, args.data)
    return WeightedMean(cols["x"], cols["sigma"], unit=args.unit, source=str(args.data))
