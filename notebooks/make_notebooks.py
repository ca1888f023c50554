"""Write the notebooks beside this file from the cell lists below (run after editing).

    python notebooks/make_notebooks.py            # write the notebooks without outputs
    python notebooks/make_notebooks.py --execute  # write them executed, figures inline

The notebooks are committed executed, so that they show their results on a code-hosting site.
Keeping the sources here lets a reviewer diff them as plain Python. The test suite checks
that each committed notebook holds exactly these cells, executed top to bottom without error,
and executes it again (short chains): the cells tagged ``check-output`` (closed forms and
maximum-likelihood fits, which do not depend on the chain length) must print what they
printed when the notebook was committed.
"""

import argparse
import sys
import time
from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

SETUP = '''import os
import warnings

# PyTensor installed from PyPI finds no BLAS to link; these models do not need one
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

import arviz as az
import matplotlib.pyplot as plt
import numpy as np

import bayesfit as bf

# The test suite sets BAYESFIT_QUICK=1 to run short chains.
QUICK = os.environ.get("BAYESFIT_QUICK") == "1"
NUTS = dict(draws=300, tune=300, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
NUTS.update(seed=1, progressbar=False, log=None)


def show(fig):
    """Display a figure once: close every open figure so that Jupyter does not draw it again."""
    plt.close("all")
    return fig'''


#: Prefix of a code cell whose printed output must not change between runs (see the docstring).
CHECK = "check:"

#: Tag of such cells in the written notebook.
CHECK_TAG = "check-output"


def _cell(text):
    if text.startswith("md:"):
        return nbf.v4.new_markdown_cell(text[3:])
    if text.startswith(CHECK):
        return nbf.v4.new_code_cell(text[len(CHECK):], metadata={"tags": [CHECK_TAG]})
    return nbf.v4.new_code_cell(text)


def notebook(cells):
    """Return the notebook of a cell list, without outputs."""
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [_cell(c) for c in cells]
    return nb


def execute(nb, folder, *, quick=False, timeout=900):
    """Execute ``nb`` in place in ``folder`` (``quick``: the short chains the tests use)."""
    import os

    from nbclient import NotebookClient

    # the inline backend, as in Jupyter, so that the figures are kept as PNG outputs
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "BAYESFIT_QUICK": "1" if quick else "0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
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
    "check:from bayesfit.models.weighted_mean_model import R, SIGMA, closed_form\n\nclosed_form(R, SIGMA)",
    """md:## The three fits

1. **Maximum likelihood** with iminuit, from scipy's normal density (independent of PyMC);
2. **MAP + Laplace** from the PyMC model with a flat prior: the mode and the inverse Hessian
   of $-\\ln p$ there, by automatic differentiation;
3. **NUTS** from the same PyMC model.""",
    """md:The model is declared in a few lines (`bayesfit/models/weighted_mean_model.py`): one
parameter and the constant curve $f = \\hat x$, fitted as least squares with Gaussian errors.""",
    "model = bf.models.weighted_mean()\nfit = bf.fit(model, {\"x\": R, \"sigma\": SIGMA}, sample=True, **NUTS)\nfit",
    """md:For this linear Gaussian model everything agrees: the MAP is the MLE, the Laplace σ is
the HESSE σ exactly, and the posterior is the Gaussian $\\mathcal N(\\hat x, \\sigma(\\hat x))$
up to Monte-Carlo error. The goodness of fit: χ² = 1.4259 for 2 degrees of freedom.""",
    "check:fit.gof",
    "md:## ArviZ summary of the posterior",
    "az.summary(fit.idata, hdi_prob=0.6827)",
    "show(fit.problem.plots(fit)['weighted_mean'])",
    "from bayesfit.output.plots import plot_marginals\n\nshow(plot_marginals(fit.problem.params, fit.mle, fit.idata))",
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
    "check:from bayesfit.models.line_fit_model import SIGMA, V, X, closed_form\n\nclosed_form(V, X, SIGMA)",
    "fit = bf.fit(bf.models.line_fit(), {\"v\": V, \"x\": X, \"sigma\": SIGMA}, sample=True, **NUTS)\nprint(fit)\nfit.mle.correlation",
    """md:The posterior band of the line (dashed, 68 % of the NUTS lines at each $v$) lies on the
transported HESSE band: for a linear Gaussian model they are the same thing.""",
    "show(fit.problem.plots(fit)['line_fit'])",
    "from bayesfit.output.plots import plot_pairs, plot_profiles\n\nshow(plot_pairs(fit.problem.params, fit.mle, fit.map, fit.idata))",
    """md:The profile likelihood of each parameter is the HESSE parabola (the model is linear), and
the marginal posterior follows it: for this model all three answers are the same.""",
    "show(plot_profiles(fit.problem.params, fit.mle, fit.idata))",
    """md:## Decorrelating: the shifted model

With $x = a\\,(v - v_0) + b'$ and $v_0 = \\langle v\\rangle/\\langle 1\\rangle = 2$ V, the
off-diagonal of $C^{-1}$ vanishes: $b' = 1.7525 \\pm 0.05$ and $\\rho(a, b') = 0$.""",
    "shifted = bf.fit(bf.models.line_fit(shift=True), (V, X, SIGMA), sample=True, **NUTS)\nprint(shifted)\nshifted.mle.correlation.round(6)",
    "az.summary(shifted.idata, hdi_prob=0.6827)",
]


