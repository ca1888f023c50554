"""Di-muon invariant mass: Crystal Ball signal + exponential background, unbinned.

The Belle II e⁺e⁻ → μ⁺μ⁻ fit: in a window [lo, hi] (default 10.2–10.8 GeV/c²) the mass
density is

    p(m) = f_sig · CB(m | μ, σ, α, n) / ∫_lo^hi CB  +  (1 − f_sig) · e^{slope·(m − m0)} / ∫_lo^hi e^{slope·(m − m0)},

with the Crystal Ball's power-law tail on the low-mass side (radiative return) and the
pivot m0 at the window centre. Both components are normalised in closed form over the
window. The flat priors span the seed's bounds, so the MAP is the MLE.

The maximum-likelihood fit uses numpy twins of the densities that the tests check against
scipy's ``crystalball`` (an implementation independent of the PyMC graph); the PyMC model uses :mod:`bayesfit.distributions.crystalball` and
:mod:`bayesfit.distributions.truncexpon`. The goodness of fit is the binned χ² of the seed:
100 bins, expected counts from cdf differences, bins with expected > 5 counted.

Default data: the real Belle II file is not public, so 100,000 events are simulated from
the model at the seed's start values (``--events``, ``--seed``). ``--data FILE`` reads your
own masses; ``--example upsilon`` fits the CMS Υ(1S) peak shipped with bayesfit.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from bayesfit import kernels
from bayesfit.data import CITATION, example_path
from bayesfit.distributions import crystalball as cb
from bayesfit.distributions import truncexpon
from bayesfit.io import InputError, read_masses
from bayesfit.problem import Parameter
from bayesfit.transforms import CLogLogInterval
from bayesfit.windowed import WindowProblem, add_binning_arguments, fit_bins_from_args

COMMAND = "dimuon"
HELP = "di-muon mass: Crystal Ball + exponential, unbinned (Belle II e+e- -> mu+mu-)"

WINDOW = (10.2, 10.8)
NBINS = 100
N_EVENTS = 100_000
MIN_EVENTS = 100
UNIT = "GeV/$c^2$"
NAMES = ("mu", "sigma", "alpha", "n", "slope", "f_sig")
#: The seed's start values and bounds (for the default window).
START = dict(mu=10.575, sigma=0.040, alpha=1.5, n=5.0, slope=3.0, f_sig=0.65)
BOUNDS = dict(mu=(10.50, 10.65), sigma=(0.005, 0.10), alpha=(0.1, 5.0), n=(1.1, 20.0),
              slope=(-10.0, 10.0), f_sig=(0.01, 0.999))
LABELS = dict(mu=(r"$\mu$", UNIT), sigma=(r"$\sigma$", UNIT), alpha=(r"$\alpha$", ""),
              n=("$n$", ""), slope=("slope", f"1/({UNIT})"), f_sig=(r"$f_\mathrm{sig}$", ""))


def simulate(n_events, values=None, window=WINDOW, rng=None):
    """Simulate di-muon masses from the model (numpy/scipy).

    Parameters
    ----------
    n_events : int
        Number of events inside the window.
    values : sequence of float, optional
        (mu, sigma, alpha, n, slope, f_sig); the seed's start values if omitted.
    window : (float, float)
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    numpy.ndarray
    """
    rng = np.random.default_rng(rng)
    values = [START[k] for k in NAMES] if values is None else list(values)
    mu, sigma, alpha, n, slope, f_sig = values
    lo, hi = window
    n_sig = rng.binomial(n_events, f_sig)
    sig = stats.crystalball(alpha, n, loc=mu, scale=sigma)
    u = rng.uniform(sig.cdf(lo), sig.cdf(hi), size=n_sig)
    signal = cb.ppf(u, mu, sigma, alpha, n)
    background = truncexpon.random(slope, lo, hi, rng=rng, size=n_events - n_sig)
    out = np.concatenate([signal, background])
    rng.shuffle(out)
    return out


def derive_start(data, window, nbins):
    """Guess start values and bounds for a peak on a smooth background in any window.

    The background level and slope come from the outer tenth of the histogram on each side,
    the peak from the largest excess over it, the width from the excess's full width at
    half maximum, and f_sig from the excess's share of the events.

    Parameters
    ----------
    data : numpy.ndarray
        Masses inside the window.
    window : (float, float)
    nbins : int

    Returns
    -------
    start : dict
    bounds : dict
    """
    lo, hi = window
    width = hi - lo
    counts, edges = np.histogram(data, bins=nbins, range=window)
    centers = 0.5 * (edges[1:] + edges[:-1])
    k = max(2, nbins // 10)
    left, right = max(counts[:k].mean(), 0.5), max(counts[-k:].mean(), 0.5)
    xl, xr = centers[:k].mean(), centers[-k:].mean()
    slope_bound = max(10.0, 30.0 / width)
    slope = float(np.clip(np.log(right / left) / (xr - xl), -0.8 * slope_bound, 0.8 * slope_bound))
    background = left * np.exp(slope * (centers - xl))
    excess = np.convolve(counts - background, np.ones(3) / 3, mode="same")
    i = int(np.argmax(excess))
    half = excess[i] / 2
    j_lo, j_hi = i, i
    while j_lo > 0 and excess[j_lo - 1] > half:
        j_lo -= 1
    while j_hi < nbins - 1 and excess[j_hi + 1] > half:
        j_hi += 1
    bw = edges[1] - edges[0]
    sigma = max((j_hi - j_lo + 1) * bw / 2.355, bw / 2)
    peak = float(centers[i])
    f_sig = float(np.clip(np.clip(counts - background, 0, None).sum() / counts.sum(), 0.05, 0.95))
    start = dict(mu=peak, sigma=sigma, alpha=1.5, n=5.0, slope=slope, f_sig=f_sig)
    bounds = dict(
        mu=(max(lo, peak - 5 * sigma), min(hi, peak + 5 * sigma)),
        sigma=(sigma / 10, min(5 * sigma, width / 2)),
        alpha=BOUNDS["alpha"], n=BOUNDS["n"],
        slope=(-slope_bound, slope_bound), f_sig=BOUNDS["f_sig"],
    )
    return start, bounds


class Dimuon(WindowProblem):
    """Unbinned Crystal Ball + exponential fit of masses ``data`` in ``window``."""

    labels = ("Crystal Ball (signal)", "Exponential (background)")
    xlabel = r"$m(\mu^+\mu^-)$"
    unit = UNIT
    title = "Di-muon invariant mass"

    def __init__(self, data, *, window=WINDOW, nbins=NBINS, start=None, bounds=None,
                 source="simulated", truth=None, fit_bins=None):
        start = dict(START if start is None else start)
        bounds = dict(BOUNDS if bounds is None else bounds)
        # NUTS samples n in complementary log-log coordinates: large n all give nearly the
        # same tail, so the posterior leans against the upper bound (bayesfit.transforms).
        params = [Parameter(k, float(start[k]), float(bounds[k][0]), float(bounds[k][1]),
                            label=LABELS[k][0], unit=LABELS[k][1],
                            sampler_transform=CLogLogInterval if k == "n" else None) for k in NAMES]
        meta = {"source": source, "pivot": 0.5 * (window[0] + window[1])}
        if truth is not None:
            meta["truth"] = dict(zip(NAMES, map(float, truth)))
        super().__init__(data, window=window, nbins=nbins, name="dimuon", params=params, meta=meta,
                         fit_bins=fit_bins)

    # --- the independent likelihood: numpy twins checked against scipy ----------------
    def in_domain(self, values):
        """Return False where the densities are undefined (MINOS may step there)."""
        return values[1] > 0 and values[2] > 0 and values[3] > 1 and 0 < values[5] < 1

    def nll(self, values):
        """Return −ln L; unbinned, one compiled pass over the events (:mod:`bayesfit.kernels`).

        The binned likelihood is :meth:`WindowProblem.nll`'s. The unbinned sum equals
        −Σ log Σ_k exp(:meth:`log_components`), which the tests check.
        """
        if self.fit_bins is not None or not self.in_domain(values):
            return super().nll(values)
        mu, sigma, alpha, n, slope, f = map(float, values)
        window = np.diff(cb.np_cdf([self.lo, self.hi], mu, sigma, alpha, n))[0]
        log_norm_sig = np.log(sigma * sum(cb._np_weights(alpha, n)) * window)
        log_norm_bkg = -float(truncexpon.np_logpdf(self.lo, slope, self.lo, self.hi))
        return -kernels.cb_exp_loglike(self.data, mu, sigma, alpha, n, slope,
                                       np.log(f) - log_norm_sig, np.log1p(-f) - log_norm_bkg, self.lo)

    def log_components(self, values, x):
        """Return log(f·CB/∫CB) and log((1 − f)·exp/∫exp) at ``x``."""
        mu, sigma, alpha, n, slope, f = values
        window = np.diff(cb.np_cdf([self.lo, self.hi], mu, sigma, alpha, n))[0]
        log_sig = cb.np_logpdf(x, mu, sigma, alpha, n) - np.log(window)
        log_bkg = truncexpon.np_logpdf(x, slope, self.lo, self.hi)
        return [np.log(f) + log_sig, np.log1p(-f) + log_bkg]

    def bin_probabilities(self, values, edges):
        """Return f·P_CB(bin) and (1 − f)·P_exp(bin) from cdf differences (numpy twins)."""
        mu, sigma, alpha, n, slope, f = values
        cdf = cb.np_cdf(np.concatenate([[self.lo, self.hi], edges]), mu, sigma, alpha, n)
        p_sig = np.diff(cdf[2:]) / (cdf[1] - cdf[0])
        p_bkg = truncexpon.np_bin_probabilities(edges, slope, self.lo, self.hi)
        return [f * p_sig, (1 - f) * p_bkg]

    def info_lines(self, fit):
        """Return the seed's info box: μ and σ in MeV/c², the shape, slope and f_sig."""
        v, e = fit.mle.values, fit.mle.errors
        mev = lambda k: f"{v[k] * 1e3:.2f} ± {e[k] * 1e3:.2f} MeV/$c^2$"
        return [rf"$\mu$ = {mev(0)}", rf"$\sigma$ = {mev(1)}",
                rf"$\alpha$ = {v[2]:.3f} ± {e[2]:.3f}", rf"$n$ = {v[3]:.2f} ± {e[3]:.2f}",
                f"slope = {v[4]:.3f} ± {e[4]:.3f}", rf"$f_\mathrm{{sig}}$ = {v[5]:.4f} ± {e[5]:.4f}"]

    # --- the same densities in PyTensor, for the PyMC model ---------------------------
    def pt_log_components(self, x, mu, sigma, alpha, n, slope, f_sig):
        """Return log(f·CB/∫CB) and log((1 − f)·exp/∫exp) as PyTensor graphs."""
        log_sig = cb.logpdf(x, mu, sigma, alpha, n) - cb.log_window(self.lo, self.hi, mu, sigma, alpha, n)
        log_bkg = truncexpon.logpdf(x, slope, self.lo, self.hi)
        return [pt.log(f_sig) + log_sig, pt.log1p(-f_sig) + log_bkg]

    def pt_log_bin_probabilities(self, edges, mu, sigma, alpha, n, slope, f_sig):
        """Return log of f·P_CB(bin) and (1 − f)·P_exp(bin) from log-cdf differences."""
        lc = cb.logcdf(edges, mu, sigma, alpha, n)
        log_sig = cb.logdiffexp(lc[1:], lc[:-1]) - cb.logdiffexp(lc[-1], lc[0])
        log_bkg = truncexpon.log_bin_probabilities(edges, slope, self.lo, self.hi)
        return [pt.log(f_sig) + log_sig, pt.log1p(-f_sig) + log_bkg]

    def sampling_model(self):
        """Return the unbinned model with the one-pass likelihood Op of :mod:`bayesfit.kernels`.

        Same priors, same posterior as :meth:`pymc_model` (the tests compare log densities
        and gradients); the Op evaluates Σ log p and its gradient in one compiled pass over
        the events instead of a dozen array operations. ``None`` for the binned likelihood,
        whose cost does not grow with the events.
        """
        if self.fit_bins is not None:
            return None
        with pm.Model() as model:
            mu, sigma, alpha, n, slope, f_sig = (p.uniform() for p in self.params)
            log_w_sig = (pt.log(f_sig) - cb._lognorm(alpha, n) - pt.log(sigma)
                         - cb.log_window(self.lo, self.hi, mu, sigma, alpha, n))
            log_w_bkg = pt.log1p(-f_sig) + truncexpon.logpdf(self.lo, slope, self.lo, self.hi)
            pm.Potential("loglike", kernels.cb_exp_loglike_op(self.data, mu, sigma, alpha, n, slope,
                                                              log_w_sig, log_w_bkg, self.lo))
        return model

    def simulate_events(self, values, n_events, rng=None):
        """Draw events from the model in this window."""
        return simulate(n_events, values, (self.lo, self.hi), rng)


