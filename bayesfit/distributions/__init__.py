"""Density components, one module each, with one argument order everywhere.

Every module holds PyTensor ``logpdf``/``logcdf`` graphs, an independent numpy/scipy
reference (``ref_logpdf``/``ref_cdf``) for the maximum-likelihood fit, and a
:class:`~bayesfit.distributions.base.Component` subclass that a
:class:`bayesfit.WindowModel` sums:

=========================== ============================ ======================================
component                   parameters                   use
=========================== ============================ ======================================
:class:`Gaussian`           mu, sigma                    resolution-dominated peak
:class:`CrystalBall`        mu, sigma, alpha, n          peak with a low-side radiative tail
:class:`DoubleCrystalBall`  mu, sigma, alpha_l, n_l,     peak with tails on both sides (LHC)
                            alpha_r, n_r
:class:`RelBW`              mass, width                  a resonance's natural line shape
:class:`RelBWRho`           rho, scale                   the same in scipy's parameters
:class:`RelBWGauss`         mass, width, sigma           a resonance seen with a resolution
:class:`Exponential`        slope                        smooth falling/rising background
:class:`Chebyshev`          c1 … cK                      polynomial background of any order
:class:`Uniform`            —                            flat background
=========================== ============================ ======================================

:class:`CrystalBallDist` and :class:`RelBreitWigner` are the same densities as PyMC
distributions, for use in hand-written PyMC models.
"""

from bayesfit.distributions.base import Component
from bayesfit.distributions.chebyshev import Chebyshev
from bayesfit.distributions.crystalball import CrystalBall, CrystalBallDist
from bayesfit.distributions.doublecrystalball import DoubleCrystalBall
from bayesfit.distributions.exponential import Exponential
from bayesfit.distributions.gaussian import Gaussian
from bayesfit.distributions.relbw import RelBreitWigner, RelBW, RelBWRho
from bayesfit.distributions.relbw_gauss import RelBWGauss
from bayesfit.distributions.uniform import Uniform

__all__ = ["Component", "Gaussian", "CrystalBall", "DoubleCrystalBall", "Exponential", "Chebyshev",
           "Uniform", "RelBW", "RelBWRho", "RelBWGauss", "CrystalBallDist", "RelBreitWigner"]
