"""Every component against an independent reference, on random windows.

For each component and parameter point (hard corners included) and random windows:
the window-normalised PyTensor density equals the reference density divided by its window
probability (scipy.stats, numba-stats, numpy.polynomial, or numerical convolution), the
component's own numpy reference (what the MLE uses) agrees, the density integrates to one
(Gauss–Legendre quadrature), the bin probabilities equal the integral over each bin, and the gradient of log
density and log bin probabilities is finite on the whole parameter box.
"""

import zlib

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from numpy.polynomial import chebyshev as npcheb
from scipy import integrate, stats

import bayesfit as bf
from tests.conftest import graph_mode


def _conv_pdf(x, m, w, s):
    """RelBW ⊗ Gaussian by adaptive quadrature (independent of the Gauss–Hermite sum)."""
    f = lambda t: stats.rel_breitwigner.pdf(x - t, m / w, scale=w) * stats.norm.pdf(t, 0, s)
    return integrate.quad(f, -12 * s, 12 * s, points=[x - m], limit=400)[0]


def _window_native_pdf(shape):
    """Reference window pdf of an unnormalised shape(x), normalised by quad on the window."""
    def pdf(x, p, lo, hi):
        norm = integrate.quad(lambda t: shape(t, p, lo, hi), lo, hi, limit=200)[0]
        return np.array([shape(v, p, lo, hi) for v in np.atleast_1d(x)]) / norm
    return pdf


def _line_pdf(pdf, cdf):
    """Reference window pdf from a density and cdf on the whole line (or half line)."""
    def window_pdf(x, p, lo, hi):
        return pdf(np.atleast_1d(x), p) / (cdf(np.array([hi]), p) - cdf(np.array([lo]), p))[0]
    return window_pdf


def _cheb_shape(x, p, lo, hi):
    return npcheb.chebval(2 * (x - lo) / (hi - lo) - 1, [1.0, *p])


def _conv_cdf(x, p):
    m, w, s = p
    return np.array([integrate.quad(lambda t: _conv_pdf(t, m, w, s), 0.0, v, limit=200)[0] for v in x])


def _crystalball_ex():
    """numba-stats' double-sided Crystal Ball, imported when a test needs it: importing it compiles
    its numba functions (17 s on a fresh install), and every pytest-xdist worker imports this module."""
    from numba_stats import crystalball_ex

    return crystalball_ex


# name: (component factory, parameter points, reference window pdf, window centre, window scale)
CASES = {
    "gaussian": (bf.Gaussian, [(0.0, 1.0), (5.0, 0.3)],
                 _line_pdf(lambda x, p: stats.norm.pdf(x, *p), lambda x, p: stats.norm.cdf(x, *p)), 0, 1),
    "crystalball": (bf.CrystalBall, [(10.575, 0.04, 1.5, 5.0), (0.0, 1.0, 0.1, 1.1), (0.0, 1.0, 5.0, 20.0)],
                    _line_pdf(lambda x, p: stats.crystalball.pdf(x, p[2], p[3], loc=p[0], scale=p[1]),
                              lambda x, p: stats.crystalball.cdf(x, p[2], p[3], loc=p[0], scale=p[1])), None, None),
    "doublecrystalball": (bf.DoubleCrystalBall, [(0.0, 1.0, 1.5, 3.0, 2.0, 5.0), (10.0, 0.5, 0.3, 1.2, 4.0, 15.0)],
                          _line_pdf(lambda x, p: _crystalball_ex().pdf(x, p[2], p[3], p[1], p[4], p[5], p[1], p[0]),
                                    lambda x, p: _crystalball_ex().cdf(x, p[2], p[3], p[1], p[4], p[5], p[1], p[0])),
                          None, None),
    "relbw": (bf.RelBW, [(91.19, 2.5), (2.0, 1.0)],
              _line_pdf(lambda x, p: stats.rel_breitwigner.pdf(x, p[0] / p[1], scale=p[1]),
                        lambda x, p: stats.rel_breitwigner.cdf(x, p[0] / p[1], scale=p[1])), None, None),
    "relbwgauss": (bf.RelBWGauss, [(91.19, 2.5, 0.3)],
                   lambda x, p, lo, hi: np.array([_conv_pdf(v, *p) for v in np.atleast_1d(x)])
                   / integrate.quad(lambda t: _conv_pdf(t, *p), lo, hi, limit=200)[0], None, None),
    "exponential": (bf.Exponential, [(3.0,), (-2.0,), (0.0,), (1e-9,)],
                    _window_native_pdf(lambda x, p, lo, hi: np.exp(p[0] * (x - lo))), 0, 1),
    "chebyshev": (lambda *c: bf.Chebyshev(list(c)), [(0.3,), (0.2, -0.3), (0.1, 0.2, -0.1)],
                  _window_native_pdf(_cheb_shape), 0, 1),
    "uniform": (bf.Uniform, [()], _line_pdf(lambda x, p: np.ones_like(x), lambda x, p: x), 0, 1),
}


