"""Write the notebooks beside this file from the cell lists below (run after editing).

Keeping the sources here lets a reviewer diff the notebooks as plain Python; the test suite
executes the written ``.ipynb`` files.
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

SETUP = '''import os
import arviz as az
import matplotlib.pyplot as plt
import numpy as np

from bayesfit.engine import run_fits
from bayesfit.report import format_table

# The test suite sets BAYESFIT_QUICK=1 to run short chains.
QUICK = os.environ.get("BAYESFIT_QUICK") == "1"
NUTS = dict(draws=300, tune=300, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
NUTS.update(seed=1, progressbar=False, log=lambda msg: None)'''


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c)
                for c in cells]
    return nb


NOTEBOOKS = {}

NOTEBOOKS["01_weighted_mean.ipynb"] = [
    """md:# Weighted mean of measurements, three ways

Three measurements of a small resistance (the lecture's example):

| i | 1 | 2 | 3 |
|---|---|---|---|
| $R_i$ [Ω] | 0.5 | 0.2 | 0.3 |
| $\\sigma_i$ [Ω] | 0.25 | 0.1 | 0.1 |

Each measurement is Gaussian around the true value $\\hat x$:
$P(x_i\\mid\\hat x) = \\mathcal N(x_i;\\hat x,\\sigma_i)$. The negative log-likelihood is

$$-\\ln L(\\hat x) = \\sum_i \\frac{(x_i-\\hat x)^2}{2\\sigma_i^2} + \\text{const},\\qquad
\\chi^2 = \\sum_i \\frac{(x_i-\\hat x)^2}{\\sigma_i^2} = 2(-\\ln L) + \\text{const}.$$

(The lecture calls the first sum χ²; it is $-\\ln L$. The χ² has no factor ½.)
Setting the derivative to zero gives, with $\\langle q\\rangle = \\sum_i q_i/\\sigma_i^2$,

$$\\hat x = \\frac{\\langle x\\rangle}{\\langle 1\\rangle} = \\frac{58}{216} = 0.268519\\ \\Omega,\\qquad
\\sigma(\\hat x) = \\frac{1}{\\sqrt{\\langle 1\\rangle}} = 0.068041\\ \\Omega.$$""",
    SETUP,
    "from models.weighted_mean import R, SIGMA, WeightedMean, closed_form\n\nclosed_form(R, SIGMA)",
    """md:## The three fits

1. **Maximum likelihood** with iminuit, from scipy's normal density (independent of PyMC);
2. **MAP + Laplace** from the PyMC model with a flat prior: the mode and the inverse Hessian
   of $-\\ln p$ there, by automatic differentiation;
3. **NUTS** from the same PyMC model.""",
    "fit = run_fits(WeightedMean(R, SIGMA), sample=True, **NUTS)\nprint(format_table(fit))",
    """md:For this linear Gaussian model everything agrees: the MAP is the MLE, the Laplace σ is
the HESSE σ exactly, and the posterior is the Gaussian $\\mathcal N(\\hat x, \\sigma(\\hat x))$
up to Monte-Carlo error. The goodness of fit: χ² = 1.4259 for 2 degrees of freedom.""",
    "fit.gof",
    "md:## ArviZ summary of the posterior",
    "az.summary(fit.idata, hdi_prob=0.6827)",
    "figs = fit.problem.plots(fit)\nfigs['weighted_mean']",
    "from bayesfit.plots import plot_marginals\n\nplot_marginals(fit.problem.params, fit.mle, fit.idata)",
]

NOTEBOOKS["02_line_fit.ipynb"] = [
    """md:# Straight-line calibration, three ways

A voltmeter is calibrated with reference voltages $v$; the readings are $x$, each with
$\\sigma = 0.1$ V:

| $v$ [V] | 0 | 1 | 2 | 5 |
|---|---|---|---|---|
| $x$ [V] | 0.09 | 1.05 | 1.72 | 4.15 |

Model $x = a\\,v + b$, so $\\chi^2(a,b) = \\sum_i (x_i - a v_i - b)^2/\\sigma_i^2 = 2(-\\ln L)+$const.
The normal equations in the lecture's notation $\\langle q\\rangle=\\sum_i q_i/\\sigma_i^2$ give

$$\\begin{pmatrix}\\langle v^2\\rangle & \\langle v\\rangle\\\\ \\langle v\\rangle & \\langle 1\\rangle\\end{pmatrix}
\\begin{pmatrix}a\\\\ b\\end{pmatrix} = \\begin{pmatrix}\\langle xv\\rangle\\\\ \\langle x\\rangle\\end{pmatrix},\\qquad
C = \\begin{pmatrix}\\langle v^2\\rangle & \\langle v\\rangle\\\\ \\langle v\\rangle & \\langle 1\\rangle\\end{pmatrix}^{-1}.$$

Expected: $a = 0.80143 \\pm 0.026726$, $b = 0.149643 \\pm 0.073193$, $\\rho(a,b) = -0.7303$,
χ² = 1.444 for 2 degrees of freedom. The error of the line at $v$ is
$\\sigma^2(x(v)) = T(v)\\,C\\,T^\\mathsf{T}(v)$ with the transport matrix $T(v) = (v, 1)$.""",
    SETUP,
    "from models.line_fit import SIGMA, V, X, LineFit, closed_form\n\nclosed_form(V, X, SIGMA)",
    "fit = run_fits(LineFit(V, X, SIGMA), sample=True, **NUTS)\nprint(format_table(fit))\nfit.mle.correlation",
    """md:The posterior band of the line (dashed, 68 % of the NUTS lines at each $v$) lies on the
transported HESSE band: for a linear Gaussian model they are the same thing.""",
    "fit.problem.plots(fit)['line_fit']",
    "from bayesfit.plots import plot_pairs\n\nplot_pairs(fit.problem.params, fit.mle, fit.map, fit.idata)",
    """md:## Decorrelating: the shifted model

With $x = a\\,(v - v_0) + b'$ and $v_0 = \\langle v\\rangle/\\langle 1\\rangle = 2$ V, the
off-diagonal of $C^{-1}$ vanishes: $b' = 1.7525 \\pm 0.05$ and $\\rho(a, b') = 0$.""",
    "shifted = run_fits(LineFit(V, X, SIGMA, shift=True), sample=True, **NUTS)\nprint(format_table(shifted))\nshifted.mle.correlation.round(6)",
    "az.summary(shifted.idata, hdi_prob=0.6827)",
]


NOTEBOOKS["04_dimuon.ipynb"] = [
    """md:# Di-muon invariant mass: Crystal Ball + exponential, three ways

