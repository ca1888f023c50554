"""Densities PyMC does not have, one module each.

- :mod:`.crystalball`: Crystal Ball (Gaussian core, low-side power-law tail), a full PyMC
  distribution :class:`CrystalBall`, with PyTensor kernels and numpy sampling.
- :mod:`.relbw`: relativistic Breit–Wigner :class:`RelBreitWigner` (scipy's ``rel_breitwigner``),
  with a real closed-form cdf; from (ρ, scale) or (mass, width).
- :mod:`.truncexpon`: exp(slope·(x − x0)) normalised on a window, the usual mass background.
"""

from .crystalball import CrystalBall
from .relbw import RelBreitWigner

__all__ = ["CrystalBall", "RelBreitWigner"]
