"""Bayesian fits of a PyMC model: MAP + Laplace, and NUTS.

:func:`find_map_laplace` finds the posterior mode in the model's natural (constrained)
parameters and returns the Laplace covariance, the inverse of the Hessian of
``-log posterior`` there, from JAX's automatic differentiation of the PyMC graph. With flat priors
the mode is the maximum-likelihood point and the Laplace covariance is the HESSE one, which
is what the comparison checks.

:func:`sample_nuts` runs NUTS, through nutpie (with :data:`NUTPIE_OPTIONS`) or ``pymc.sample``,
and returns ArviZ ``InferenceData``. A problem may hand NUTS a faster model with the same
posterior (:meth:`bayesfit.modeling.problem.Problem.sampling_model`, e.g. the one-pass likelihood Op
of :mod:`bayesfit.modeling.kernels`); the MAP always uses :meth:`~bayesfit.modeling.problem.Problem.pymc_model`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import optimize

from bayesfit.core import interrupts
from bayesfit.core.logs import quieted

__all__ = ["MAPResult", "find_map_laplace", "hessian_directions", "sample_nuts", "start_point", "default_sampler",
           "NUTPIE_OPTIONS"]

#: Settings bayesfit gives nutpie. The low-rank correction of the mass matrix learns the few
#: strongly correlated directions (the Crystal Ball's alpha-n-background block) during
#: tuning: on the binned di-muon fit at 1e5 events it cuts the leapfrog steps per draw from
#: about 10 to 6 and more than doubles the effective draws per second.
NUTPIE_OPTIONS = {"low_rank_modified_mass_matrix": True}

#: Distance to the mode, in σ (the Newton decrement), at which the MAP's Newton polish stops.
#: MIGRAD places the MLE to about 5e-3 σ (its EDM goal), so 1e-5 σ keeps MAP = MLE a
#: comparison of the two codes, not of the two stopping rules.
POLISH_DISTANCE = 1e-5


@dataclass(frozen=True)
class MAPResult:
    """Result of :func:`find_map_laplace`.

    Attributes
    ----------
    names : tuple of str
        Free-variable names, in order.
    values : numpy.ndarray
        Posterior mode.
    covariance : numpy.ndarray
        Laplace covariance, the inverse of the (symmetrised) Hessian of ``-log p``.
    hessian : numpy.ndarray
        Hessian of ``-log p`` at the mode.
    posdef : bool
        Whether that Hessian is positive definite. If not, ``covariance`` is NaN.
    logp : float
        Log posterior density at the mode (no Jacobian terms).
    converged : bool
        Whether the optimiser reported success.
    message : str
        The optimiser's message.
    """

    names: tuple
    values: np.ndarray
    covariance: np.ndarray
    hessian: np.ndarray
    posdef: bool
    logp: float
    converged: bool
    message: str

    @property
    def sd(self) -> np.ndarray:
        """Return the Laplace standard deviations."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def correlation(self) -> np.ndarray:
        """Return the Laplace correlation matrix."""
        d = self.sd
        return self.covariance / np.outer(d, d)


def hessian_directions(groups, size):
    """Return the directions whose Hessian-vector products give a sparse Hessian, and how to read it.

    ``-log p`` of a simultaneous fit is a sum of terms (one per category, one per constraint,
    one prior per parameter), each depending on a few parameters: ``H[r, c]`` can be non-zero
    only where parameters ``r`` and ``c`` enter one term together. Columns that never meet
    share a direction (the sum of their unit vectors), so that two categories' own parameters
    cost one Hessian-vector product between them, not two. Each entry is read where it is
    alone in its row of a direction's product, or else, by symmetry, as ``H[c, r]`` (a star
    colouring; Coleman & Moré, SIAM J. Numer. Anal. 20 (1983) 187; Coleman & Moré, Math.
    Program. 28 (1984) 243). The colouring is greedy, parameters with the most neighbours first.

    Parameters
    ----------
    groups : sequence of sequence of int, or None
        The parameter indices of each term; ``None`` for a dense Hessian (every pair may meet).
    size : int
        Number of parameters.

    Returns
    -------
    directions : numpy.ndarray
        Shape ``(m, size)``, ``m <= size``: the unit vectors themselves (in order) for a dense
        Hessian.
    source : numpy.ndarray
        Shape ``(size, size, 2)`` of int: ``H[r, c]`` is row ``source[r, c, 1]`` of the product
        with direction ``source[r, c, 0]``; ``-1`` where the entry is structurally zero.
    """
    if groups is None:
        return np.eye(size), _dense_source(size)
    key = tuple(sorted({tuple(sorted(int(i) for i in g)) for g in groups}))
    directions, source = _star_colouring(key, int(size))
    return directions.copy(), source.copy()


