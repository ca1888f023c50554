"""Di-muon invariant mass: Crystal Ball signal + exponential background (Belle II e⁺e⁻ → μ⁺μ⁻).

In a window [lo, hi] (default 10.2–10.8 GeV/c²) the mass density is

    p(m) = f_sig · CB(m | μ, σ, α, n)/∫CB + (1 − f_sig) · e^{slope·m}/∫e^{slope·m},

the Crystal Ball's power-law tail on the low-mass side (radiative return), both shapes
normalised in closed form over the window. Start values and bounds are the seed's; in any
other window they are derived from the data (:func:`derive_start`). The goodness of fit is the
seed's binned χ²: 100 bins, bins with expected > 5.

Default data: the Belle II file is not public, so 100,000 events are simulated from the model
at the seed's start values. ``example="upsilon"`` is the CMS Υ(1S) peak shipped with bayesfit.
"""

from __future__ import annotations

import numpy as np

import bayesfit as bf
from bayesfit.data import CITATION, example_path
from bayesfit.modeling.transforms import CLogLogInterval

COMMAND = "dimuon"
HELP = "di-muon mass: Crystal Ball + exponential (Belle II e+e- -> mu+mu-)"

WINDOW = (10.2, 10.8)
NBINS = 100
#: Events simulated by default.
EVENTS = 100_000
UNIT = "GeV/$c^2$"
NAMES = ("mu", "sigma", "alpha", "n", "slope", "f_sig")
#: The seed's start values and bounds (for the default window).
START = dict(mu=10.575, sigma=0.040, alpha=1.5, n=5.0, slope=3.0, f_sig=0.65)
BOUNDS = dict(mu=(10.50, 10.65), sigma=(0.005, 0.10), alpha=(0.1, 5.0), n=(1.1, 20.0),
              slope=(-10.0, 10.0), f_sig=(0.01, 0.999))
TRUTH = [START[k] for k in NAMES]


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
    dict
        ``{name: (start, lower, upper)}``.
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
    return dict(
        mu=(peak, max(lo, peak - 5 * sigma), min(hi, peak + 5 * sigma)),
        sigma=(sigma, sigma / 10, min(5 * sigma, width / 2)),
        alpha=(1.5, *BOUNDS["alpha"]), n=(5.0, *BOUNDS["n"]),
        slope=(slope, -slope_bound, slope_bound), f_sig=(f_sig, *BOUNDS["f_sig"]),
    )


def dimuon(window=WINDOW, nbins=NBINS):
    """Return the di-muon model: Crystal Ball + exponential with a signal fraction.

    Parameters
    ----------
    window : (float, float)
        Fit window in GeV/c². Outside the default 10.2–10.8, start values and bounds are
        derived from the data by :func:`derive_start`.
    nbins : int
        Bins of the χ² and the plot.

    Returns
    -------
    bayesfit.WindowModel
    """
    window = tuple(map(float, window))
    p = {k: bf.Parameter(k, START[k], *BOUNDS[k]) for k in NAMES}
    mu = p["mu"].replace(label=r"$\mu$", unit=UNIT)
    sigma = p["sigma"].replace(label=r"$\sigma$", unit=UNIT)
    alpha = p["alpha"].replace(label=r"$\alpha$")
    # NUTS samples n in complementary log-log coordinates: large n all give nearly the same
    # tail, so the posterior leans against the upper bound (bayesfit.modeling.transforms).
    n = p["n"].replace(label="$n$", sampler_transform=CLogLogInterval)
    slope = p["slope"].replace(unit=f"1/({UNIT})")
    f_sig = p["f_sig"].replace(label=r"$f_\mathrm{sig}$")
    return bf.WindowModel(
        window, [bf.CrystalBall(mu, sigma, alpha, n, label="Crystal Ball (signal)"),
                 bf.Exponential(slope, label="Exponential (background)")],
        fractions=[f_sig], name="dimuon", x_label=r"$m(\mu^+\mu^-)$", unit=UNIT,
        title="Di-muon invariant mass", nbins=nbins, min_events=100,
        guess=None if window == WINDOW else derive_start,
        meta={"pivot": 0.5 * (window[0] + window[1])})


def simulate(n_events, values=None, window=WINDOW, rng=None):
    """Simulate di-muon masses from the model (seed's start values if ``values`` is omitted).

    Parameters
    ----------
    n_events : int
        Events inside the window.
    values : sequence of float, optional
        (mu, sigma, alpha, n, slope, f_sig).
    window : (float, float)
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    numpy.ndarray
    """
    return dimuon(window).simulate(TRUTH if values is None else values, n_events, rng)


def default_data(model, *, events=EVENTS, seed=None):
    """Return ``(masses, meta)``: ``events`` simulated at the seed's start values."""
    if events < 100:
        raise bf.InputError(f"--events: need at least 100 events (got {events})")
    return (model.simulate(TRUTH, events, seed),
            {"source": f"simulated, {events:,} events, seed {seed}", "truth": dict(zip(NAMES, TRUTH))})


def _upsilon():
    from bayesfit.core.io import read_masses

    return read_masses(example_path("upsilon"))[0]


#: Shipped real-data examples: ``--example upsilon``.
EXAMPLES = {
    "upsilon": dict(load=_upsilon, options={"window": (9.0, 9.7)}, source="CMS 2011 open data, Υ(1S)",
                    citation=CITATION, help="CMS 2011 Υ(1S) masses, 9.0–9.7 GeV"),
}