def add_arguments(parser):
    """Add this model's options to its subcommand parser."""
    src = parser.add_argument_group("data")
    src.add_argument("--data", metavar="FILE",
                     help="your masses in GeV/c^2: .txt (one per line), .csv (see --column), "
                          ".npy, or .root (see --tree/--branch)")
    src.add_argument("--example", choices=["upsilon"],
                     help="fit a shipped real-data example: 'upsilon' = CMS 2011 Υ(1S) masses, 9.0–9.7 GeV")
    src.add_argument("--events", type=int, default=N_EVENTS, metavar="N",
                     help="events to simulate when no --data/--example is given (default: %(default)s)")
    src.add_argument("--column", default="M", help="CSV column with the masses (default: M)")
    src.add_argument("--tree", help="ROOT TTree name (if the file has more than one)")
    src.add_argument("--branch", help="ROOT branch with the masses (default: --column)")
    win = parser.add_argument_group("window")
    win.add_argument("--range", nargs=2, type=float, metavar=("LO", "HI"), default=None,
                     help="fit window in GeV/c^2 (default 10.2 10.8; 9.0 9.7 for --example upsilon); "
                          "start values and bounds are derived from the data for other windows")
    win.add_argument("--bins", type=int, default=NBINS, metavar="N",
                     help="bins for the χ² and the plot (default: %(default)s)")
    add_binning_arguments(parser)