NOTEBOOKS["03_relbw.ipynb"] = [
    """md:# The relativistic Breit–Wigner: ρ posterior and the Z boson line shape

## The distribution

Standardised on $x \\ge 0$ with shape $\\rho>0$ (scipy's `rel_breitwigner` with loc = 0):

$$f(x\\mid\\rho) = \\frac{k(\\rho)}{(x^2-\\rho^2)^2+\\rho^2},\\qquad
k(\\rho) = \\frac{2\\sqrt2\\,\\rho^2\\sqrt{\\rho^2+1}}{\\pi\\sqrt{\\rho^2+\\rho\\sqrt{\\rho^2+1}}}.$$

A resonance of mass $M_0$ and width $\\Gamma$ has $\\rho = M_0/\\Gamma$ and scale $\\Gamma$.
The cdf has a real closed form (partial fractions of the quartic denominator): with
$s=\\sqrt{1+\\rho^{-2}}$, $A=\\rho^2 s$, $p=\\rho\\sqrt{2(s+1)}$, $q=\\sqrt{2/(1+s)}$,

$$F(x) = \\frac1\\pi\\left[\\operatorname{atan2}\\!\\left(xq,\\ A-x^2\\right)
+ \\frac{q}{2p}\\,\\ln\\frac{x^2+px+A}{x^2-px+A}\\right].$$

The tail falls like $x^{-4}$: the mean and $E[X^2]=\\rho\\sqrt{\\rho^2+1}$ exist, higher moments diverge.""",
    SETUP,
    """import pytensor.tensor as pt
from scipy import integrate, stats

from bayesfit.distributions import relbw

fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
x = np.linspace(0, 10, 800)
for rho in (0.5, 1.0, 2.0, 5.0):
    a1.plot(x, np.exp(relbw.logpdf(x, rho).eval()), label=f"ρ = {rho}")
    a2.plot(x[1:], np.exp(relbw.logcdf(x[1:], rho).eval()))
a1.set(xlabel="x", ylabel="pdf"); a2.set(xlabel="x", ylabel="cdf"); a1.legend()
show(fig)""",
    """md:Moments by numerical integration against the closed forms, and the large-ρ Cauchy limit
(half width ½ around the mode):""",
    """check:for rho in (0.2, 1.0, 3.5):
    m1 = integrate.quad(lambda t: t * stats.rel_breitwigner.pdf(t, rho), 0, np.inf, limit=400)[0]
    print(f"rho={rho}: E[X] {m1:.6f} vs {relbw.mean(rho):.6f};  E[X^2] closed form {relbw.second_moment(rho):.4f}")
rho = 10.0
xs = np.linspace(rho - 3, rho + 3, 7)
np.c_[xs, np.exp(relbw.logpdf(xs, rho).eval()), stats.cauchy.pdf(xs, loc=rho, scale=0.5)]""",
    """md:## The ρ posterior, three ways (and a grid)

Data: 400 draws of RelBW(ρ = 2) with `default_rng(7)`; prior $\\rho\\sim\\mathrm{LogNormal}(0, 0.7)$.
With an informative prior the MAP is not the MLE; the grid posterior (scipy only) checks both.""",
    """from bayesfit.models.relbw_model import seed_data

rho_fit = bf.fit(bf.models.relbw(), seed_data(), sample=True, **NUTS)
print(rho_fit)
rho_fit.problem.meta["grid_posterior"]""",
    "show(rho_fit.problem.plots(rho_fit)['relbw_rho'])",
    """flat = bf.fit(bf.models.relbw(flat_prior=True), seed_data(), **NUTS)
print("flat prior: MAP - MLE =", (flat["rho"].map - flat["rho"].mle) / flat["rho"].hesse, "HESSE sigma")""",
    """md:## The Z boson from CMS data

10,851 di-muon masses (CMS 2011 open data, CC0). Model: RelBW$(M_0,\\Gamma)$ convolved with a
Gaussian resolution $\\sigma_\\mathrm{res}$ (Gauss–Hermite, 32 nodes), plus an exponential
background, normalised over 60–120 GeV.

**What the data can and cannot separate.** The mass is sharp. $\\Gamma$ and $\\sigma_\\mathrm{res}$
both broaden the peak, so they are strongly anti-correlated: the data fix a combined core width,
and only the Breit–Wigner's power-law wings (broader than the Gaussian's) separate the two.
Final-state radiation adds a low-mass tail the model does not have; it is absorbed into a larger
$\\Gamma$ and a lower $M_0$ than PDG ($M_Z$ = 91.1876 GeV, $\\Gamma_Z$ = 2.4952 GeV), a known limit of
this simple line shape.""",
    """from bayesfit.data import example_path
from bayesfit.core.io import read_masses

masses, _ = read_masses(example_path("zmumu"))
z_model = bf.models.zpeak()
z_model""",
    """z_fit = bf.fit(z_model, masses[:3000] if QUICK else masses, **NUTS)
print(z_fit)
np.round(z_fit.mle.correlation, 3)""",
    "show(z_fit.problem.plots(z_fit)['zpeak_fit'])",
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
    SETUP + "\nN_EVENTS = 5_000 if QUICK else 20_000",
    """from bayesfit.models.dimuon_model import TRUTH

model = bf.models.dimuon()   # Crystal Ball + exponential with a fraction: see dimuon_model.py
data = model.simulate(TRUTH, N_EVENTS, rng=1234)
model""",
    """md:## Maximum likelihood (iminuit), MAP + Laplace, NUTS

The maximum-likelihood fit uses its own implementation of the likelihood, independent of the
PyMC graph: a compiled one-pass sum over the events (`bayesfit.modeling.kernels`), checked against
scipy's `crystalball` in the tests. The MAP + Laplace fit differentiates the PyMC graph twice.
NUTS samples the same posterior with two speed-ups that change nothing but the cost: the
likelihood and its gradient come from one compiled pass over the events, and $n$ is sampled
in complementary log-log coordinates (`bayesfit.modeling.transforms`), in which its lopsided posterior
is nearly symmetric.""",
    "fit = bf.fit(model, data, binned=False, sample=True, meta={\"source\": f\"simulated, {N_EVENTS:,} events\"}, **NUTS)\nfit",
    """md:The MAP sits on the MLE and the Laplace errors equal the HESSE errors: the same likelihood,
written twice, optimised by two different codes. NUTS differs where the likelihood is not
Gaussian: the tail exponent $n$ has a long upper tail (MINOS is asymmetric), so its posterior
mean lies above the MLE, and the flat prior's upper bound at $n = 20$ matters.""",
    "fit.gof",
    "az.summary(fit.idata, hdi_prob=0.6827)",
    "show(fit.problem.plots(fit)['dimuon_fit'])",
    "from bayesfit.output.plots import plot_marginals, plot_pairs\n\nshow(plot_marginals(fit.problem.params, fit.mle, fit.idata))",
    "show(plot_pairs(fit.problem.params, fit.mle, fit.map, fit.idata, max_draws=1000))",
    """md:## Profile likelihood against marginal posterior

The frequentist answer for one parameter is its profile likelihood: the other parameters
refitted at each value (`Minuit.mnprofile`); MINOS reads the interval where −2Δln L = 1. The
Bayesian answer is the marginal posterior: the other parameters integrated out. Where the
likelihood is Gaussian the two coincide with the HESSE parabola; for the tail exponent $n$ they
part: the profile is asymmetric, and the marginal, integrating over the long $n$–α valley, is
wider still on the upper side.""",
    "from bayesfit.output.plots import plot_contours, plot_ppc, plot_profiles\n\nshow(plot_profiles(fit.problem.params, fit.mle, fit.idata))",
    """md:The same comparison in two dimensions, for the three most correlated pairs: the MINOS
contours (`Minuit.mncontour`, Δ(−2 ln L) = 2.30 and 5.99) over the posterior's 68 % and 95 %
highest-density regions, with the HESSE ellipse.""",
    "show(plot_contours(fit.problem.params, fit.mle, fit.idata))",
    """md:## Goodness of fit, both ways

The frequentist χ² at the MLE against the χ² distribution, and the posterior-predictive check:
for each posterior draw, a dataset replicated from the model and its χ² against the data's χ²
at that draw. The Bayesian p-value is the share of replicas that fit worse than the data.""",
    "from bayesfit.output.report import ppc_text\n\nprint(ppc_text(fit.ppc))\nshow(plot_ppc(fit.ppc, fit.gof, title=\"dimuon\"))",
    """md:## Real data: the CMS Υ(1S) peak

CMS 2011 open data (CC0; DOI 10.7483/OPENDATA.CMS.RZ34.QR6N), shipped with bayesfit. In a window
other than the seed's, start values and bounds are derived from the histogram (peak, width,
background slope): `bf.fit` applies the model's `guess` before fitting.""",
    """from bayesfit.data import example_path
from bayesfit.core.io import read_masses

masses, _ = read_masses(example_path("upsilon"))
ups_fit = bf.fit(bf.models.dimuon(window=(9.0, 9.7)), masses, meta={"source": "CMS 2011, Υ(1S)"}, **NUTS)
print(ups_fit)""",
    "check:ups_fit.gof",
    "show(ups_fit.problem.plots(ups_fit)['dimuon_fit'])",
]


