"""The Crystal Ball + exponential mixture, unbinned: its compiled one-pass likelihood.

The di-muon model (a Crystal Ball peak on an exponential background, mixed by a signal
fraction) is fitted unbinned on up to millions of events, where a generic sum of components
is slow. For exactly this structure :class:`CrystalBallExponential` gives

- the maximum-likelihood side its negative log-likelihood and its analytic gradient and
  Hessian, from the numba kernels of :mod:`bayesfit.modeling.kernels` (one pass over the events)
  and the closed-form window normalisations of the two components;
- the sampler the same log-likelihood as one PyTensor Op with its gradient
  (:meth:`CrystalBallExponential.likelihood_op_potential`), which nutpie compiles.

:class:`bayesfit.modeling.window.WindowProblem` uses it whenever
:meth:`CrystalBallExponential.applies`; every other structure takes the generic path. The
PyMC model of the MAP keeps the plain PyTensor graph (its exact Hessian is needed), so
MAP = MLE stays a check between two codes.
"""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt

from bayesfit.core.parameter import Derived, Parameter, value_of
from bayesfit.distributions import crystalball as cb
from bayesfit.distributions import exponential
from bayesfit.distributions.crystalball import CrystalBall
from bayesfit.distributions.exponential import Exponential

__all__ = ["CrystalBallExponential"]


