"""Z boson line shape from real CMS di-muon data: RelBW ⊗ Gaussian + exponential.

In the window 60–120 GeV the di-muon mass density is

    p(m) = (1 − f_bkg) · (BW ⊗ G)(m) / ∫(BW ⊗ G)  +  f_bkg · e^{slope·(m − lo)} / ∫e^{slope·(m − lo)},

with BW the relativistic Breit–Wigner of mass M0 and width Γ (ρ = M0/Γ, scale Γ) and G a
Gaussian detector resolution of width σ_res. The convolution is a Gauss–Hermite sum,

    (BW ⊗ G)(m) ≈ Σ_k (w_k/√π) · BW(m − √2 σ_res t_k),

differentiable in every parameter; its window integral is the same sum over cdf differences,
so the normalisation is exact for the quadrature. The maximum-likelihood fit evaluates it
with scipy's ``rel_breitwigner``; the PyMC model with :mod:`bayesfit.distributions.relbw`.

What the data can separate: the mass M0 is sharp; Γ and σ_res both widen the peak and are
strongly anti-correlated (the core width is roughly their combination), so each is known
far less well than the peak width, and only the Breit–Wigner's power-law wings, broader than
the Gaussian's, tell them apart. Compare with PDG: M_Z = 91.1876 GeV, Γ_Z = 2.4952 GeV.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from scipy import special, stats

from bayesfit.data import CITATION, example_path
from bayesfit.distributions import relbw, truncexpon
from bayesfit.distributions.crystalball import logdiffexp
from bayesfit.io import InputError, read_masses
from bayesfit.problem import Parameter
from bayesfit.windowed import WindowProblem, add_binning_arguments, fit_bins_from_args
from models.relbw import check_positive

COMMAND = "zpeak"
HELP = "Z boson mass and width from CMS Z->mumu data: RelBW (x) Gaussian + exponential"

WINDOW = (60.0, 120.0)
NBINS = 60
MIN_EVENTS = 100
PDG = {"M0": 91.1876, "Gamma": 2.4952}
N_NODES = 32
NODES, WEIGHTS = np.polynomial.hermite.hermgauss(N_NODES)
LOG_W = np.log(WEIGHTS) - 0.5 * np.log(np.pi)
UNIT = "GeV"
PARAMS = (
    ("M0", 91.0, 86.0, 96.0, r"$M_0$", UNIT),
    ("Gamma", 2.5, 0.3, 8.0, r"$\Gamma$", UNIT),
    ("sigma_res", 1.5, 0.1, 6.0, r"$\sigma_\mathrm{res}$", UNIT),
    ("slope", -0.03, -0.5, 0.5, "slope", f"1/{UNIT}"),
    ("f_bkg", 0.05, 0.001, 0.8, r"$f_\mathrm{bkg}$", ""),
)


class ZPeak(WindowProblem):
    """Unbinned Z line-shape fit of masses ``data`` in ``window``."""

    labels = ("RelBW ⊗ Gauss (Z)", "Exponential (background)")
    xlabel = r"$m(\mu^+\mu^-)$"
    unit = UNIT
    title = "Z → μμ line shape"

    def __init__(self, data, *, window=WINDOW, nbins=NBINS, source="CMS 2011 open data, Z→μμ",
                 fit_bins=None):
        params = [Parameter(*p) for p in PARAMS]
        meta = {"source": source, "pdg": PDG, "convolution": f"Gauss-Hermite, {N_NODES} nodes"}
        super().__init__(data, window=window, nbins=nbins, name="zpeak", params=params, meta=meta,
                         fit_bins=fit_bins)

    def in_domain(self, values):
        """Return whether widths are positive and the fraction is in (0, 1)."""
        return values[1] > 0 and values[2] > 0 and 0 < values[4] < 1

    def _shifts(self, sigma_res):
        return np.sqrt(2.0) * sigma_res * NODES

    def _log_window_signal(self, m0, gamma, shifts):
        cdf = lambda x: stats.rel_breitwigner.cdf(x, m0 / gamma, scale=gamma)
        return np.log(np.sum(np.exp(LOG_W) * (cdf(self.hi - shifts) - cdf(self.lo - shifts))))

    def log_components(self, values, x):
        """Return log((1 − f)·(BW⊗G)/∫) and log(f·exp/∫) at ``x`` (scipy)."""
        m0, gamma, sigma_res, slope, f_bkg = values
        x = np.asarray(x, dtype=float)
        shifts = self._shifts(sigma_res)
        logbw = stats.rel_breitwigner.logpdf(x[..., None] - shifts, m0 / gamma, scale=gamma)
        log_sig = special.logsumexp(logbw + LOG_W, axis=-1) - self._log_window_signal(m0, gamma, shifts)
        log_bkg = truncexpon.np_logpdf(x, slope, self.lo, self.hi)
        return [np.log1p(-f_bkg) + log_sig, np.log(f_bkg) + log_bkg]

    def bin_probabilities(self, values, edges):
        """Return the per-bin probabilities of signal and background from cdf differences."""
        m0, gamma, sigma_res, slope, f_bkg = values
        shifts = self._shifts(sigma_res)
        cdf = stats.rel_breitwigner.cdf(edges[:, None] - shifts, m0 / gamma, scale=gamma) @ np.exp(LOG_W)
        p_sig = np.diff(cdf) / np.exp(self._log_window_signal(m0, gamma, shifts))
        p_bkg = truncexpon.np_bin_probabilities(edges, slope, self.lo, self.hi)
        return [(1 - f_bkg) * p_sig, f_bkg * p_bkg]

    def info_lines(self, fit):
        """Return M0, Γ, σ_res and f_bkg with errors, beside the PDG values."""
        v, e = fit.mle.values, fit.mle.errors
        return [rf"$M_0$ = {v[0]:.3f} ± {e[0]:.3f} GeV (PDG {PDG['M0']})",
                rf"$\Gamma$ = {v[1]:.3f} ± {e[1]:.3f} GeV (PDG {PDG['Gamma']})",
                rf"$\sigma_\mathrm{{res}}$ = {v[2]:.3f} ± {e[2]:.3f} GeV",
                f"slope = {v[3]:.4f} ± {e[3]:.4f} /GeV", rf"$f_\mathrm{{bkg}}$ = {v[4]:.4f} ± {e[4]:.4f}"]

    def _pt_log_cdf(self, x, m0, gamma, sigma_res):
        """Return log of the convolved cdf at ``x`` per quadrature node, shape (len(x), K)."""
        shifts = np.sqrt(2.0) * sigma_res * pt.constant(NODES)
        return relbw.logcdf(x[:, None] - shifts[None, :], m0 / gamma, gamma)

    def _pt_log_window(self, m0, gamma, sigma_res):
        lc = self._pt_log_cdf(pt.constant(np.array([self.lo, self.hi])), m0, gamma, sigma_res)
        return pt.logsumexp(LOG_W + logdiffexp(lc[1], lc[0]))

    def pt_log_components(self, x, m0, gamma, sigma_res, slope, f_bkg):
        """Return log((1 − f)·(BW⊗G)/∫) and log(f·exp/∫) as PyTensor graphs."""
        shifts = np.sqrt(2.0) * sigma_res * pt.constant(NODES)
        logbw = relbw.logpdf(x[:, None] - shifts[None, :], m0 / gamma, gamma)
        log_sig = pt.logsumexp(logbw + LOG_W[None, :], axis=1) - self._pt_log_window(m0, gamma, sigma_res)
        log_bkg = truncexpon.logpdf(x, slope, self.lo, self.hi)
        return [pt.log1p(-f_bkg) + log_sig, pt.log(f_bkg) + log_bkg]

    def pt_log_bin_probabilities(self, edges, m0, gamma, sigma_res, slope, f_bkg):
        """Return log bin probabilities of signal and background from log-cdf differences."""
        lc = self._pt_log_cdf(pt.constant(edges), m0, gamma, sigma_res)
        log_sig = pt.logsumexp(LOG_W[None, :] + logdiffexp(lc[1:], lc[:-1]), axis=1)
        log_sig = log_sig - self._pt_log_window(m0, gamma, sigma_res)
        log_bkg = truncexpon.log_bin_probabilities(edges, slope, self.lo, self.hi)
        return [pt.log1p(-f_bkg) + log_sig, pt.log(f_bkg) + log_bkg]


def add_arguments(parser):
    """Add this model's options to its subcommand parser."""
    parser.add_argument("--data", metavar="FILE",
                        help="your di-muon masses in GeV: .txt, .csv (--column), .npy or .root "
                             "(default: the CMS 2011 Z→μμ sample shipped with bayesfit)")
    parser.add_argument("--column", default="M", help="CSV column with the masses (default: M)")
    parser.add_argument("--tree", help="ROOT TTree name")
    parser.add_argument("--branch", help="ROOT branch (default: --column)")
    parser.add_argument("--range", nargs=2, type=float, metavar=("LO", "HI"), default=WINDOW,
                        help="fit window in GeV (default: 60 120)")
    parser.add_argument("--bins", type=int, default=NBINS, metavar="N", help="bins for the χ² and the plot (default: %(default)s)")
    add_binning_arguments(parser)