def _dense_source(size):
    r, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return np.stack([c, r], axis=-1)


@functools.lru_cache(maxsize=64)
def _star_colouring(groups, size):
    """:func:`hessian_directions` for a structure (tuples of indices), computed once."""
    pattern = np.eye(size, dtype=bool)
    for group in groups:
        i = np.asarray(group, dtype=int)
        pattern[np.ix_(i, i)] = True
    colour = np.full(size, -1)
    order = sorted(range(size), key=lambda c: (-int(pattern[c].sum()), c))

    def readable(colour, n_colours):
        # count[r, j]: the columns of colour j with an entry in row r
        members = np.zeros((size, n_colours))
        done = colour >= 0
        members[np.flatnonzero(done), colour[done]] = 1.0
        count = pattern.astype(float) @ members
        rows, cols = np.nonzero(pattern & np.outer(done, done))
        direct = count[rows, colour[cols]] == 1
        mirrored = count[cols, colour[rows]] == 1
        return bool(np.all(direct | mirrored)), count

    n_colours = 0
    for c in order:
        for j in range(n_colours + 1):
            colour[c] = j
            if j == n_colours or readable(colour, n_colours)[0]:
                n_colours = max(n_colours, j + 1)
                break
    directions = np.zeros((n_colours, size))
    directions[colour, np.arange(size)] = 1.0
    _, count = readable(colour, n_colours)
    source = np.full((size, size, 2), -1, dtype=int)
    for r, c in zip(*np.nonzero(pattern)):
        if count[r, colour[c]] == 1:
            source[r, c] = (colour[c], r)
        else:
            source[r, c] = (colour[r], c)
    return directions, source


