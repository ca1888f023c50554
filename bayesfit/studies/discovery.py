"""Is there a signal? The likelihood-ratio test with toys, its asymptotic form, and the Bayes factor.

The relativistic Breit–Wigner seed (section 10.1) tests a resonance on a flat background:
background uniform on [0, L], signal RelBW(ρ, loc 0, scale) with fraction w, n events. Three
questions, three answers:

- **simple vs simple** (the seed's test, :func:`simple_vs_simple_test`): w, ρ and scale all known,
  T = 2(ln L₁ − ln L₀), its null distribution from background-only toys. With the seed's
  random order (``numpy.random.default_rng(7)``: the signal draws, then the background, then
  the toys) it gives T_obs = 96.154… exactly as the seed prints;
- **composite** (:func:`signal_test`, what an analysis runs): the fraction fitted with
  w ≥ 0 (iminuit), T = 2(ln L(ŵ) − ln L(0)); the p-value from toys with its Clopper–Pearson
  error, or a 95 % CL bound "p < X" when no toy reaches T_obs; Z = Φ⁻¹(1 − p); and the
  asymptotic p-value of Chernoff's theorem for a parameter on its boundary,
  P(T ≥ t) = ½ P(χ²₁ ≥ t), checked against the toys where they reach;
- **Bayesian**: the Bayes factor B₁₀ = Z₁ / Z₀ of the same two hypotheses with a uniform
  prior on w ∈ [0, 1]. H₀ has no free parameter (Z₀ = L₀); Z₁ = ∫ L(w) dw is computed two
  ways: by adaptive quadrature (exact for this one-dimensional integral) and by PyMC's
  sequential Monte Carlo, whose marginal-likelihood estimate works in any dimension (the
  spread of independent SMC chains gives its error). The two must agree; the tests check it.

Here the signal density is normalised on the window [0, L] (the seed's simple test does not
normalise it; its signal lies well inside, and its T is reproduced with the seed's formula).
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate, stats

from bayesfit.core.binomial import clopper_pearson, zero_count_bound
from bayesfit.core.logs import quieted

__all__ = ["SEARCH_SETUP", "simulate_search_data", "simple_vs_simple_test", "check_search_data", "signal_test",
           "plot_null"]

#: The relativistic Breit–Wigner notebook's search (its section 10.1): window [0, L], signal
#: shape, signal fraction, events, toys and random seed.
SEARCH_SETUP = {"L": 200.0, "rho": 36.5, "scale": 2.5, "w": 0.15, "n": 400, "toys": 400, "seed": 7}
_S = SEARCH_SETUP  # the defaults below


def simulate_search_data(rng, *, L=_S["L"], rho=_S["rho"], scale=_S["scale"], w=_S["w"], n=_S["n"]):
    """Draw the seed's observed sample with ``rng``, in the seed's order (signal, then background).

    Parameters
    ----------
    rng : numpy.random.Generator
    L, rho, scale, w, n : float
        Window [0, L], signal shape, signal fraction and number of events.

    Returns
    -------
    numpy.ndarray
        ``int(n w)`` signal events followed by the background events.
    """
    signal = stats.rel_breitwigner.rvs(rho, loc=0, scale=scale, size=int(n * w), random_state=rng)
    background = rng.uniform(0, L, size=n - signal.size)
    return np.concatenate([signal, background])


def _log_background(x, L):
    return np.where((x >= 0) & (x <= L), -math.log(L), -np.inf)


def simple_vs_simple_test(*, seed=_S["seed"], toys=_S["toys"], L=_S["L"], rho=_S["rho"], scale=_S["scale"],
                          w=_S["w"], n=_S["n"]) -> dict:
    """Reproduce the seed's simple-vs-simple likelihood-ratio test, draw for draw.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the seed uses 7.
    toys : int
        Background-only toys of the null distribution (the seed: 400).
    L, rho, scale, w, n : float
        The hypotheses: H₀ uniform on [0, L]; H₁ fraction ``w`` of RelBW(ρ, 0, scale).

    Returns
    -------
    dict
        ``{"t_obs", "t_null", "p_value", "p_bound_95", "data"}``: ``p_bound_95`` is the 95 % CL
        upper bound on p when no toy reaches T_obs (else ``None``).
    """
    rng = np.random.default_rng(seed)
    x = simulate_search_data(rng, L=L, rho=rho, scale=scale, w=w, n=n)

    def t_stat(sample):
        ll0 = np.sum(_log_background(sample, L))
        log_s = stats.rel_breitwigner.logpdf(sample, rho, loc=0, scale=scale)
        ll1 = np.sum(np.logaddexp(math.log(w) + log_s, math.log1p(-w) + _log_background(sample, L)))
        return 2 * (ll1 - ll0)

    t_obs = float(t_stat(x))
    t_null = np.array([t_stat(rng.uniform(0, L, size=n)) for _ in range(toys)])
    k = int(np.sum(t_null >= t_obs))
    return {"t_obs": t_obs, "t_null": t_null, "p_value": k / toys,
            "p_bound_95": zero_count_bound(toys) if k == 0 else None, "data": x}


class _Mixture:
    """ln L(w) of a signal fraction on a uniform background on [0, L] (signal normalised there)."""

    def __init__(self, x, L, rho, scale):
        self.x = np.asarray(x, dtype=float)
        inside = stats.rel_breitwigner.cdf(L, rho, scale=scale) - stats.rel_breitwigner.cdf(0, rho, scale=scale)
        self.log_s = stats.rel_breitwigner.logpdf(self.x, rho, scale=scale) - math.log(inside)
        self.log_b = -math.log(L)
        self.n = self.x.size

    def loglike(self, w):
        if w <= 0:
            return self.n * self.log_b
        if w >= 1:
            return float(np.sum(self.log_s))
        return float(np.sum(np.logaddexp(math.log(w) + self.log_s, math.log1p(-w) + self.log_b)))

    def fit(self):
        """Return (ŵ, T = 2(ln L(ŵ) − ln L(0))) from iminuit with 0 ≤ w ≤ 1."""
        from iminuit import Minuit

        m = Minuit(lambda w: -self.loglike(w), 0.05, name=["w"])
        m.errordef = Minuit.LIKELIHOOD
        m.limits = [(0.0, 1.0)]
        m.migrad()
        w_hat = float(m.values[0])
        return w_hat, max(0.0, 2 * (self.loglike(w_hat) - self.loglike(0.0))), m

    def log_evidence_quad(self):
        """Return ln ∫₀¹ L(w) dw by adaptive quadrature around the peak (exact in one dimension)."""
        w_hat, _, _ = self.fit()
        peak = self.loglike(w_hat)
        f = lambda w: math.exp(self.loglike(w) - peak)
        value, error = integrate.quad(f, 0.0, 1.0, points=[w_hat], limit=400, epsabs=0, epsrel=1e-10)
        return peak + math.log(value), error / value

    def log_evidence_smc(self, *, draws=2000, chains=4, seed=None):
        """Return ln ∫₀¹ L(w) dw from PyMC's SMC and its error (spread of the chains / √chains)."""
        import logging
        import warnings

        import pymc as pm
        import pytensor.tensor as pt

        # SMC announces its stages at INFO: not for our users
        with quieted(("pymc",), logging.WARNING), pm.Model(), warnings.catch_warnings():
            # ArviZ mistakes SMC's per-stage statistics (a few stages) for too few draws
            warnings.filterwarnings("ignore", message="More chains")
            w = pm.Uniform("w", 0.0, 1.0)
            pm.Potential("loglike", pt.sum(pt.logaddexp(pt.log(w) + self.log_s, pt.log1p(-w) + self.log_b)))
            idata = pm.sample_smc(draws=draws, chains=chains, random_seed=seed, progressbar=False,
                                  compute_convergence_checks=False, cores=1)
        per_chain = np.array([row[np.isfinite(row)][-1] for row in
                              np.asarray(idata.sample_stats["log_marginal_likelihood"], dtype=float)])
        return float(per_chain.mean()), float(per_chain.std(ddof=1) / math.sqrt(chains)), per_chain