NOTEBOOKS["05_toys_and_signal.ipynb"] = [
    """md:# Toys, coverage, calibration, and the signal test

An error bar is trusted once toys show that it covers; a signal is claimed with a p-value.
This notebook runs the three studies bayesfit has for that:

1. **toys** of the di-muon fit at the seed's values: pulls and the coverage of the HESSE, MINOS
   and Laplace intervals (`bf.toys`);
2. **simulation-based calibration** of the Bayesian fit (`bf.sbc`, Talts et al. 2018);
3. the relativistic Breit–Wigner seed's **signal test**, frequentist and Bayesian
   (`bf.signal_test`).

Toys run on Dask, by default on a local cluster of one worker process per core (it takes a few
seconds to start); `workers=1` fits in this process. Every toy's seed is spawned from the
study's, so any number of workers gives the same toys.""",
    SETUP + """
N_TOYS = 40 if QUICK else 200
N_SBC = 12 if QUICK else 60
N_NULL = 200 if QUICK else 2000""",
    """md:## Pulls and coverage of the di-muon fit at 2,000 events

The pull (MLE − truth)/σ_HESSE of a well-behaved parameter is a unit Gaussian and each ±1σ
interval covers 68.27 % of the toys. At 2,000 events the tail parameter $n$ is not
well-behaved: it often ends at its bound, its pulls are wide, its HESSE interval undercovers
while MINOS (which follows the asymmetric likelihood) does better.""",
    """model = bf.models.dimuon()
study = bf.toys(model, N_TOYS, 2000, seed=1, workers=1 if QUICK else None, progress=False)
study""",
    "show(study.plot_pulls())",
    "show(study.plot_coverage())",
    """md:The same study, turned into advice for one dataset: `bf.fit(..., check_coverage=N)` runs N toys
at the fitted point and says which intervals can be trusted at this sample size: "trusted" when
the coverage is measured within 5 % of 68.3 %, "undercovers"/"overcovers" when it is measured
outside, "undetermined" when N toys cannot tell (here few toys, to keep the notebook short;
use a few hundred).""",
    """data = model.simulate([10.575, 0.04, 1.5, 5.0, 3.0, 0.65], 2000, rng=7)
res = bf.fit(model, data, check_coverage=N_TOYS // 4, workers=1, seed=2, log=None)
from bayesfit.output.report import coverage_text

print(coverage_text(res.coverage))
res.coverage["warnings"]""",
    """md:## Simulation-based calibration

Parameters drawn from the prior, data from the model, NUTS, and the rank of the truth among 99
posterior draws: for a correct Bayesian fit the ranks are uniform. Here a Gaussian peak
(flat priors on its mean and width) with 200 events per dataset.""",
    """mu = bf.Parameter("mu", 0.0, -1.0, 1.0)
sigma = bf.Parameter("sigma", 1.0, 0.5, 2.0)
peak = bf.WindowModel((-8.0, 8.0), [bf.Gaussian(mu, sigma)], name="gaussian peak")
calibration = bf.sbc(peak, N_SBC, 200, seed=3, draws=200, tune=300, workers=1, progress=False)
calibration""",
    "show(calibration.plot())",
    """md:## Is there a signal? The seed's test, and the composite one

Background uniform on [0, 200], signal RelBW(ρ = 36.5, scale 2.5) with fraction 0.15, 400 events.
The seed's simple-vs-simple likelihood ratio is reproduced draw for draw (`default_rng(7)`):""",
    """check:from bayesfit.studies.discovery import plot_null, simple_vs_simple_test

simple = simple_vs_simple_test()
print(f"T_obs = {simple['t_obs']:.6f}; toys beyond it: {int((simple['t_null'] >= simple['t_obs']).sum())} "
      f"of {simple['t_null'].size}: p < {simple['p_bound_95']:.4f} at 95 % CL")""",
    """md:An analysis fits the signal fraction ($w \\ge 0$). Its $T$ then follows, without signal, Chernoff's
½χ²₁ + ½δ₀ (half the toys fit $\\hat w = 0$). The toys cannot reach $T_\\mathrm{obs}$, so they give a
bound; the asymptotic formula, checked against the toys where they reach, gives the number.
The Bayes factor of the same two hypotheses (prior $w \\sim U(0, 1)$) comes from quadrature
and, as a check that also works in more dimensions, from sequential Monte Carlo.""",
    """result = bf.signal_test(toys=N_NULL, smc_draws=1000 if QUICK else 2000)
print(f"w_hat = {result['w_hat']:.4f}, T_obs = {result['t_obs']:.2f}")
print(f"toys: p < {result['p_bound_95']:.2g} at 95 % CL;  asymptotic: p = {result['p_asymptotic']:.2g}, "
      f"Z = {result['z_asymptotic']:.2f}")
print(f"ln B10 = {result['ln_b10_quad']:.2f} (quadrature), {result['ln_b10_smc']:.2f} ± {result['ln_b10_smc_error']:.2f} (SMC)")
[(c["t"], round(c["toys"], 4), round(c["asymptotic"], 4)) for c in result["asymptotic_check"]]""",
    "show(plot_null(result))",
]


