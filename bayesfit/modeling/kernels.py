"""One-pass numba likelihoods for large unbinned samples.

Written as a graph of array operations, an event-by-event mixture likelihood and its gradient
make a dozen passes over the events and allocate a temporary array for each. The kernels
here make one pass, in compiled code, and return the sum (and, for NUTS, its gradient).

Use them when an unbinned fit of 10⁵ events or more is too slow:

- :func:`cb_exp_loglike` (parallel over the cores) is the value iminuit minimises in the
  di-muon fit from :data:`PARALLEL_ABOVE` events, :func:`cb_exp_loglike_serial` below; the
  gradient MIGRAD gets comes from :func:`cb_exp_loglike_grad_parallel` and
  :func:`cb_exp_loglike_grad` in the same way, and HESSE's matrix from
  :func:`cb_exp_loglike_hess`, combined with the window normalisations' derivatives
  (:func:`bayesfit.distributions.crystalball.ref_log_window`);
- :class:`CBExpLogLike` wraps the same sum as a PyTensor Op with an analytic gradient and a
  numba implementation, so nutpie compiles it into its sampler. The Op has no second
  derivative: the MAP + Laplace fit keeps the plain PyTensor graph (for its exact Hessian),
  and NUTS, which needs only gradients, gets the Op.

The mixture is f·CB(x) + (1 − f)·Exp(x) in a window starting at ``lo``. The caller passes the
log weights ``log_w_sig = log f − log(normalisation of the Crystal Ball in the window)`` and
``log_w_bkg = log(1 − f) − log ∫ exp(slope (x − lo))``, scalars it computes once per
evaluation, so the kernels only see per-event work: the Crystal Ball shape on one branch, the
exponential's exponent and a log-add-exp.

With t = (x − μ)/σ the log shape is g = −t²/2 for t > −α and
g = −α²/2 − n log z, z = 1 − α(α + t)/n, in the tail, whose derivatives are

    ∂g/∂μ = −α/(zσ),  ∂g/∂σ = −αt/(zσ),  ∂g/∂α = −α + (2α + t)/z,  ∂g/∂n = −log z − α(α + t)/(nz)

(continuous with the core's t/σ, t²/σ, 0, 0 at t = −α); each event's terms are weighted by
its signal responsibility w = exp(log_w_sig + g − log p).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from bayesfit.backend import compat

__all__ = ["cb_exp_loglike", "cb_exp_loglike_serial", "cb_exp_loglike_grad", "cb_exp_loglike_grad_parallel",
           "cb_exp_loglike_hess", "CBExpLogLike",
           "cb_exp_loglike_op", "PARALLEL_ABOVE"]

#: Events from which the MLE's likelihood runs on numba's threads (:func:`cb_exp_loglike`);
#: below, one thread (:func:`cb_exp_loglike_serial`) is as fast and is not slowed down by
#: other processes busy on the same cores. ``numba.set_num_threads`` caps the threads.
PARALLEL_ABOVE = 100_000
_CHUNKS = 64  # of the events, in cb_exp_loglike_grad_parallel


@numba.njit(inline="always")
def _event(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return (log p, w, ∂g/∂μ, ∂g/∂σ, ∂g/∂α, ∂g/∂n) for one event."""
    t = (x - mu) / sigma
    if t > -alpha:
        g = -0.5 * t * t
        g_mu, g_sigma, g_alpha, g_n = t / sigma, t * t / sigma, 0.0, 0.0
    else:
        u = alpha * (alpha + t) / n
        log_z = math.log1p(-u)
        z = 1.0 - u
        g = -0.5 * alpha * alpha - n * log_z
        g_mu = -alpha / (z * sigma)
        g_sigma = -alpha * t / (z * sigma)
        g_alpha = -alpha + (2.0 * alpha + t) / z
        g_n = -log_z - u / z
    a = log_w_sig + g
    b = log_w_bkg + slope * (x - lo)
    # log p = logaddexp(a, b) and w = e^(a − log p) from a single exponential
    if a > b:
        e = math.exp(b - a)
        log_p, w = a + math.log1p(e), 1.0 / (1.0 + e)
    else:
        e = math.exp(a - b)
        log_p, w = b + math.log1p(e), e / (1.0 + e)
    return log_p, w, g_mu, g_sigma, g_alpha, g_n


@numba.njit(inline="always")
def _add_gradient(d, x, lo, w, g_mu, g_sigma, g_alpha, g_n):
    """Add one event's ∂ log p/∂(μ, σ, α, n, slope, log_w_sig, log_w_bkg) to ``d``."""
    d[0] += w * g_mu
    d[1] += w * g_sigma
    d[2] += w * g_alpha
    d[3] += w * g_n
    d[4] += (1.0 - w) * (x - lo)
    d[5] += w
    d[6] += 1.0 - w