class CrystalBallExponential:
    """The fast path of a Crystal Ball + exponential window model with a signal fraction, unbinned.

    Parameters
    ----------
    model : bayesfit.WindowModel
        A model for which :meth:`applies` is True.
    data : numpy.ndarray
        The events inside the window.
    """

    def __init__(self, model, data):
        # numba and PyTensor's numba dispatch are imported only when this path is taken
        # (importing them adds warning filters: bayesfit's import must change nothing global)
        from bayesfit.modeling import kernels

        self.kernels = kernels
        self.model, self.data = model, data
        self.lo, self.hi = model.lo, model.hi
        self.names = model.names

    @staticmethod
    def applies(model, fit_bins) -> bool:
        """Return True for Crystal Ball + exponential with a fraction, unbinned, of free or fixed parameters.

        Parameters
        ----------
        model : bayesfit.WindowModel
        fit_bins : int or None
            Bins of the binned likelihood; ``None`` for unbinned.

        Returns
        -------
        bool
        """
        comps = model.components
        return (fit_bins is None and not model.extended and len(comps) == 2
                and type(comps[0]) is CrystalBall and type(comps[1]) is Exponential
                and model.weights[1] is None
                and all(not isinstance(p, Derived) for p in model.slots))  # its Jacobian is per parameter

    def slots(self, free):
        """Return (μ, σ, α, n, slope, f) of the mixture at ``free`` (name → value).

        Parameters
        ----------
        free : dict

        Returns
        -------
        tuple of float
        """
        sig, bkg = self.model.components
        return (*sig.values(free), *bkg.values(free), float(value_of(self.model.weights[0], free)))

    def nll(self, free) -> float:
        """Return −ln L at ``free`` (name → value), ``inf`` outside the parameters' domain.

        Parameters
        ----------
        free : dict

        Returns
        -------
        float
        """
        bkg = self.model.components[1]
        mu, sigma, alpha, n, slope, f = self.slots(free)
        try:
            log_norm_sig = cb.ref_log_window(self.lo, self.hi, mu, sigma, alpha, n)
        except (ValueError, ArithmeticError):  # outside the parameters' domain (math raises)
            return math.inf
        log_norm_bkg = -float(bkg.np_logpdf(self.lo, [slope], self.lo, self.hi))
        k = self.kernels
        kernel = k.cb_exp_loglike if self.data.size >= k.PARALLEL_ABOVE else k.cb_exp_loglike_serial
        return -kernel(self.data, mu, sigma, alpha, n, slope,
                       np.log(f) - log_norm_sig, np.log1p(-f) - log_norm_bkg, self.lo)

    def gradient(self, values) -> np.ndarray:
        """Return the gradient of −ln L with respect to the free parameters at ``values``.

        Parameters
        ----------
        values : sequence of float
            The free parameters, in the model's order.

        Returns
        -------
        numpy.ndarray
        """
        return self._derivatives(values, 1)[0]

    def hessian(self, values) -> np.ndarray:
        """Return the Hessian of −ln L with respect to the free parameters at ``values``.

        Parameters
        ----------
        values : sequence of float

        Returns
        -------
        numpy.ndarray
        """
        return self._derivatives(values, 2)[1]

    def _derivatives(self, values, order):
        """Return (∂(−ln L), ∂²(−ln L) or None) with respect to the free parameters.

        The kernels give ln L's derivatives in their coordinates k = (μ, σ, α, n, slope,
        log w_sig, log w_bkg); the slots φ = (μ, σ, α, n, slope, f) enter the log weights
        through the window normalisations, log w_sig = log f − log S(μ, σ, α, n) and
        log w_bkg = log(1 − f) − log Z(slope), so ∇_φ = Jᵀ∇_k with J = ∂k/∂φ and
        ∇²_φ = Jᵀ∇²_k J + Σ_k ∂ln L/∂k · ∇²_φ k. A parameter in two slots gets both terms.
        """
        sig, bkg = self.model.components
        mu, sigma, alpha, n, slope, f = self.slots(dict(zip(self.names, map(float, values))))
        nan = np.full(len(self.names), np.nan)
        with np.errstate(all="ignore"):
            try:
                log_s, d_log_s, *d2_log_s = cb.ref_log_window(self.lo, self.hi, mu, sigma, alpha, n, derivatives=order)
            except (ValueError, ArithmeticError):  # outside the domain, where nll() is +inf
                return nan, np.diag(nan) if order == 2 else None
            log_z = -float(bkg.np_logpdf(self.lo, [slope], self.lo, self.hi))
            d_log_z, d2_log_z = exponential.ref_log_norm_derivatives(slope, self.lo, self.hi)
            args = (self.data, mu, sigma, alpha, n, slope, np.log(f) - log_s, np.log1p(-f) - log_z, self.lo)
            k = self.kernels
            if order == 2:
                _, d, h = k.cb_exp_loglike_hess(*args)
            elif self.data.size >= k.PARALLEL_ABOVE:
                _, d = k.cb_exp_loglike_grad_parallel(*args)
            else:
                _, d = k.cb_exp_loglike_grad(*args)
            jac = np.zeros((7, 6))
            jac[:5, :5] = np.eye(5)
            jac[5, :4], jac[5, 5] = -d_log_s, 1 / f
            jac[6, 4], jac[6, 5] = -d_log_z, -1 / (1 - f)
            grad = jac.T @ d
            hess = None
            if order == 2:
                hess = jac.T @ h @ jac
                hess[:4, :4] -= d[5] * d2_log_s[0]
                hess[4, 4] -= d[6] * d2_log_z
                hess[5, 5] -= d[5] / f**2 + d[6] / (1 - f) ** 2
        slots = np.zeros((6, len(self.names)))  # φ = slots @ free
        index = {name: i for i, name in enumerate(self.names)}
        for k, p in enumerate([*sig.params, *bkg.params, self.model.weights[0]]):
            if isinstance(p, Parameter):
                slots[k, index[p.name]] = 1.0
        return -(slots.T @ grad), None if hess is None else -(slots.T @ hess @ slots)

    def likelihood_op_potential(self, free, events):
        """Add the one-pass log-likelihood Op as a ``pm.Potential`` to the PyMC model in context.

        Parameters
        ----------
        free : dict
            The model's free variables by name (PyMC random variables).
        events : pytensor.tensor.TensorVariable
            The events (``pm.Data``).

        Returns
        -------
        pytensor.tensor.TensorVariable
            The potential.
        """
        import pymc as pm

        sig, bkg = self.model.components
        mu, sigma, alpha, n = sig.values(free)
        (slope,) = bkg.values(free)
        f_sig = value_of(self.model.weights[0], free)
        log_w_sig = (pt.log(f_sig) - cb.log_shape_integral(alpha, n) - pt.log(sigma)
                     - cb.log_window(self.lo, self.hi, mu, sigma, alpha, n))
        log_w_bkg = pt.log1p(-f_sig) + exponential.logpdf(self.lo, slope, self.lo, self.hi)
        return pm.Potential("loglike", self.kernels.CBExpLogLike(self.lo)(events, mu, sigma, alpha, n, slope,
                                                                     log_w_sig, log_w_bkg)[0])