NOTEBOOKS["06_analyses.ipynb"] = [
    """md:# Analyses: several datasets, derived parameters, constraints

Three things a real analysis needs beyond one model on one dataset, each fitted three ways:

1. a **simultaneous fit**: the Z boson in CMS 2011 Z→μμ *and* Z→ee data, one mass $M_0$ and one
   width $\\Gamma$ shared by three categories, each with its own resolution and background;
2. **derived parameters**: three Υ peaks whose widths scale with the mass, $\\sigma_k = \\sigma\\,m_k/m_1$;
3. **constraints**: a calibration that measured a parameter elsewhere. A constraint is a prior:
   the MLE *profiles* it, NUTS *integrates* over it; a `prior=` is seen by the Bayesian fits only.""",
    SETUP,
    """md:## The Z in two channels

`bf.Simultaneous({"mumu": ..., "ee_barrel": ..., "ee_endcap": ...})` joins three window models that
share the `M0` and `Gamma` parameter objects (see `zcombined_model.py`). The electrons' masses
come from their $p_T$, $\\eta$, $\\phi$: $M^2 = 2\\,p_{T1}p_{T2}(\\cosh\\Delta\\eta - \\cos\\Delta\\phi)$.""",
    """from bayesfit.models.zcombined_model import PDG, PDG_ERRORS, default_data

model = bf.models.zcombined()
data, meta = default_data(model)
# (the test suite's quick run fits the maximum likelihood only here and below: it compiles for a minute)
z = bf.fit(model, data, meta=meta, minos=False, log=None, bayesian=not QUICK)
z""",
    """md:Beside the Z→μμ-only fit (`bf.models.zpeak()`, the same line shape; `bayesian=False` fits
the maximum likelihood only, which compiles nothing) and the world averages:""",
    """check:mumu = bf.fit(bf.models.zpeak(), data["mumu"], minos=False, log=None, bayesian=False)
print(f"{'':12}{'M0 [GeV]':>20}{'Gamma [GeV]':>20}")
print(f"{'PDG':12}{PDG['M0']:>12.4f} ± {PDG_ERRORS['M0']:.4f}{PDG['Gamma']:>12.4f} ± {PDG_ERRORS['Gamma']:.4f}")
for label, res in (("mu mu only", mumu), ("mu mu + e e", z)):
    print(f"{label:12}{res['M0'].mle:>12.4f} ± {res['M0'].hesse:.4f}{res['Gamma'].mle:>12.4f} ± {res['Gamma'].hesse:.4f}")""",
    """md:Both channels place the mass 0.4–0.5 GeV below the world average (no momentum-scale
calibration is applied to these open-data objects), and the width comes out too large: the
detector resolution is not Gaussian. Final-state radiation and, for electrons, bremsstrahlung
give a low-mass tail that the Breit–Wigner's wings absorb. The per-category χ² says where: the
barrel electrons fit worst.""",
    "check:print(z.gof['categories']['ee_barrel']['chi2'] > z.gof['categories']['mumu']['chi2'])",
    "figures = z.problem.plots(z)\nshow(figures['mumu_fit'])",
    "show(figures['ee_barrel_fit'])",
    "show(figures['ee_endcap_fit'])",
    """md:## Three peaks, one mass-scaled resolution

`sigma * m2 / m1` is a derived parameter: arithmetic on parameters, usable wherever a parameter
is, evaluated in numpy for the MLE and in PyTensor for the Bayesian fits. Named with
`.named("sigma_2s")`, it is reported with its HESSE error (the covariance propagated with its
exact Jacobian), its Laplace error and, with `sample=True`, its posterior (the transformed draws).""",
    """import bayesfit.models.three_peaks_model as three

peaks = bf.models.three_peaks()
masses, peaks_meta = three.default_data(peaks, events=20_000, seed=5)
tp = bf.fit(peaks, masses, meta=peaks_meta, minos=False, log=None, bayesian=not QUICK)
tp""",
    "show(tp.problem.plots(tp)['three_peaks_fit'])",
    """md:## A constraint is not a prior

A resolution measured elsewhere as 0.080 ± 0.002: given as `constraint=(0.080, 0.002)` it enters
the likelihood of **both** fits (iminuit adds it as a `NormalConstraint` would); given as a `prior=`
only the Bayesian fits see it, and MAP and MLE then differ by design. The table marks both kinds of
rows.""",
    """import pymc as pm

def resolution_fit(**knowledge):
    sigma = bf.Parameter("sigma", 0.08, 0.02, 0.2, **knowledge)
    model = bf.WindowModel((9.0, 9.9), [bf.Gaussian(bf.Parameter("m1", 9.45, 9.3, 9.6), sigma),
                                        bf.Exponential(bf.Parameter("slope", -0.5, -5, 5))],
                           fractions=[bf.Parameter("f", 0.5, 0.01, 0.99)], name="upsilon_1s")
    return bf.fit(model, masses, minos=False, log=None)

constrained = resolution_fit(constraint=(0.080, 0.002))
with_prior = resolution_fit(prior=pm.Normal.dist(0.080, 0.002))
print(constrained)""",
    """check:for label, res in (("constraint", constrained), ("prior", with_prior)):
    s = res["sigma"]
    print(f"{label:10}  MLE {s.mle:.4f} ± {s.hesse:.4f}   MAP {s.map:.4f} ± {s.laplace_sd:.4f}")""",
]


