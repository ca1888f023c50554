"""Least squares: measurements y_i ± σ_i against a model curve f(x_i; θ).

The lecture's fits, and any calibration or combination of measurements with Gaussian errors::

    a = bf.Parameter("a", 1.0, -10, 10)
    b = bf.Parameter("b", 0.0, -10, 10, unit="V")
    line = bf.LeastSquares(lambda v, a, b: a * v + b, [a, b], x="v", y="x")
    res = bf.fit(line, {"v": v, "x": x, "sigma": sigma})

With y_i ~ Normal(f(x_i; θ), σ_i), −ln L = ½χ² + const and χ² = Σ (y_i − f(x_i; θ))²/σ_i² (no
factor ½: that expression is −ln L). The maximum-likelihood fit uses scipy's normal density on
f evaluated with numpy; the PyMC model the same f on PyTensor variables, so write f with
arithmetic operators (they work on both). ``x=None`` fits measurements without an abscissa:
f(θ) alone, e.g. ``lambda mean: mean`` for a weighted mean.

The plot shows the data, the MLE curve with its ±1σ band σ²(f(x)) = J(x) C Jᵀ(x) (J the exact
Jacobian ∂f/∂θ by automatic differentiation, C the HESSE covariance: the transport of errors
T C Tᵀ of the lecture) and, with a posterior, the 68 % band of the curve over the draws.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from bayesfit.core.io import InputError
from bayesfit.core.sizes import MAX_MEASUREMENT_MAGNITUDE
from bayesfit.core.parameter import Parameter, guessed_parameters
from bayesfit.modeling.problem import Problem

__all__ = ["LeastSquares"]


class LeastSquares:
    """Gaussian measurements y ± σ of a curve f(x; θ) (see the module docstring).

    Parameters
    ----------
    fn : callable
        ``fn(x, *params)`` (or ``fn(*params)`` when ``x is None``), written with arithmetic
        operators so that it evaluates on numpy arrays and on PyTensor variables.
    params : sequence of Parameter
        The free parameters, in ``fn``'s argument order.
    x, y, yerr : str or None
        Names of the data columns (``x=None``: no abscissa).
    name : str
        Model name in ``result.json`` and the file names.
    x_label, y_label, unit : str
        Axis labels and the unit of x and y.
    title : str
        Plot title (the χ² is appended).
    guess : callable, optional
        ``guess(data) -> {name: start or (start, lower, upper)}``: start values and bounds from
        the data, applied by :func:`bayesfit.fit`. An entry ``"constants": {key: value}``
        passes fixed keyword arguments to ``fn`` for this data set (a pivot, say); they are
        recorded in ``result.json``'s ``meta``.
    meta : dict, optional
        Recorded in ``result.json``.
    """

    def __init__(self, fn, params, *, x="x", y="y", yerr="sigma", name="least_squares", x_label=None,
                 y_label=None, unit="", title="", guess=None, meta=None):
        self.fn = fn
        self.params = tuple(params)
        if not all(isinstance(p, Parameter) for p in self.params):
            raise TypeError("params must be bayesfit.Parameter objects")
        constrained = [p.name for p in self.params if p.constraint is not None]
        if constrained:
            raise ValueError(f"{', '.join(constrained)}: a least-squares model takes no constraint= (add the "
                             "measurement as a data point instead, or use a WindowModel)")
        self.x, self.y, self.yerr = x, y, yerr
        self.name, self.unit, self.title = name, unit, title
        self.x_label = x_label or (x or "measurement")
        self.y_label = y_label or y
        self.guess, self.meta = guess, dict(meta or {})

    @property
    def names(self) -> list:
        """Return the parameter names in order."""
        return [p.name for p in self.params]

    @property
    def columns(self) -> tuple:
        """Return the data columns this model reads, in order."""
        return tuple(c for c in (self.x, self.y, self.yerr) if c is not None)

    def __repr__(self):
        return f"LeastSquares({getattr(self.fn, '__name__', 'fn')}, [{', '.join(self.names)}])"

    def predict(self, x, values, constants=None):
        """Return f(x; values) (numpy)."""
        args = [float(v) for v in values]
        out = self.call(x, args, constants)
        return np.asarray(out, dtype=float)

    def call(self, x, args, constants=None):
        """Return ``fn`` at ``args`` (numbers or PyTensor variables), with the constants."""
        kw = constants or {}
        return self.fn(x, *args, **kw) if self.x is not None else self.fn(*args, **kw)

    def _columns(self, data):
        if isinstance(data, dict):
            missing = [c for c in self.columns if c not in data]
            if missing:
                raise InputError(f"the data lack column(s) {', '.join(map(repr, missing))}")
            cols = [data[c] for c in self.columns]
        else:
            cols = list(data)
            if len(cols) != len(self.columns):
                raise InputError(f"expected {len(self.columns)} columns ({', '.join(self.columns)}), got {len(cols)}")
        out, masked = {}, None
        for name, col in zip(self.columns, cols):
            arr = np.ma.getdata(col) if np.ma.isMaskedArray(col) else np.asarray(col)
            if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
                raise InputError(f"column {name!r}: expected real numbers, got dtype {arr.dtype}")
            arr = np.atleast_1d(arr.astype(float))
            if arr.ndim != 1:
                raise InputError(f"column {name!r}: expected one value per measurement, got shape {arr.shape}")
            out[name] = arr
        lengths = {len(v) for v in out.values()}
        if len(lengths) != 1:
            raise InputError(f"the columns have different lengths: {', '.join(f'{k} {len(v)}' for k, v in out.items())}")
        for col in cols:  # a masked entry leaves its whole measurement out
            if np.ma.isMaskedArray(col):
                mask = np.atleast_1d(np.ma.getmaskarray(col))
                masked = mask if masked is None else masked | mask
        if masked is not None:
            out = {k: v[~masked] for k, v in out.items()}
        for name, arr in out.items():
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise InputError(f"column {name!r}, entry {bad[0] + 1}: {arr[bad[0]]} is not a finite number")
        return out, 0 if masked is None else int(masked.sum())

    def prepare(self, data, *, binned=None, meta=None):
        """Validate ``data`` and return ``(problem, notes)``: what :func:`bayesfit.fit` fits.

        Raises
        ------
        bayesfit.core.io.InputError
            Missing or non-numeric columns, σ ≤ 0, or no more points than parameters.
        """
        if binned not in (None, False):
            raise InputError("binned: a least-squares fit has no binned likelihood")
        cols, n_masked = self._columns(data)
        notes = [f"left out {n_masked} masked measurement(s)"] if n_masked else []
        sigma = cols[self.yerr]
        bad = np.flatnonzero(~(sigma > 0))
        if bad.size:
            raise InputError(f"column {self.yerr!r}, entry {bad[0] + 1}: uncertainties must be > 0 "
                             f"(got {sigma[bad[0]]:g})")
        for name, arr in cols.items():
            big = np.flatnonzero(np.abs(arr) > MAX_MEASUREMENT_MAGNITUDE)
            if big.size:
                raise InputError(f"column {name!r}, entry {big[0] + 1}: {arr[big[0]]:g} is too large for a χ² "
                                 f"in double precision (|value| ≤ {MAX_MEASUREMENT_MAGNITUDE:g}); express the data in another unit")
        y = cols[self.y]
        spread = max(float(np.ptp(y)), float(np.max(np.abs(y))))
        tiny = np.flatnonzero(sigma < spread / MAX_MEASUREMENT_MAGNITUDE)
        if tiny.size:
            raise InputError(f"column {self.yerr!r}, entry {tiny[0] + 1}: σ = {sigma[tiny[0]]:g} is below "
                             f"1/{MAX_MEASUREMENT_MAGNITUDE:g} of the values' size ({spread:g}); its χ² term overflows")
        n = sigma.size
        if n <= len(self.params):
            raise InputError(f"{n} data point(s) for {len(self.params)} parameter(s); a fit with a "
                             f"goodness of fit needs more points than parameters")
        params = self.params
        constants = {}
        if self.guess is not None:
            guessed = dict(self.guess(cols))
            constants = dict(guessed.pop("constants", {}))
            changes = guessed_parameters(params, guessed)
            params = tuple(changes.get(p.name, p) for p in params)
        info = {**self.meta, **constants, **(meta or {})}
        return LeastSquaresProblem(self, cols, params, info, constants), notes


class LeastSquaresProblem(Problem):
    """A :class:`LeastSquares` model bound to its data (what the engine fits)."""

    def __init__(self, model, cols, params, meta, constants=None):
        self.model = model
        self.constants = dict(constants or {})
        self.xv = cols.get(model.x) if model.x is not None else None
        self.yv, self.sigma = cols[model.y], cols[model.yerr]
        super().__init__(name=model.name, params=tuple(params), n_data=self.yv.size, meta=meta)

    def _predict(self, values):
        return np.broadcast_to(self.model.predict(self.xv, values, self.constants), self.yv.shape)

    def nll(self, values):
        """Return −ln L from scipy's normal density."""
        with np.errstate(all="ignore"):
            out = -float(np.sum(stats.norm.logpdf(self.yv, self._predict(values), self.sigma)))
        return out if math.isfinite(out) else math.inf

    def pymc_model(self):
        """Return the PyMC model: priors, Normal measurements (data as ``pm.Data``)."""
        import pymc as pm
        import pytensor.tensor as pt

        with pm.Model() as model:
            free = [p.pymc_variable() for p in self.params]
            y = pm.Data("y", self.yv)
            sigma = pm.Data("sigma", self.sigma)
            x = pm.Data("x", self.xv) if self.model.x is not None else None
            mu = self.model.call(x, free, self.constants)
            pm.Normal("obs", mu=mu * pt.ones_like(y), sigma=sigma, observed=y)
        return model

    def gof(self, values):
        """Return χ² = Σ (y − f)²/σ² with N − parameters degrees of freedom."""
        chi2 = float(np.sum(((self.yv - self._predict(values)) / self.sigma) ** 2))
        ndf = self.n_data - len(self.params)
        p = float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else float("nan")
        return {"chi2": chi2, "ndf": ndf, "p_value": p}

    def discrepancy(self, draws, rng):
        """Return χ² of the measurements and of Gaussian replicas of them at each draw."""
        observed, replicated = [], []
        for values in draws:
            pred = self._predict(values)
            replica = pred + self.sigma * rng.standard_normal(self.yv.shape)
            observed.append(np.sum(((self.yv - pred) / self.sigma) ** 2))
            replicated.append(np.sum(((replica - pred) / self.sigma) ** 2))
        return np.array(observed, dtype=float), np.array(replicated, dtype=float)

    def jacobian(self, x, values) -> np.ndarray:
        """Return J = ∂f/∂θ at ``x`` by automatic differentiation (PyTensor), shape (len(x), k)."""
        import pytensor
        import pytensor.tensor as pt

        theta = pt.dvector("theta")
        args = [theta[i] for i in range(len(self.params))]
        xs = pt.dvector("x")
        f = self.model.call(xs, args, self.constants) * pt.ones_like(xs)
        jac = pytensor.function([xs, theta], pytensor.gradient.jacobian(f, theta))
        return np.asarray(jac(np.asarray(x, dtype=float), np.asarray(values, dtype=float)))

    def plots(self, fit):
        """Return the data with the MLE curve, its ±1σ band and the posterior band."""
        import matplotlib.pyplot as plt

        from bayesfit.core.posterior import posterior_draws
        from bayesfit.output.formatting import format_measurement, format_p_value

        m = self.model
        unit = f" [{m.unit}]" if m.unit else ""
        g = fit.gof
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        if m.x is not None:
            span = np.ptp(self.xv) or 1.0
            grid = np.linspace(self.xv.min() - 0.05 * span, self.xv.max() + 0.05 * span, 200)
            curve = m.predict(grid, fit.mle.values, self.constants) * np.ones_like(grid)
            jac = self.jacobian(grid, fit.mle.values)
            band = np.sqrt(np.einsum("ij,jk,ik->i", jac, fit.mle.covariance, jac))
            ax.fill_between(grid, curve - band, curve + band, color="C1", alpha=0.35,
                            label=r"MLE ±1σ, $J\,C\,J^\mathsf{T}$")
            ax.plot(grid, curve, color="C1", label="MLE: " + ", ".join(
                f"{p.name} = {format_measurement(v, e)}" for p, v, e in zip(self.params, fit.mle.values, fit.mle.errors)))
            if fit.idata is not None:
                draws = posterior_draws(fit.idata, self.names)
                pick = np.random.default_rng(0).choice(len(draws), size=min(1000, len(draws)), replace=False)
                curves = np.array([m.predict(grid, d, self.constants) * np.ones_like(grid) for d in draws[pick]])
                lo, hi = np.quantile(curves, [0.158655, 0.841345], axis=0)
                ax.plot(grid, lo, "k--", lw=1, label="posterior 68 % band of the curve (NUTS)")
                ax.plot(grid, hi, "k--", lw=1)
            ax.errorbar(self.xv, self.yv, yerr=self.sigma, fmt="ko", capsize=3, label="measurements")
            ax.set_xlabel(f"{m.x_label}{unit}")
        else:
            idx = np.arange(1, self.n_data + 1)
            pred = self._predict(fit.mle.values)
            jac = self.jacobian(np.zeros(self.n_data), fit.mle.values)
            err = np.sqrt(np.einsum("ij,jk,ik->i", jac, fit.mle.covariance, jac))
            if np.ptp(pred) == 0:
                ax.axhspan(pred[0] - err[0], pred[0] + err[0], color="C1", alpha=0.3,
                           label=f"fit: {format_measurement(pred[0], err[0])}{' ' + m.unit if m.unit else ''}")
                ax.axhline(pred[0], color="C1")
            else:
                ax.errorbar(idx, pred, yerr=err, fmt="s", color="C1", label="fit ±1σ")
            if fit.idata is not None and len(self.params) == 1:
                post = fit.comparison[self.names[0]]["posterior"]
                ax.errorbar([idx[-1] + 0.6], [post["mean"]], yerr=[post["sd"]], fmt="s", color="C2",
                            capsize=4, label="NUTS posterior mean ± sd")
            ax.errorbar(idx, self.yv, yerr=self.sigma, fmt="ko", capsize=4, label="measurements")
            ax.set_xticks(idx)
            ax.set_xlabel("measurement")
        ax.set_ylabel(f"{m.y_label}{unit}")
        chi2 = (f"χ²/ndf = {g['chi2']:.3f}/{g['ndf']}, p = {format_p_value(g['p_value'])}" if g["ndf"] > 0
                else f"χ² = {g['chi2']:.3f}")
        ax.set_title(f"{m.title}: {chi2}" if m.title else chi2)
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        return {m.name: fig}