def _windows(name, p, rng, k=2):
    """Return k random windows around the peak of ``p`` (or around 0 for background shapes)."""
    comp = CASES[name][0](*p)
    if name in ("gaussian", "crystalball", "doublecrystalball"):
        c, s = p[0], p[1]
    elif name in ("relbw", "relbwgauss"):
        c, s = p[0], p[1]
    else:
        c, s = CASES[name][3], CASES[name][4]
    out = []
    for _ in range(k):
        lo = max(c + s * rng.uniform(-5, 0.5), comp.support[0])  # inside the support, then a width
        hi = lo + s * rng.uniform(0.5, 8)
        out.append((lo, hi))
    return out


def _functions(comp, lo, hi, grads=False):
    x, edges = pt.dvector("x"), pt.dvector("edges")
    p = [pt.dscalar(n) for n in comp.param_names]
    logpdf = comp.pt_logpdf(x, p, lo, hi)
    logbins = comp.pt_log_bin_probabilities(edges, p, lo, hi)
    if grads:  # the gradients of the density and of the bin probabilities, each finite
        return pytensor.function([x, edges, *p], pt.grad(pt.sum(logpdf), p) + pt.grad(pt.sum(logbins), p),
                                 mode=graph_mode())
    return (pytensor.function([x, *p], logpdf, mode="FAST_COMPILE"),
            pytensor.function([edges, *p], logbins, mode="FAST_COMPILE"))


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(400)


def _integrals(logpdf, p, edges):
    """Return ∫ exp(logpdf) over each bin: Gauss–Legendre, 400 nodes a bin, one vectorised call."""
    a, b = edges[:-1, None], edges[1:, None]
    x = 0.5 * (b - a) * _NODES + 0.5 * (a + b)
    values = np.exp(logpdf(x.ravel(), *p)).reshape(x.shape)
    return (0.5 * (b - a) * values) @ _WEIGHTS


PARAMS = [(name, i) for name, case in CASES.items() for i in range(len(case[1]))]


@pytest.mark.parametrize("name,i", PARAMS, ids=[f"{n}-{i}" for n, i in PARAMS])
def test_component_matches_reference(name, i):
    make, points, ref_pdf, _, _ = CASES[name]
    p = points[i]
    comp = make(*p)
    rng = np.random.default_rng(zlib.crc32(f"{name}-{i}".encode()))  # hash() is salted per process
    for lo, hi in _windows(name, p, rng):
        logpdf, logbins = _functions(comp, lo, hi)
        x = np.linspace(lo, hi, 9)
        rtol = 1e-4 if name == "relbwgauss" else 1e-8
        expected = ref_pdf(x, p, lo, hi)
        np.testing.assert_allclose(np.exp(logpdf(x, *p)), expected, rtol=rtol, err_msg=f"{lo}, {hi}")
        # the numpy/scipy reference the MLE uses agrees with the PyTensor graph the MAP uses
        np.testing.assert_allclose(np.exp(comp.np_logpdf(x, p, lo, hi)), np.exp(logpdf(x, *p)), rtol=1e-9)
        # normalised on the window, and bins are integrals of the density
        edges = np.linspace(lo, hi, 6)
        by_quadrature = _integrals(logpdf, p, edges)
        assert by_quadrature.sum() == pytest.approx(1.0, abs=1e-7)
        bins = np.exp(logbins(edges, *p))
        np.testing.assert_allclose(bins, by_quadrature, rtol=1e-7, atol=1e-12)
        # Where F rounds to one (bins ~8σ above a Crystal Ball peak, holding < 1e-13 of it) both
        # codes are limited by the rounding of F itself: 1e-13 absolute, not 1e-8 relative.
        np.testing.assert_allclose(comp.np_bin_probabilities(edges, p, lo, hi), bins, rtol=1e-8, atol=1e-13)


BOXES = {
    "gaussian": [(-1, 1), (0.05, 3)],
    "crystalball": [(-1, 1), (0.05, 3), (0.1, 5), (1.05, 30)],
    "doublecrystalball": [(-1, 1), (0.05, 3), (0.1, 5), (1.05, 30), (0.1, 5), (1.05, 30)],
    "relbw": [(0.5, 5), (0.1, 3)],
    "relbwgauss": [(3, 6), (0.1, 3), (0.05, 3)],
    "exponential": [(-20, 20)],
    "chebyshev": [(-0.4, 0.4), (-0.4, 0.4)],
}


