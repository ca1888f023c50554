"""Straight-line calibration x = a·v + b (the lecture's voltmeter).

Reference voltages v = (0, 1, 2, 5) V are read as x = (0.09, 1.05, 1.72, 4.15) V, each with
σ = 0.1 V. With xᵢ ~ Normal(a·vᵢ + b, σᵢ),

    χ²(a, b) = Σ (xᵢ − a·vᵢ − b)² / σᵢ² = 2(−ln L) + const,

which is quadratic in (a, b): the MLE, its covariance C and the Laplace approximation are
exact. The error band of the calibration line is σ²(x(v)) = T(v) C Tᵀ(v) with the transport
matrix T(v) = (v, 1). With ``--shift`` the model is x = a·(v − v0) + b with v0 = ⟨v⟩/⟨1⟩
(⟨q⟩ = Σ qᵢ/σᵢ²), which makes a and b uncorrelated. Priors are flat over ±50 standard errors
of the least-squares solution, so the posterior is the likelihood.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
from scipy import stats

from bayesfit.io import InputError, check_enough, check_sigma, read_columns
from bayesfit.problem import Parameter, Problem

COMMAND = "line"
HELP = "straight-line fit x = a·v + b with errors σ (the lecture's voltmeter calibration)"

#: The lecture's calibration data, in V.
V = np.array([0.0, 1.0, 2.0, 5.0])
X = np.array([0.09, 1.05, 1.72, 4.15])
SIGMA = np.full(4, 0.1)


def closed_form(v, x, sigma, v0=0.0):
    """Return the weighted least-squares line and its covariance (normal equations).

    Parameters
    ----------
    v, x, sigma : array_like
        Abscissae, measurements, uncertainties.
    v0 : float
        Pivot: the model is x = a·(v − v0) + b.

    Returns
    -------
    params : numpy.ndarray
        (a, b).
    cov : numpy.ndarray
        2×2 covariance.
    chi2 : float
    """
    T = np.column_stack([np.asarray(v) - v0, np.ones_like(v)])
    w = 1.0 / np.asarray(sigma) ** 2
    cov = np.linalg.inv(T.T @ (w[:, None] * T))
    params = cov @ (T.T @ (w * x))
    chi2 = float(np.sum(w * (x - T @ params) ** 2))
    return params, cov, chi2


def band(v, cov, v0=0.0):
    """Return σ(x(v)) = √(T(v) C Tᵀ(v)) with the transport matrix T(v) = (v − v0, 1).

    Parameters
    ----------
    v : array_like
        Where to evaluate.
    cov : array_like
        2×2 covariance of (a, b).
    v0 : float
        Pivot of the model.

    Returns
    -------
    numpy.ndarray
    """
    T = np.column_stack([np.asarray(v, dtype=float) - v0, np.ones(np.size(v))])
    return np.sqrt(np.einsum("ij,jk,ik->i", T, cov, T))


class LineFit(Problem):
    """Straight-line fit x = a·(v − v0) + b of measurements ``x ± sigma`` at ``v``."""

    def __init__(self, v, x, sigma, *, shift=False, source="lecture", unit="V"):
        self.v, self.x, self.sigma = (np.asarray(a, dtype=float) for a in (v, x, sigma))
        w = 1.0 / self.sigma**2
        self.v0 = float(np.sum(w * self.v) / np.sum(w)) if shift else 0.0
        ls, cov, _ = closed_form(self.v, self.x, self.sigma, self.v0)
        err = np.sqrt(np.diag(cov))
        # Start away from the answer: the slope and intercept through the outermost points.
        i, j = np.argmin(self.v), np.argmax(self.v)
        a0 = (self.x[j] - self.x[i]) / (self.v[j] - self.v[i])
        b0 = self.x[i] - a0 * (self.v[i] - self.v0)
        lo, hi = ls - 50 * err, ls + 50 * err
        a0, b0 = np.clip([a0, b0], lo + err, hi - err)
        super().__init__(
            name="line_fit",
            params=(
                Parameter("a", float(a0), float(lo[0]), float(hi[0]), label="$a$", limit=False),
                Parameter("b", float(b0), float(lo[1]), float(hi[1]),
                          label="$b'$" if shift else "$b$", unit=unit, limit=False),
            ),
            n_data=self.v.size,
            meta={"source": source, "model": "x = a*(v - v0) + b", "v0": self.v0, "unit": unit},
        )

    def nll(self, values):
        """Return −ln L from scipy's normal density."""
        a, b = values
        return -float(np.sum(stats.norm.logpdf(self.x, a * (self.v - self.v0) + b, self.sigma)))

    def pymc_model(self):
        """Return the PyMC model: flat priors on a and b, Normal measurements."""
        pa, pb = self.params
        with pm.Model() as model:
            a = pm.Uniform("a", pa.lower, pa.upper)
            b = pm.Uniform("b", pb.lower, pb.upper)
            pm.Normal("x", mu=a * (self.v - self.v0) + b, sigma=self.sigma, observed=self.x)
        return model

    def gof(self, values):
        """Return χ² with N − 2 degrees of freedom."""
        a, b = values
        chi2 = float(np.sum(((self.x - a * (self.v - self.v0) - b) / self.sigma) ** 2))
        ndf = self.n_data - 2
        return {"chi2": chi2, "ndf": ndf, "p_value": float(stats.chi2.sf(chi2, ndf))}

    def plots(self, fit):
        """Return the data with the fitted line, its 1σ band and the posterior band."""
        import matplotlib.pyplot as plt

        unit = self.meta["unit"]
        span = self.v.max() - self.v.min()
        grid = np.linspace(self.v.min() - 0.05 * span, self.v.max() + 0.05 * span, 200)
        a, b = fit.mle.values
        line = a * (grid - self.v0) + b
        sig = band(grid, fit.mle.covariance, self.v0)
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        ax.fill_between(grid, line - sig, line + sig, color="C1", alpha=0.35,
                        label=r"MLE ±1σ, $T(v)\,C\,T^\mathsf{T}(v)$")
        arg = f"(v − {self.v0:.4g})" if self.v0 else "v"
        ax.plot(grid, line, color="C1", label=f"MLE: x = {a:.4f}·{arg} + {b:.4f}")
        if fit.idata is not None:
            pa = fit.idata.posterior["a"].values.ravel()
            pb = fit.idata.posterior["b"].values.ravel()
            lines = pa[:, None] * (grid - self.v0) + pb[:, None]
            lo, hi = np.quantile(lines, [0.158655, 0.841345], axis=0)
            ax.plot(grid, lo, "k--", lw=1, label="posterior 68 % band of the line (NUTS)")
            ax.plot(grid, hi, "k--", lw=1)
        ax.errorbar(self.v, self.x, yerr=self.sigma, fmt="ko", capsize=3, label="measurements")
        ax.set_xlabel(f"reference v [{unit}]")
        ax.set_ylabel(f"measured x [{unit}]")
        g = fit.gof
        ax.set_title(f"χ²/ndf = {g['chi2']:.3f}/{g['ndf']}, p = {g['p_value']:.3f}")
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        return {"line_fit": fig}


def add_arguments(parser):
    """Add this model's options to its subcommand parser."""
    parser.add_argument("--data", metavar="FILE",
                        help="CSV file with columns v,x,sigma (default: the lecture's calibration)")
    parser.add_argument("--shift", action="store_true",
                        help="fit x = a·(v − v0) + b with v0 = ⟨v⟩/⟨1⟩, which decorrelates a and b")
    parser.add_argument("--unit", default="V", help="unit of v and x, for labels (default: V)")


def build(args):
    """Return the :class:`LineFit` problem for the command-line arguments."""
    if args.data is None:
        return LineFit(V, X, SIGMA, shift=args.shift, unit=args.unit)
    cols = read_columns(args.data, ("v", "x", "sigma"))
    check_sigma(cols["sigma"], args.data)
    check_enough(cols["v"].size, 2, args.data)
    if np.ptp(cols["v"]) == 0:
        raise InputError(f"{args.data}: all v values are equal; a line needs at least two distinct v")
    return LineFit(cols["v"], cols["x"], cols["sigma"], shift=args.shift, unit=args.unit,
                   source=str(args.data))