The Belle II $e^+e^-\\to\\mu^+\\mu^-$ fit. In the window $[m_\\mathrm{lo}, m_\\mathrm{hi}] = [10.2, 10.8]$ GeV/$c^2$
the density of the di-muon mass $m$ is a mixture

$$p(m) = f_\\mathrm{sig}\\,\\frac{\\mathrm{CB}(m\\mid\\mu,\\sigma,\\alpha,n)}{\\int_{m_\\mathrm{lo}}^{m_\\mathrm{hi}}\\mathrm{CB}}
+ (1-f_\\mathrm{sig})\\,\\frac{e^{s(m-m_0)}}{\\int_{m_\\mathrm{lo}}^{m_\\mathrm{hi}} e^{s(m-m_0)}},$$

with the Crystal Ball, $t = (m-\\mu)/\\sigma$,

$$\\mathrm{CB}(t) \\propto \\begin{cases} e^{-t^2/2} & t > -\\alpha \\\\
e^{-\\alpha^2/2}\\left(1 - \\frac{\\alpha(\\alpha+t)}{n}\\right)^{-n} & t \\le -\\alpha \\end{cases}$$

a Gaussian core with a power-law tail on the **low-mass** side (initial-state radiation).
Both window integrals are closed-form (the CB's cdf is in `bayesfit.distributions.crystalball`).
The unbinned likelihood is $\\ln L = \\sum_i \\ln p(m_i)$; priors are flat within the seed's bounds,
so the posterior mode is the MLE.""",
    SETUP + "\nN_EVENTS = 5_000 if QUICK else 100_000",
    """from models.dimuon import NAMES, START, Dimuon, simulate

truth = [START[k] for k in NAMES]
data = simulate(N_EVENTS, truth, rng=1234)
problem = Dimuon(data, source=f"simulated, {N_EVENTS:,} events")
problem.n_data""",
    """md:## Maximum likelihood (iminuit), MAP + Laplace, NUTS

The maximum-likelihood fit uses scipy's `crystalball`, an implementation independent of the PyMC graph.""",
    "fit = run_fits(problem, sample=True, **NUTS)\nprint(format_table(fit))",
    """md:The MAP sits on the MLE and the Laplace errors equal the HESSE errors: the same likelihood,
written twice, optimised by two different codes. NUTS differs where the likelihood is not
Gaussian: the tail exponent $n$ has a long upper tail (MINOS is asymmetric), so its posterior
mean lies above the MLE, and the flat prior's upper bound at $n = 20$ matters.""",
    "fit.gof",
    "az.summary(fit.idata, hdi_prob=0.6827)",
    "fit.problem.plots(fit)['dimuon_fit']",
    "from bayesfit.plots import plot_marginals, plot_pairs\n\nplot_marginals(problem.params, fit.mle, fit.idata)",
    "plot_pairs(problem.params, fit.mle, fit.map, fit.idata)",
    """md:## Real data: the CMS Υ(1S) peak

CMS 2011 open data (CC0; DOI 10.7483/OPENDATA.CMS.RZ34.QR6N), shipped with bayesfit. In a window
other than the seed's, start values and bounds are derived from the histogram (peak, width,
background slope).""",
    """from bayesfit.data import example_path
from bayesfit.io import read_masses
from models.dimuon import derive_start

masses, _ = read_masses(example_path("upsilon"))
window = (9.0, 9.7)
start, bounds = derive_start(masses, window, 100)
upsilon = Dimuon(masses, window=window, start=start, bounds=bounds, source="CMS 2011, Υ(1S)")
ups_fit = run_fits(upsilon, **NUTS)
print(format_table(ups_fit))
ups_fit.gof""",
    "upsilon.plots(ups_fit)['dimuon_fit']",
]


def main():
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbf.write(notebook(cells), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