NOTEBOOKS["07_limits.ipynb"] = [
    """md:# No signal? Significance, upper limits and the look-elsewhere effect

Where the frequentist and the Bayesian answers part most: a signal parameter on its physical
boundary. Three limits on the same likelihood (CLs, Feldman–Cousins, Bayesian), their coverage,
and a search across a mass range, ending with the Higgs boson in CMS's four-lepton events.""",
    SETUP + """
TOYS = 50 if QUICK else 1000
GRID = 4 if QUICK else 9  # points of the toys' grid of the signal
COVERAGE_TOYS = 100 if QUICK else 1000""",
    """md:## A counting experiment: every method exact

n events observed over a known background b: $L(s) = \\mathrm{Poisson}(n \\mid s + b)$. With n = 0 and
b = 0 the 95 % CLs limit is $-\\ln 0.05 = 2.996$ and so is the flat-prior Bayesian one (for one bin
the two coincide for any n and b); Feldman–Cousins's 90 % interval is [0, 2.44], their table's
first entry.""",
    """check:print(bf.upper_limit(bf.Counting(0, 0.0), cl=0.95))
print()
print(bf.upper_limit(bf.Counting(0, 0.0), cl=0.90, methods=("fc",)).intervals["fc"])""",
    """md:With background the methods part. Three events over b = 3, as many as expected: the
maximum-likelihood signal is zero. CLs+b, the plain frequentist limit, is the smallest; CLs divides
it by CLb < 1 and is larger, equal to the flat-prior Bayesian limit; Feldman–Cousins's interval
lies between the two, and is the one whose coverage is nominal (below).""",
    """check:counted = bf.upper_limit(bf.Counting(3, 3.0), cl=0.95)
print(counted)""",
    """from bayesfit.output.limit_plots import limit_figures

show(limit_figures(counted)["fc_belt"])""",
    """md:### Coverage

How often does each interval contain the true signal? Counts drawn at several true signals, each
method's interval for each count: CLs and the flat-prior limit cover 100 % near s = 0 (they never
exclude what the experiment cannot see); Feldman–Cousins stays near the nominal level.""",
    """coverage = bf.counting_coverage(3.0, cl=0.95, toys=COVERAGE_TOYS, seed=1)
from bayesfit.output.limit_plots import plot_limit_coverage
show(plot_limit_coverage(coverage))""",
    """md:## A narrow state searched on a window of 2,000 events

A Gaussian signal of known position and width on an exponential background; the yield is the
parameter of interest, declared with its physical boundary. The asymptotic CLs uses the
background-only Asimov dataset; the toys (background-only and signal + background at each point of
a grid) give CLs and Feldman–Cousins.""",
    """def search_model(mass):
    return bf.WindowModel((3.6, 4.0), [bf.Gaussian(mass, 0.01),
                                       bf.Exponential(bf.Parameter("slope", -1.0, -10.0, 10.0))],
                          yields=[bf.Parameter("n_sig", 10.0, 0.0, 400.0, unit="events", boundary="lower"),
                                  bf.Parameter("n_bkg", 2000.0, 1000.0, 3000.0)], name="search")

model = search_model(3.80)
events = model.simulate([-2.0, 0.0, 2000.0], None, rng=1)""",
    """check:asymptotic = bf.upper_limit(model, events, poi="n_sig", methods=("cls",), log=None)
print(asymptotic)""",
    """limits = bf.upper_limit(model, events, poi="n_sig", methods=("cls", "fc"), toys=TOYS, grid=GRID, seed=2,
                        workers=1 if QUICK else None, log=None, progress=False)
print(limits)
figures = limit_figures(limits)
show(figures["cls_scan"])""",
    "show(figures['fc_belt'])",
    """md:## The Higgs boson in four leptons

CMS 2011–2012 open data: 40 four-lepton candidates in 105–165 GeV, six categories (4μ, 4e, 2e2μ in
two years), one Higgs mass and one signal yield $n_H$ shared (see `higgs4l_model.py` for the two
assumptions: the channels' resolutions and the signal's split among categories).""",
    """import bayesfit.models.higgs4l_model as higgs

h_model = higgs.higgs4l()
h_data, h_meta = higgs.default_data(h_model)
h_fit = bf.fit(h_model, h_data, meta=h_meta, bayesian=False, log=None)
h_fit""",
    """check:found = bf.significance(higgs.model_at(125.0), h_data, poi="n_H", log=None)
print(found)""",
    """md:A dozen events: how good are the asymptotic formulae? Background-only toys tell.""",
    """with_toys = bf.significance(higgs.model_at(125.0), h_data, poi="n_H", toys=TOYS, seed=3,
                            bayes_factor=False, workers=1 if QUICK else None, log=None, progress=False)
print(with_toys)
from bayesfit.output.limit_plots import plot_q0_null
show(plot_q0_null(with_toys))""",
    """md:### The mass scan and the look-elsewhere effect

The local p-value at each mass, and the chance of such an excess anywhere in 110–160 GeV.""",
    """scan = bf.mass_scan(higgs.model_at, h_data, np.arange(110.0, 160.1, 5.0 if QUICK else 1.0), poi="n_H",
                     toys=0 if QUICK else 200, seed=4, log=None, progress=False)
print(scan)
from bayesfit.output.limit_plots import plot_limit_scan, plot_local_pvalues
show(plot_local_pvalues(scan))""",
    "show(plot_limit_scan(scan))",
    """md:### Limits away from the peak: three methods, low counts

At 150 GeV there is no signal to speak of; with a handful of events in reach of the resolution, the
asymptotic and toy-based CLs differ, and Feldman–Cousins and CLs answer different questions.""",
    """away = bf.upper_limit(higgs.model_at(150.0), h_data, poi="n_H", methods=("cls", "fc"), toys=TOYS, grid=GRID, seed=5,
                      workers=1 if QUICK else None, log=None, progress=False)
away_asymptotic = bf.upper_limit(higgs.model_at(150.0), h_data, poi="n_H", methods=("cls",), log=None)
print(away)
print(f"asymptotic CLs: {away_asymptotic.limits['cls']:.2f} events")
show(limit_figures(away)["cls_scan"])""",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write (and execute) bayesfit's notebooks.")
    parser.add_argument("--execute", action="store_true", help="execute each notebook and keep its outputs")
    parser.add_argument("names", nargs="*", help="only these notebooks (file names)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(NOTEBOOKS)
    if unknown:
        parser.error(f"no notebook {', '.join(sorted(unknown))}; there are {', '.join(NOTEBOOKS)}")
    for name, cells in NOTEBOOKS.items():
        if args.names and name not in args.names:
            continue
        nb = notebook(cells)
        if args.execute:
            t0 = time.perf_counter()
            print(f"executing {name} ...", end=" ", flush=True)
            execute(nb, HERE)
            print(f"{time.perf_counter() - t0:.0f} s", flush=True)
        nbf.write(nb, HERE / name)
        print("wrote", HERE / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