def build(args):
    """Return the :class:`Dimuon` problem for the command-line arguments."""
    notes = []
    if args.data is not None and args.example is not None:
        raise InputError("give either --data or --example, not both")
    default_window = (9.0, 9.7) if args.example == "upsilon" else WINDOW
    window = tuple(args.range) if args.range is not None else default_window
    lo, hi = window
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise InputError(f"--range: LO must be below HI (got {lo:g} {hi:g})")
    if args.bins < 2:
        raise InputError(f"--bins: need at least 2 bins (got {args.bins})")
    truth = None
    if args.data is not None or args.example is not None:
        path = example_path(args.example) if args.example else args.data
        values, dropped = read_masses(path, column=args.column, tree=args.tree, branch=args.branch)
        if dropped:
            notes.append(f"{path}: dropped {dropped} NaN/inf value(s)")
        source = "CMS 2011 open data, Υ(1S)" if args.example else str(path)
    else:
        if args.events < MIN_EVENTS:
            raise InputError(f"--events: need at least {MIN_EVENTS} events (got {args.events})")
        truth = [START[k] for k in NAMES]
        values = simulate(args.events, truth, window, rng=args.seed)
        source = f"simulated, {args.events:,} events, seed {args.seed}"
    inside = values[(values >= lo) & (values <= hi)]
    if inside.size == 0:
        raise InputError(f"no events in the window [{lo:g}, {hi:g}] GeV/c^2 "
                         f"(the data span {values.min():g} to {values.max():g})" if values.size
                         else "the data file holds no values")
    if inside.size < MIN_EVENTS:
        raise InputError(f"only {inside.size} events in the window [{lo:g}, {hi:g}] GeV/c^2; "
                         f"an unbinned shape fit needs at least {MIN_EVENTS}")
    start = bounds = None
    if window != WINDOW:
        start, bounds = derive_start(inside, window, args.bins)
    fit_bins, note = fit_bins_from_args(args, inside.size)
    if note:
        notes.append(note)
    problem = Dimuon(inside, window=window, nbins=args.bins, start=start, bounds=bounds,
                     source=source, truth=truth, fit_bins=fit_bins)
    if args.example:
        problem.meta["citation"] = CITATION
    problem.meta["notes"] = notes
    return problem