def check_search_data(data, L=_S["L"]) -> np.ndarray:
    """Return ``data`` as the masses of a search on [0, L]; raise ``ValueError`` for what cannot be tested.

    Parameters
    ----------
    data : array_like
        The masses.
    L : float
        Upper end of the window.

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(data, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"need a one-dimensional sample of at least two masses (got {x.size})")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > L:
        raise ValueError(f"every mass must lie in the window [0, {L:g}] (the data span {x.min():g} to {x.max():g})")
    return x


def signal_test(data=None, *, toys=1000, seed=_S["seed"], L=_S["L"], rho=_S["rho"], scale=_S["scale"],
                smc=True, smc_draws=2000, smc_chains=4, progress=None) -> dict:
    """Test for a RelBW signal on a uniform background: toys, Chernoff, and the Bayes factor.

    Parameters
    ----------
    data : array_like, optional
        Masses in [0, L]; the seed's sample (drawn with ``seed``) by default.
    toys : int
        Background-only toys of the null distribution of T (each fits ŵ).
    seed : int
        Seed of the data (when drawn) and, spawned from it, of every toy.
    L, rho, scale : float
        Window and signal shape (known).
    smc : bool
        Also estimate the evidence with SMC (about ten seconds); quadrature always.
    smc_draws, smc_chains : int
        SMC settings.
    progress : callable, optional
        Receives a line per stage.

    Returns
    -------
    dict
        ``w_hat``, ``t_obs``, ``t_null`` (array), ``p_toys`` with ``p_toys_cp68`` and
        ``p_bound_95``, ``z_toys``, ``p_asymptotic``, ``z_asymptotic``, ``asymptotic_check``
        (toy tail fractions against ½χ²₁ at several thresholds), ``ln_b10_quad``,
        ``ln_b10_smc`` and its error, ``prior``, ``timing_s``.
    """
    say = progress or (lambda line: None)
    t0 = time.perf_counter()
    if data is None:
        data = simulate_search_data(np.random.default_rng(seed), L=L, rho=rho, scale=scale)
    x = check_search_data(data, L)
    model = _Mixture(x, L, rho, scale)
    w_hat, t_obs, _ = model.fit()
    say(f"observed: ŵ = {w_hat:.4f}, T = {t_obs:.3f}; {toys:,} background-only toys ...")
    t_null = np.empty(toys)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(toys)):
        toy = np.random.default_rng(child).uniform(0, L, size=x.size)
        t_null[i] = _Mixture(toy, L, rho, scale).fit()[1]
    k = int(np.sum(t_null >= t_obs))
    p_toys = k / toys
    lo, hi = clopper_pearson(k, toys)
    p_asym = 0.5 * float(stats.chi2.sf(t_obs, 1)) if t_obs > 0 else 1.0
    checks = []
    for t in (0.5, 1.0, 2.71, 3.84, 6.63):
        kk = int(np.sum(t_null >= t))
        checks.append({"t": t, "toys": kk / toys, "toys_cp68": list(clopper_pearson(kk, toys)),
                       "asymptotic": 0.5 * float(stats.chi2.sf(t, 1))})
    out = {
        "hypotheses": {"H0": f"uniform on [0, {L:g}]",
                       "H1": f"fraction w of RelBW(rho={rho:g}, loc=0, scale={scale:g}) on it, 0 <= w <= 1"},
        "n": int(x.size), "w_hat": w_hat, "t_obs": t_obs, "t_null": t_null, "toys": toys,
        "p_toys": p_toys, "p_toys_cp68": [lo, hi], "p_bound_95": zero_count_bound(toys) if k == 0 else None,
        "z_toys": float(stats.norm.isf(p_toys)) if 0 < p_toys < 1 else None,
        "z_toys_at_least": float(stats.norm.isf(zero_count_bound(toys))) if k == 0 else None,
        "p_asymptotic": p_asym, "z_asymptotic": float(stats.norm.isf(p_asym)) if p_asym < 1 else 0.0,
        "asymptotic_check": checks,
        "prior": "w ~ Uniform(0, 1) under H1; H0 has no free parameter",
    }
    ln_l0 = model.loglike(0.0)
    ln_z1, rel = model.log_evidence_quad()
    out["ln_b10_quad"], out["ln_b10_quad_rel_error"] = ln_z1 - ln_l0, rel
    if smc:
        say(f"Bayes factor: SMC evidence ({smc_chains} chains × {smc_draws} draws) ...")
        ln_z1_smc, err, per_chain = model.log_evidence_smc(draws=smc_draws, chains=smc_chains, seed=seed)
        out["ln_b10_smc"], out["ln_b10_smc_error"] = ln_z1_smc - ln_l0, err
        out["ln_b10_smc_chains"] = (per_chain - ln_l0).tolist()
    out["timing_s"] = time.perf_counter() - t0
    return out


def plot_null(result):
    """Plot the toys' null distribution of T with the asymptotic ½χ²₁ curve and T_obs.

    Parameters
    ----------
    result : dict
        :func:`signal_test`'s result.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    t_null, t_obs = np.asarray(result["t_null"]), result["t_obs"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    top = max(12.0, float(np.max(t_null)) * 1.05)
    edges = np.linspace(0, top, 49)
    width = edges[1] - edges[0]
    zero = int(np.sum(t_null <= 1e-9))
    ax.hist(t_null[t_null > 1e-9], bins=edges, color="C0", alpha=0.6,
            label=f"{result['toys']:,} background-only toys ({zero} with T = 0, ŵ at 0)")
    t = np.linspace(1e-3, top, 400)
    ax.plot(t, 0.5 * result["toys"] * width * stats.chi2.pdf(t, 1), "k-", lw=1.3,
            label=r"asymptotic (Chernoff): $\frac{1}{2}\chi^2_1 + \frac{1}{2}\delta_0$")
    ax.set_yscale("log")
    ax.set_ylim(0.5, None)
    ax.set_xlabel(r"$T = 2\,[\ln L(\hat w) - \ln L(0)]$")
    ax.set_ylabel(f"toys / {width:.2g}")
    if result["p_bound_95"] is not None:
        ptext = f"p < {result['p_bound_95']:.2g} (95 % CL, no toy beyond)"
    else:
        ptext = f"p = {result['p_toys']:.3g}"
    if t_obs <= top * 1.02:
        ax.axvline(t_obs, color="C3", lw=2, label=f"observed T = {t_obs:.1f}")
    else:
        ax.annotate(f"observed T = {t_obs:.1f} →", xy=(0.98, 0.6), xycoords="axes fraction", ha="right",
                    color="C3", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    bayes = f", ln B₁₀ = {result['ln_b10_quad']:.1f}"
    ax.set_title(f"Signal test: toys {ptext}; asymptotic Z = {result['z_asymptotic']:.1f}{bayes}", fontsize=9)
    fig.tight_layout()
    return fig
