"""The component protocol: a density with parameters, normalised on a fit window.

A component file (``gaussian.py``, ``crystalball.py`` …) holds pure functions with one
argument order, ``(x, *shape parameters)``, and one :class:`Component` subclass naming them:

- ``logpdf(x, *p)`` and ``logcdf(x, *p)``: PyTensor graphs of the density normalised on its
  whole support (gradients finite on the whole parameter box);
- ``ref_logpdf(x, *p)`` and ``ref_cdf(x, *p)``: an independent numpy/scipy implementation of
  the same density, used by the maximum-likelihood fit, so that MAP = MLE stays a check
  between two codes;
- optionally ``logsf(x, *p)``, the log survival function log(1 − F), exact where F rounds
  to 1: bins above the median are then taken from survival-function differences and stay
  exact far in the upper tail (it costs a second special function per bin edge; without it
  such bins get a tiny finite floor, see :meth:`Component._log_differences`);
- optionally ``ppf(q, *p)`` (numpy) for drawing events.

Shapes that exist only on a window (the exponential of any slope, Chebyshev polynomials, the
uniform density) set ``window_native = True``; their functions then take the window last,
``(x, *p, lo, hi)``, and return the window-normalised density directly, with closed-form bin
probabilities ``log_bin_probabilities(edges, *p, lo, hi)`` / ``ref_bin_probabilities``.

:class:`Component` derives from these, once for every shape, the window-normalised log
density, log cdf and log bin probabilities (PyTensor and numpy) that
:class:`bayesfit.WindowModel` sums. A user's component needs only ``logpdf`` and ``logcdf``:
without references the maximum-likelihood fit evaluates the compiled PyTensor graph, and the
result says that the MAP = MLE check is then not between independent codes.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor
import pytensor.tensor as pt

from bayesfit.core.parameter import Derived, Parameter, value_of

__all__ = ["Component", "logdiffexp"]


def logdiffexp(a, b):
    """Return log(exp(a) − exp(b)) for a ≥ b, stably (PyTensor graph)."""
    return a + pt.log1mexp(pt.minimum(b - a, 0.0))


class Component:
    """A density component of a window model (see the module docstring).

    Parameters
    ----------
    *params : Parameter, Derived or float
        The shape parameters, in the order of :attr:`param_names`. A float is a fixed value, a
        :class:`~bayesfit.core.parameter.Derived` one (``sigma * 1.06``) is computed from others.
    label : str, optional
        Legend label in plots; the class's :attr:`title` if omitted.

    Attributes
    ----------
    param_names : tuple of str
        Names of the shape parameters, in the order of the functions' arguments.
    support : (float, float)
        Where the density is defined; a window edge at or beyond it contributes exactly 0
        (lower) or 1 (upper) to the window probability.
    window_native : bool
        The functions take the window and are normalised on it (see the module docstring).
    """

    param_names: tuple = ()
    title: str = "component"
    support = (-math.inf, math.inf)
    window_native = False
    logpdf = None
    logcdf = None
    logsf = None
    ref_logpdf = None
    ref_cdf = None
    ppf = None
    log_bin_probabilities = None
    ref_bin_probabilities = None

    def __init__(self, *params, label=None):
        if len(params) != len(self.param_names):
            raise TypeError(f"{type(self).__name__} takes {len(self.param_names)} parameters "
                            f"({', '.join(self.param_names)}), got {len(params)}")
        for name, p in zip(self.param_names, params):
            if not isinstance(p, (Parameter, Derived)):
                try:
                    float(p)
                except (TypeError, ValueError):
                    raise TypeError(f"{type(self).__name__}: {name} must be a bayesfit.Parameter or a "
                                    f"number, got {p!r}") from None
        # numpy float64, not Python float: PyTensor makes a Python 1.5 a float32 constant, and
        # a subgraph of constants alone (log α of a fixed α) would then lose eight digits.
        self.params = tuple(p if isinstance(p, (Parameter, Derived)) else np.float64(p) for p in params)
        self.label = label or self.title
        self._compiled = None

    def __repr__(self):
        args = ", ".join(p.name if isinstance(p, (Parameter, Derived)) else repr(p) for p in self.params)
        return f"{type(self).__name__}({args})"

    @property
    def has_reference(self) -> bool:
        """Whether an independent numpy/scipy implementation exists for the MLE."""
        if self.window_native:
            return self.ref_logpdf is not None and self.ref_bin_probabilities is not None
        return self.ref_logpdf is not None and self.ref_cdf is not None

    def check_window(self, lo, hi):
        """Raise ``ValueError`` if the window reaches outside the density's support."""
        s_lo, s_hi = self.support
        if lo < s_lo or hi > s_hi:
            raise ValueError(f"{type(self).__name__} is defined on [{s_lo:g}, {s_hi:g}]; "
                             f"the window [{lo:g}, {hi:g}] reaches outside it")

    def values(self, free: dict):
        """Return the shape parameters: free ones from ``free`` (name → value), derived ones computed."""
        return [value_of(p, free) for p in self.params]

    # --- PyTensor, window-normalised -------------------------------------------------
    def pt_log_norm(self, p, lo, hi):
        """Return log(F(hi) − F(lo)), the log probability of the window (PyTensor)."""
        if self.window_native:
            return pt.as_tensor_variable(0.0)
        lo_in, hi_in = lo > self.support[0], hi < self.support[1]
        if lo_in and hi_in:
            return self._log_differences(pt.as_tensor_variable(np.array([lo, hi])), p)[0]
        if hi_in:
            return type(self).logcdf(hi, *p)
        if lo_in:
            return pt.log1mexp(pt.minimum(type(self).logcdf(lo, *p), 0.0))
        return pt.as_tensor_variable(0.0)

    def pt_logpdf(self, x, p, lo, hi):
        """Return the log density at ``x`` normalised on [lo, hi] (PyTensor)."""
        if self.window_native:
            return type(self).logpdf(x, *p, lo, hi)
        return type(self).logpdf(x, *p) - self.pt_log_norm(p, lo, hi)

    def pt_log_bin_probabilities(self, edges, p, lo, hi):
        """Return log P(bin) for the bins ``edges`` of [lo, hi] (PyTensor, exact).

        Closed forms for window-native shapes; otherwise log-cdf differences, where an edge
        at the support's lower end has F = 0 exactly.
        """
        if self.window_native:
            return type(self).log_bin_probabilities(edges, *p, lo, hi)
        return self._log_differences(edges, p) - self.pt_log_norm(p, lo, hi)

    def _log_differences(self, edges, p):
        """Return log(F(e_{j+1}) − F(e_j)) for consecutive edges (PyTensor).

        Below the median from log-cdf differences; above it, with ``logsf``, from log-sf
        differences S(e_j) − S(e_{j+1}), exact where F rounds to 1. Each branch gets safe dummy
        arguments where it is not taken, so neither produces a NaN gradient.
        """
        lc = type(self).logcdf(edges, *p)
        if type(self).logsf is None:
            # Where F rounds to one at both edges the difference is zero in floating point:
            # cap it at −1e-300 so that the bin has a tiny finite log probability (≈ −690)
            # and a finite gradient instead of −∞ and NaN. Such bins hold < 1e-16 of the
            # component, far below any other term of a mixture.
            return lc[1:] + pt.log1mexp(pt.minimum(lc[:-1] - lc[1:], -1e-300))
        ls = type(self).logsf(edges, *p)
        low = lc[1:] < -np.log(2.0)
        from_cdf = logdiffexp(pt.switch(low, lc[1:], 0.0), pt.switch(low, lc[:-1], -1.0))
        from_sf = logdiffexp(pt.switch(low, 0.0, ls[:-1]), pt.switch(low, -1.0, ls[1:]))
        return pt.switch(low, from_cdf, from_sf)

    # --- numpy references, window-normalised -----------------------------------------
    def _compiled_functions(self):
        """Compile the PyTensor graphs, for components without a numpy reference."""
        if self._compiled is None:
            x, lo, hi = pt.dvector("x"), pt.dscalar("lo"), pt.dscalar("hi")
            p = [pt.dscalar(n) for n in self.param_names]
            if self.window_native:
                logpdf = type(self).logpdf(x, *p, lo, hi)
                logbins = type(self).log_bin_probabilities(x, *p, lo, hi)
            else:
                logpdf = type(self).logpdf(x, *p)
                logbins = type(self).logcdf(x, *p)
            self._compiled = (pytensor.function([x, *p, lo, hi], logpdf, on_unused_input="ignore"),
                              pytensor.function([x, *p, lo, hi], logbins, on_unused_input="ignore"))
        return self._compiled

    def _ref_cdf(self, x, p):
        if self.ref_cdf is not None:
            return type(self).ref_cdf(x, *p)
        return np.exp(self._compiled_functions()[1](np.atleast_1d(np.asarray(x, dtype=float)), *p, 0.0, 1.0))

    def np_log_norm(self, p, lo, hi) -> float:
        """Return log(F(hi) − F(lo)) from the reference (numpy)."""
        if self.window_native:
            return 0.0
        f_hi = self._ref_cdf(np.array([hi]), p)[0] if hi < self.support[1] else 1.0
        f_lo = self._ref_cdf(np.array([lo]), p)[0] if lo > self.support[0] else 0.0
        with np.errstate(divide="ignore"):
            return float(np.log(f_hi - f_lo))

    def np_logpdf(self, x, p, lo, hi):
        """Return the log density at ``x`` normalised on [lo, hi] (numpy reference)."""
        x = np.asarray(x, dtype=float)
        if self.ref_logpdf is not None:
            if self.window_native:
                return type(self).ref_logpdf(x, *p, lo, hi)
            return type(self).ref_logpdf(x, *p) - self.np_log_norm(p, lo, hi)
        out = self._compiled_functions()[0](np.atleast_1d(x), *p, lo, hi)
        if not self.window_native:
            out = out - self.np_log_norm(p, lo, hi)
        return out.reshape(x.shape)

    def np_bin_probabilities(self, edges, p, lo, hi):
        """Return P(bin) for the bins ``edges`` of [lo, hi] (numpy reference)."""
        edges = np.asarray(edges, dtype=float)
        if self.window_native:
            if self.ref_bin_probabilities is not None:
                return type(self).ref_bin_probabilities(edges, *p, lo, hi)
            return np.exp(self._compiled_functions()[1](edges, *p, lo, hi))
        cdf = self._ref_cdf(edges, p)
        if edges[0] <= self.support[0]:
            cdf = np.concatenate([[0.0], cdf[1:]])
        if edges[0] == lo and edges[-1] == hi and hi < self.support[1]:
            return np.diff(cdf) / (cdf[-1] - cdf[0])  # bins that tile the window: F(hi) − F(lo) is at hand
        return np.diff(cdf) / np.exp(self.np_log_norm(p, lo, hi))

    def np_cdf(self, x, p, lo, hi):
        """Return the cdf normalised on [lo, hi] at ``x`` (numpy), for drawing and gof bins."""
        x = np.clip(np.asarray(x, dtype=float), lo, hi)
        if self.window_native:
            flat = np.atleast_1d(x).ravel()
            order = np.argsort(flat)
            edges = np.concatenate([[lo], flat[order]])
            cum = np.cumsum(self.np_bin_probabilities(edges, p, lo, hi))
            out = np.empty_like(flat)
            out[order] = cum
            return out.reshape(np.shape(x))
        f_lo = self._ref_cdf(np.array([lo]), p)[0] if lo > self.support[0] else 0.0
        return (self._ref_cdf(x, p) - f_lo) / np.exp(self.np_log_norm(p, lo, hi))

    def random(self, p, lo, hi, size, rng):
        """Draw ``size`` values from the window-normalised density (numpy).

        With a closed-form ``ppf`` the cdf is inverted exactly inside [F(lo), F(hi)];
        otherwise the reference cdf is inverted by interpolation on a grid of 2¹⁴ points.
        """
        rng = np.random.default_rng(rng)
        if self.ppf is not None:
            if self.window_native:
                return type(self).ppf(rng.uniform(size=size), *p, lo, hi)
            f_lo = self._ref_cdf(np.array([lo]), p)[0] if lo > self.support[0] else 0.0
            f_hi = self._ref_cdf(np.array([hi]), p)[0] if hi < self.support[1] else 1.0
            return np.clip(type(self).ppf(rng.uniform(f_lo, f_hi, size=size), *p), lo, hi)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise NotImplementedError(f"{type(self).__name__}: drawing on an infinite window needs a ppf")
        grid = np.linspace(lo, hi, 2**14 + 1)
        cdf = np.maximum.accumulate(self.np_cdf(grid, p, lo, hi))
        return np.interp(rng.uniform(size=size), cdf, grid)
