"""The largest sizes, seeds and magnitudes bayesfit accepts, checked before any fitting starts.

Beyond these, memory or floating-point range runs out long before the fit would say anything
useful; the command line's options and :func:`bayesfit.fit` refuse them with one line.
"""

#: Largest seed (nutpie and numpy take unsigned 64-bit seeds; we keep to the signed range).
MAX_SEED = 2**63 - 1

#: Most NUTS draws (or tuning steps) per chain, chains, and draws kept over all chains: the
#: sampler holds every draw in memory, and 10⁷ draws of a few parameters with their
#: statistics already take gigabytes.
MAX_DRAWS, MAX_CHAINS, MAX_KEPT = 1_000_000, 64, 10_000_000

#: Most simulated events (``--events``), bins of the χ² and the plot (``--bins``), and bins of
#: the binned likelihood (``--binned``).
MAX_EVENTS, MAX_BINS, MAX_FIT_BINS = 10**8, 10_000, 1_000_000

#: Most toys of one study: every toy's record (values, errors, intervals) is kept in memory
#: and in the checkpoint file, a few hundred bytes each.
MAX_TOYS = 10_000_000

#: Largest magnitude of a measured value of a least-squares fit, and of the ratio of the values'
#: size to an uncertainty: squares up to 1e200 keep the χ², its gradient and its Hessian finite.
MAX_MEASUREMENT_MAGNITUDE = 1e100

#: Largest magnitude of an event of a window model: the densities raise x to powers up to the
#: sixth.
MAX_EVENT_MAGNITUDE = 1e50

#: Narrowest fit window, absolutely and relative to its position: below these, double
#: precision cannot resolve a shape inside it (widths, slopes and normalisations overflow).
MIN_WINDOW_WIDTH, MIN_WINDOW_RELATIVE_WIDTH = 1e-50, 1e-9