@pytest.mark.parametrize("name", sorted(BOXES))
def test_gradients_finite_on_the_box(name):
    """Random points and corners of the parameter box, data over the whole window."""
    box = np.array(BOXES[name], dtype=float)
    make = CASES[name][0]
    comp = make(*box.mean(axis=1))
    lo, hi = (0.1, 8.0) if name.startswith("relbw") else (-2.0, 2.0)
    grads = _functions(comp, lo, hi, grads=True)
    rng = np.random.default_rng(4)
    corners = [box[np.arange(len(box)), rng.integers(0, 2, len(box))] for _ in range(8)]
    points = corners + [rng.uniform(box[:, 0], box[:, 1]) for _ in range(12)]
    x, edges = np.linspace(lo, hi, 41), np.linspace(lo, hi, 11)
    for p in points:
        g = grads(x, edges, *p)
        assert np.all(np.isfinite(g)), (name, p, g)


def test_gaussian_reference_is_scipys_norm():
    """The Gaussian's numpy closed form (the MLE's reference) is scipy.stats.norm, far tails included."""
    from bayesfit.distributions import gaussian

    x = np.linspace(-40.0, 40.0, 801)
    for mu, sigma in [(0.0, 1.0), (5.0, 0.3), (-2.0, 7.0)]:
        np.testing.assert_allclose(gaussian.ref_logpdf(x, mu, sigma), stats.norm.logpdf(x, mu, sigma), rtol=1e-13)
        np.testing.assert_allclose(gaussian.ref_cdf(x, mu, sigma), stats.norm.cdf(x, mu, sigma), rtol=1e-13, atol=0)
        q = np.array([1e-300, 1e-12, 0.3, 0.5, 0.9, 1 - 1e-12])
        np.testing.assert_allclose(gaussian.ppf(q, mu, sigma), stats.norm.ppf(q, mu, sigma), rtol=1e-13)


def test_bins_tiling_the_window_and_other_bins_agree():
    """Bins spanning [lo, hi] normalise by their own cdf ends; any other bins by F(hi) − F(lo)."""
    comp, p, lo, hi = bf.CrystalBall(10.575, 0.04, 1.5, 5.0), (10.575, 0.04, 1.5, 5.0), 10.2, 10.8
    edges = np.linspace(lo, hi, 401)
    tiled = comp.np_bin_probabilities(edges, p, lo, hi)
    inner = comp.np_bin_probabilities(edges[1:-1], p, lo, hi)  # not the whole window: the other path
    assert tiled.sum() == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(tiled[1:-1], inner, rtol=1e-13)


def test_chebyshev_positivity_is_checked():
    comp = bf.Chebyshev([0.0, 1.5])  # 1 + 1.5 T2(u) < 0 near u = 0
    logpdf, logbins = _functions(comp, 0.0, 1.0)
    assert np.all(np.isneginf(logpdf(np.array([0.1, 0.5]), 0.0, 1.5)))
    assert np.all(np.isneginf(comp.np_logpdf(np.array([0.1, 0.5]), [0.0, 1.5], 0.0, 1.0)))


def test_argument_checks():
    with pytest.raises(TypeError, match="takes 4 parameters"):
        bf.CrystalBall(1.0, 2.0)
    with pytest.raises(TypeError, match="must be a bayesfit.Parameter or a number"):
        bf.Gaussian("mu", 1.0)
    with pytest.raises(ValueError, match="defined on"):
        bf.WindowModel((-1.0, 5.0), [bf.RelBW(2.0, 1.0)])
    with pytest.raises(ValueError, match="at least one coefficient"):
        bf.Chebyshev([])


@pytest.mark.parametrize("name,i", [("crystalball", 0), ("doublecrystalball", 1), ("chebyshev", 1),
                                    ("gaussian", 0), ("exponential", 0)])
def test_random_draws_follow_the_density(name, i):
    make, points, *_ = CASES[name]
    p = points[i]
    comp = make(*p)
    lo, hi = _windows(name, p, np.random.default_rng(1), k=1)[0]
    draws = comp.random(list(p), lo, hi, 4000, np.random.default_rng(2))
    assert np.all((draws >= lo) & (draws <= hi))
    cdf = lambda x: comp.np_cdf(x, list(p), lo, hi)
    assert stats.kstest(draws, cdf).pvalue > 0.001
