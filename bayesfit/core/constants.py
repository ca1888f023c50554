"""Constants of statistics that several parts of bayesfit quote: one name per concept.

Use these instead of literals, so that the engine's HDI, the toys' coverage, the plots'
contours and the tables all mean the same probability.
"""

import math

__all__ = ["ONE_SIGMA"]

#: Probability content of ±1σ of a Gaussian, erf(1/√2) = 0.682689…: the nominal coverage of
#: a "±1σ" error bar, and the content of the 68.27 % HDI, contours and Clopper–Pearson bands.
ONE_SIGMA = math.erf(1 / math.sqrt(2))