def build(args):
    """Return the :class:`ZPeak` problem for the command-line arguments."""
    lo, hi = args.range
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise InputError(f"--range: LO must be below HI (got {lo:g} {hi:g})")
    if lo <= 0:
        raise InputError(f"--range: the Breit–Wigner needs masses > 0 (got LO = {lo:g})")
    if args.bins < 2:
        raise InputError(f"--bins: need at least 2 bins (got {args.bins})")
    path = args.data if args.data is not None else example_path("zmumu")
    values, dropped = read_masses(path, column=args.column, tree=args.tree, branch=args.branch)
    check_positive(values, path)
    inside = values[(values >= lo) & (values <= hi)]
    if inside.size < MIN_EVENTS:
        raise InputError(f"only {inside.size} events in the window [{lo:g}, {hi:g}] GeV; "
                         f"the line-shape fit needs at least {MIN_EVENTS}")
    if not lo < PDG["M0"] < hi:
        raise InputError(f"--range [{lo:g}, {hi:g}] GeV does not contain the Z peak")
    fit_bins, note = fit_bins_from_args(args, inside.size)
    problem = ZPeak(inside, window=(lo, hi), nbins=args.bins, fit_bins=fit_bins,
                    source="CMS 2011 open data, Z→μμ" if args.data is None else str(path))
    if args.data is None:
        problem.meta["citation"] = CITATION
    problem.meta["notes"] = [f"{path}: dropped {dropped} NaN/inf value(s)"] * bool(dropped) + [note] * bool(note)
    return problem