@numba.njit(parallel=True, cache=True, error_model="numpy")
def cb_exp_loglike(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return Σ_i log(f·CB(x_i) + (1 − f)·Exp(x_i)), spread over the cores.

    Parameters
    ----------
    x : numpy.ndarray
        Events (float64, inside the window).
    mu, sigma, alpha, n : float
        Crystal Ball parameters (σ > 0, α > 0, n > 1).
    slope : float
        Exponential slope.
    log_w_sig, log_w_bkg : float
        Log weights of the two shapes: fraction minus log normalisation (module docstring).
    lo : float
        Lower edge of the window, the exponential's pivot.

    Returns
    -------
    float
    """
    total = 0.0
    for i in numba.prange(x.size):
        total += _event(x[i], mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo)[0]
    return total


@numba.njit(cache=True, error_model="numpy", nogil=True)
def cb_exp_loglike_serial(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return the sum of :func:`cb_exp_loglike` on one thread.

    For samples below :data:`PARALLEL_ABOVE` events: there a pass takes tens of microseconds,
    and waking threads costs as much, or far more when other processes hold the cores.

    Parameters
    ----------
    x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo
        As in :func:`cb_exp_loglike`.

    Returns
    -------
    float
    """
    total = 0.0
    for i in range(x.size):
        total += _event(x[i], mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo)[0]
    return total


@numba.njit(cache=True, error_model="numpy", nogil=True)
def cb_exp_loglike_grad(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return the sum of :func:`cb_exp_loglike` and its gradient, in one serial pass.

    Serial on purpose: NUTS runs one chain per core already.

    Parameters
    ----------
    x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo
        As in :func:`cb_exp_loglike`.

    Returns
    -------
    value : float
    grad : numpy.ndarray
        Derivatives with respect to (μ, σ, α, n, slope, log_w_sig, log_w_bkg).
    """
    total = 0.0
    d = np.zeros(7)
    for i in range(x.size):
        log_p, w, g_mu, g_sigma, g_alpha, g_n = _event(x[i], mu, sigma, alpha, n, slope,
                                                       log_w_sig, log_w_bkg, lo)
        total += log_p
        _add_gradient(d, x[i], lo, w, g_mu, g_sigma, g_alpha, g_n)
    return total, d


@numba.njit(parallel=True, cache=True, error_model="numpy")
def cb_exp_loglike_grad_parallel(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return :func:`cb_exp_loglike_grad`'s sum and gradient, spread over the cores.

    For the maximum-likelihood fit's analytic gradient from :data:`PARALLEL_ABOVE` events.

    Parameters
    ----------
    x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo
        As in :func:`cb_exp_loglike`.

    Returns
    -------
    value : float
    grad : numpy.ndarray
        As in :func:`cb_exp_loglike_grad`.
    """
    # a fixed number of chunks, not one per thread: the sum does not depend on the threads
    edges = np.linspace(0, x.size, _CHUNKS + 1).astype(np.int64)
    totals, grads = np.zeros(_CHUNKS), np.zeros((_CHUNKS, 7))
    for c in numba.prange(_CHUNKS):  # a serial pass over each chunk
        totals[c], grads[c] = cb_exp_loglike_grad(x[edges[c]:edges[c + 1]], mu, sigma, alpha, n, slope,
                                                  log_w_sig, log_w_bkg, lo)
    return totals.sum(), grads.sum(axis=0)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def cb_exp_loglike_hess(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return the sum of :func:`cb_exp_loglike`, its gradient and its Hessian, in one serial pass.

    Per event, log p = logaddexp(a, b) with a = log_w_sig + g(μ, σ, α, n) and
    b = log_w_bkg + slope·(x − lo), so ∇² log p = w·∇²a + w(1 − w)·(∇a − ∇b)(∇a − ∇b)ᵀ
    (∇²b = 0). g's second derivatives come from G(t, α, n) = log shape and t = (x − μ)/σ:
    g_μμ = G_tt/σ², g_μσ = (t·G_tt + G_t)/σ², g_σσ = (t²·G_tt + 2t·G_t)/σ², g_μα = −G_tα/σ,
    g_σα = −t·G_tα/σ (likewise for n), g_αα = G_αα …; in the core G = −t²/2, in the tail
    (z = 1 − u, u = α(α + t)/n) G_tt = α²/(nz²), G_tα = 1/z + α(2α + t)/(nz²),
    G_tn = −αu/(nz²), G_αα = −1 + 2/z + (2α + t)²/(nz²), G_αn = −(2α + t)u/(nz²),
    G_nn = u²/(nz²). For HESSE: one call gives the covariance that numerical second
    differences get from a hundred.

    Parameters
    ----------
    x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo
        As in :func:`cb_exp_loglike`.

    Returns
    -------
    value : float
    grad : numpy.ndarray
        As in :func:`cb_exp_loglike_grad`.
    hessian : numpy.ndarray
        7 × 7, in the same coordinates.
    """
    total = 0.0
    d = np.zeros(7)
    h = np.zeros((7, 7))
    e = np.zeros(7)
    s2 = sigma * sigma
    for i in range(x.size):
        log_p, w, g_mu, g_sigma, g_alpha, g_n = _event(x[i], mu, sigma, alpha, n, slope,
                                                       log_w_sig, log_w_bkg, lo)
        t = (x[i] - mu) / sigma
        if t > -alpha:
            G_t, G_tt, G_ta, G_tn, G_aa, G_an, G_nn = -t, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0
        else:
            u = alpha * (alpha + t) / n
            z = 1.0 - u
            nz2 = n * z * z
            G_t, G_tt = alpha / z, alpha * alpha / nz2
            G_ta, G_tn = 1.0 / z + alpha * (2.0 * alpha + t) / nz2, -alpha * u / nz2
            G_aa = -1.0 + 2.0 / z + (2.0 * alpha + t) ** 2 / nz2
            G_an, G_nn = -(2.0 * alpha + t) * u / nz2, u * u / nz2
        total += log_p
        _add_gradient(d, x[i], lo, w, g_mu, g_sigma, g_alpha, g_n)
        h[0, 0] += w * G_tt / s2
        h[0, 1] += w * (t * G_tt + G_t) / s2
        h[1, 1] += w * (t * t * G_tt + 2.0 * t * G_t) / s2
        h[0, 2] -= w * G_ta / sigma
        h[0, 3] -= w * G_tn / sigma
        h[1, 2] -= w * t * G_ta / sigma
        h[1, 3] -= w * t * G_tn / sigma
        h[2, 2] += w * G_aa
        h[2, 3] += w * G_an
        h[3, 3] += w * G_nn
        q = w * (1.0 - w)
        e[0], e[1], e[2], e[3] = g_mu, g_sigma, g_alpha, g_n
        e[4], e[5], e[6] = -(x[i] - lo), 1.0, -1.0
        for j in range(7):
            for k in range(j, 7):
                h[j, k] += q * e[j] * e[k]
    for j in range(7):
        for k in range(j):
            h[j, k] = h[k, j]
    return total, d, h


def _scalars(inputs):
    return [float(v) for v in inputs[1:]]


class CBExpLogLike(Op):
    """Σ log(f·CB + (1 − f)·Exp) over fixed events, and its gradient (PyTensor Op).

    Inputs: the events (a constant vector), μ, σ, α, n, slope, log_w_sig, log_w_bkg (scalars;
    see the module docstring). Outputs: the scalar log-likelihood and the vector of its seven
    partial derivatives, both from one pass. The gradient of the first output is the second
    output, so a logp-and-gradient graph evaluates the kernel once; the second output has no
    gradient (the Op is differentiable once).

    Parameters
    ----------
    lo : float
        Lower edge of the window.
    """

    __props__ = ("lo",)

    def __init__(self, lo):
        self.lo = float(lo)

    def make_node(self, x, *params):
        if len(params) != 7:
            raise TypeError("CBExpLogLike takes the events and 7 scalar parameters")
        inputs = [pt.as_tensor_variable(x, dtype="float64")] + [pt.as_tensor_variable(p, dtype="float64")
                                                                for p in params]
        if inputs[0].ndim != 1 or any(p.ndim != 0 for p in inputs[1:]):
            raise TypeError("CBExpLogLike takes a vector of events and scalar parameters")
        return Apply(self, inputs, [pt.dscalar(), pt.dvector()])

    def perform(self, node, inputs, output_storage):
        total, d = cb_exp_loglike_grad(inputs[0], *_scalars(inputs), self.lo)
        output_storage[0][0] = np.asarray(total)
        output_storage[1][0] = d

    def grad(self, inputs, output_grads):
        g_value, g_partials = output_grads
        if not isinstance(g_partials.type, DisconnectedType):
            raise NotImplementedError("CBExpLogLike is differentiable once: use the PyTensor graph "
                                      "of the likelihood where second derivatives are needed")
        partials = self(*inputs)[1]
        return [DisconnectedType()()] + [
            g_value * partials[i] for i in range(7)
        ]

    def connection_pattern(self, node):
        return [[False, False]] + [[True, True]] * 7


# With a cache key (from the Op's props, lo), PyTensor caches this function and, above all, the
# whole graph that contains it: unregistered, the Op made nutpie's log p graph uncacheable, so
# every process compiled it again with numba (8 s for the di-muon model).
@compat.register_numba_op(CBExpLogLike)
def _numba_cb_exp_loglike(op, node=None, **kwargs):
    lo = op.lo

    @numba.njit
    def loglike(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg):
        total, d = cb_exp_loglike_grad(x, mu.item(), sigma.item(), alpha.item(), n.item(), slope.item(),
                                       log_w_sig.item(), log_w_bkg.item(), lo)
        return np.asarray(total), d

    return loglike


def cb_exp_loglike_op(x, mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg, lo):
    """Return the PyTensor graph of :class:`CBExpLogLike` for events ``x`` in a window from ``lo``.

    Parameters
    ----------
    x : numpy.ndarray
        Events.
    mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg : tensor_like
        Scalars, as in :func:`cb_exp_loglike`.
    lo : float

    Returns
    -------
    TensorVariable
        Scalar log-likelihood.
    """
    return CBExpLogLike(lo)(np.asarray(x, dtype=float), mu, sigma, alpha, n, slope, log_w_sig, log_w_bkg)[0]