def find_map_laplace(*, names, start, bounds, model=None, function=None, tol=1e-10, groups=None) -> MAPResult:
    """Find the posterior mode and the Laplace covariance in natural parameters.

    Parameters
    ----------
    names : sequence of str
        Scalar free variables of the model, in the order the result should use.
    start : array_like
        Start values, inside ``bounds``.
    bounds : sequence of (float, float)
        Box in which the mode is searched; for flat priors these are the prior's bounds.
    model : pymc.Model, optional
        Model to fit; the model in context if omitted.
    function : callable, optional
        ``function(x, v) -> (log p, ∇log p, Hessian · v)`` on natural parameters, e.g. from
        :func:`bayesfit.backend.compiled.map_function` (compiled once per structure); obtained from
        ``model`` that way if omitted.
    tol : float
        Gradient tolerance of the optimisers.
    groups : sequence of sequence of int, optional
        The parameters that enter one term of ``-log p`` together (see
        :func:`hessian_directions`); ``None`` (the default) when any pair may.

    Returns
    -------
    MAPResult

    Notes
    -----
    The mode is searched without Jacobian terms: it is the mode of the density of the
    natural parameters, so under flat priors it coincides with the maximum-likelihood
    point. ``scipy.optimize.minimize`` runs L-BFGS-B within the bounds on the exact
    gradient, then, for an interior mode, polishes with ``trust-exact`` (Newton steps in a
    trust region) on the exact Hessian until the mode is within :data:`POLISH_DISTANCE` σ
    (the Newton decrement √(gᵀH⁻¹g)). A start already within 1 σ of an interior mode (the
    engine starts from the MLE) goes to the Newton steps directly: a few evaluations instead
    of the ~100 L-BFGS-B makes from afar. The Hessian is assembled from exact Hessian-vector
    products, one per parameter or, given ``groups``, one per colour of :func:`hessian_directions`,
    and symmetrised.
    """
    names = tuple(names)
    if function is None:
        from bayesfit.backend.compiled import map_function

        function = map_function(pm.modelcontext(model), names)[0]
    fn = function
    k = len(names)
    zero = np.zeros(k)
    cache = {}

    def value_grad(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            lp, g, _ = fn(np.asarray(x, dtype=float), zero)
            cache[key] = (-float(lp), -np.asarray(g))
        return cache[key]

    def hessp(x, v):
        return -np.asarray(fn(np.asarray(x, dtype=float), np.asarray(v, dtype=float))[2])

    hessians = {}
    directions, source = hessian_directions(groups, k)

    def hessian_at(x):
        key = np.asarray(x, dtype=float).tobytes()
        if key not in hessians:  # the polish asks for the Hessian of a point it already has
            if len(hessians) > 8:
                hessians.clear()
            products = np.array([hessp(x, d) for d in directions])
            h = np.where(source[..., 0] >= 0, products[source[..., 0], source[..., 1]], 0.0)
            hessians[key] = 0.5 * (h + h.T)
        return hessians[key]

    def decrement(z):
        # Newton decrement √(gᵀ H⁻¹ g): the distance from z to the mode in σ (inf if H is not
        # positive definite there)
        g, h = value_grad(z)[1], hessian_at(z)
        try:
            np.linalg.cholesky(h)
            d2 = float(g @ np.linalg.solve(h, g))
        except np.linalg.LinAlgError:
            return np.inf
        return float(np.sqrt(d2)) if np.isfinite(d2) and d2 >= 0.0 else np.inf

    lo, hi = np.array(bounds, dtype=float).T
    inside = lambda z: bool(np.all(z > lo) and np.all(z < hi))  # noqa: E731

    def polish(z, maxiter=None):
        # Newton steps with the exact Hessian (trust-exact) until the mode is within
        # POLISH_DISTANCE σ: beyond that they only chase the rounding of a sum over many events.
        # The trust region is unconstrained: a trial step outside the box (a fraction below
        # zero, say) has no density there. It counts as +inf with a zero gradient and Hessian,
        # so the step is refused. Returns None where the polish fails or does not improve on z.
        def safe_value(y):
            return value_grad(y)[0] if inside(y) and np.isfinite(value_grad(y)[0]) else np.inf

        def safe_grad(y):
            g = value_grad(y)[1] if inside(y) else np.zeros(k)
            return g if np.all(np.isfinite(g)) else np.zeros(k)

        def safe_hessian(y):
            h = hessian_at(y) if inside(y) else np.eye(k)
            return h if np.all(np.isfinite(h)) else np.eye(k)

        stopped = []

        def stop(intermediate_result):
            if inside(intermediate_result.x) and decrement(intermediate_result.x) < POLISH_DISTANCE:
                stopped.append(True)
                raise StopIteration

        try:
            out = optimize.minimize(safe_value, z, jac=safe_grad, hess=safe_hessian, method="trust-exact",
                                    options={"gtol": tol, "maxiter": maxiter}, callback=stop)
        except (ValueError, np.linalg.LinAlgError):
            return None
        if stopped:
            out.message = f"within {POLISH_DISTANCE:g} σ of the mode"
        return out if inside(out.x) and out.fun <= value_grad(z)[0] else None

    x0 = np.clip(np.asarray(start, dtype=float), lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
    x = None
    margin = np.minimum(x0 - lo, hi - x0) / (hi - lo)
    if np.all(margin > 1e-6) and decrement(x0) < 1.0:
        # A start within 1 σ of an interior mode (the MLE, in bayesfit's fits), off the bounds:
        # Newton steps alone, a handful of evaluations. A mode held at a bound is not reached
        # this way (the steps, refused outside the box, shrink): after 20 of them L-BFGS-B
        # below runs, as for any other start.
        out = polish(x0, maxiter=20)
        if out is not None and decrement(out.x) < POLISH_DISTANCE:
            x, converged, message = np.asarray(out.x, dtype=float), True, f"trust-exact: {out.message}"
    if x is None:
        res = optimize.minimize(value_grad, x0, jac=True, method="L-BFGS-B", bounds=list(zip(lo, hi)),
                                options={"ftol": 1e-15, "gtol": tol, "maxiter": 5000, "maxcor": 30})
        x, message = np.asarray(res.x, dtype=float), f"L-BFGS-B: {res.message}"
        converged = bool(res.success)
        # L-BFGS-B stops on a relative decrease of -log p, which for 1e5 events leaves the
        # mode ~1e-3 σ from where it is: an interior one is polished with Newton steps.
        if inside(x) and np.all(np.isfinite(hessian_at(x))) and decrement(x) >= POLISH_DISTANCE:
            out = polish(x)
            if out is not None:
                x, converged = np.asarray(out.x, dtype=float), converged or bool(out.success)
                message += f"; trust-exact: {out.message}"
    hessian = hessian_at(x)
    nlp, grad = value_grad(x)
    try:
        np.linalg.cholesky(hessian)
        posdef = True
        covariance = np.linalg.inv(hessian)
        covariance = 0.5 * (covariance + covariance.T)
    except np.linalg.LinAlgError:
        posdef = False
        covariance = np.full_like(hessian, np.nan)
    if posdef:
        # Optimisers' own stopping messages reflect the rounding of a sum over many events;
        # what matters is the distance left to the mode in units of σ: √(gᵀ H⁻¹ g), taken over
        # the parameters free to move. One held at a bound by its gradient (pushing outwards)
        # is where the constrained mode has it; its gradient there is not a distance.
        tiny = 1e-9 * (hi - lo)
        held = ((x <= lo + tiny) & (grad > 0)) | ((x >= hi - tiny) & (grad < 0))
        free = ~held
        distance = 0.0
        if free.any():
            g, h = grad[free], hessian[np.ix_(free, free)]
            distance = float(np.sqrt(max(g @ np.linalg.solve(h, g), 0.0)))
        converged = distance < 1e-3
        message += f"; distance to the mode {distance:.1e} σ"
        if held.any():
            message += " (" + ", ".join(n for n, h_ in zip(names, held) if h_) + " held at a bound)"
    converged = converged and bool(np.all(np.isfinite(x)))
    return MAPResult(names, x, covariance, hessian, posdef, -nlp, converged, message)


def start_point(map_: MAPResult, bounds, seed) -> dict:
    """Return a reproducible start for NUTS: the MAP moved by up to one Laplace σ, seeded.

    Each coordinate moves by σ·u with u uniform on (−1, 1) from ``seed``: close enough to the
    mode for a short warm-up, far enough that the gradient does not vanish (nutpie starts its
    mass matrix from it), and the same for the same seed in every process.

    Parameters
    ----------
    map_ : MAPResult
    bounds : sequence of (float, float)
        The box the point must stay inside.
    seed : int or None

    Returns
    -------
    dict
        ``{name: value}``.
    """
    rng = np.random.default_rng(seed)
    sd = map_.sd if map_.posdef else np.full(len(map_.values), np.nan)
    lo, hi = np.array(bounds, dtype=float).T
    width = hi - lo
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 0.01 * width)
    point = map_.values + sd * rng.uniform(-1.0, 1.0, size=sd.size)
    point = np.clip(point, lo + 1e-3 * width, hi - 1e-3 * width)
    return dict(zip(map_.names, point.tolist()))


def default_sampler() -> str:
    """Return the fastest NUTS implementation installed here.

    nutpie (Rust NUTS on a numba-compiled log density and gradient) compiles in a few
    seconds and then samples small models in well under a second and large unbinned
    likelihoods several times faster than PyMC's own Python NUTS, which is the fallback.
    """
    try:
        import nutpie  # noqa: F401
    except ImportError:
        return "pymc"
    return "nutpie"


def sample_nuts(*, draws=1000, tune=1000, chains=4, seed=None, sampler="nutpie",
                progressbar=True, initvals=None, model=None, nuts=None):
    """Sample the posterior with NUTS.

    Parameters
    ----------
    draws, tune, chains : int
        Kept draws per chain, tuning steps per chain, number of chains.
    seed : int, optional
        Random seed; the same seed gives the same draws.
    sampler : {"nutpie", "pymc"}
        NUTS implementation (see :func:`default_sampler`).
    progressbar : bool
        Show the sampler's progress bar.
    initvals : dict, optional
        Start point ``{name: value}`` of every chain (see :func:`start_point`); without it,
        the model's initial point with nutpie's unseeded jitter.
    model : pymc.Model, optional
        Model to sample; the model in context if omitted.
    nuts : bayesfit.backend.compiled.NutsModel, optional
        nutpie's compiled model of ``model``'s structure (:func:`bayesfit.backend.compiled.nuts_model`,
        compiled once per process); obtained that way if omitted. ``model``'s data are swapped
        into it, so nothing is compiled again.

    Returns
    -------
    arviz.InferenceData
        With ``posterior`` and ``sample_stats`` groups.
    """
    model = pm.modelcontext(model)
    if sampler == "nutpie":
        from bayesfit.backend.compiled import model_data, nuts_model

        if nuts is None:
            nuts = nuts_model(model)[0]
        # nutpie's own jitter draws from an unseeded generator, so the same seed gave
        # different draws from run to run. Start instead from the given point (the engine
        # passes start_point(): at the mode itself the gradient vanishes and nutpie's
        # gradient-based mass-matrix start fails).
        compiled = nuts.prepared(model_data(model), dict(initvals) if initvals else None)
        idata = _sample_nutpie(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                               progress_bar=progressbar, **NUTPIE_OPTIONS)
        if "posterior" not in idata.groups() or idata.posterior.sizes.get("draw", 0) < draws:
            raise KeyboardInterrupt("NUTS sampling was interrupted")
        return idata
    if sampler != "pymc":
        raise ValueError(f"unknown sampler {sampler!r}; use 'nutpie' or 'pymc'")
    with quieted(("pymc",)), model:  # the engine reports its own diagnostics
        return pm.sample(
            draws=draws, tune=tune, chains=chains, random_seed=seed, initvals=initvals,
            cores=1, progressbar=progressbar, compute_convergence_checks=False,
        )


def _sample_nutpie(compiled, **kwargs):
    """Run ``nutpie.sample`` in the background and stop it for good on Ctrl-C.

    Blocking, nutpie catches Ctrl-C itself and returns the draws made so far; and a Ctrl-C
    that lands while it sets the sampler up (in a Python callback nutpie calls) was lost under
    load: the run went on to the last draw. Here the main thread waits in short slices, and a
    handler remembers a Ctrl-C wherever it landed, so an interrupt
    cancels the sampler and raises :class:`KeyboardInterrupt`; the caller never mistakes a
    partial posterior for a result.
    """
    import nutpie

    hits = []

    def on_interrupt(signum, frame):
        hits.append(signum)
        raise KeyboardInterrupt

    sampler = None
    try:
        with interrupts.handling(on_interrupt):
            sampler = nutpie.sample(compiled, blocking=False, **kwargs)
            while not hits:
                try:
                    return sampler.wait(timeout=0.1)
                except TimeoutError:  # still sampling
                    continue
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        if sampler is not None:
            sampler.cancel()
        raise KeyboardInterrupt("NUTS sampling was interrupted") from None
