"""Keeping the libraries' log messages out of the terminal.

bayesfit reports its own diagnostics; PyMC's, PyTensor's, ArviZ's, nutpie's and numba's
loggers would repeat them, or say things a user cannot act on. :func:`quiet` lowers them for
the rest of the process (the command line, a compiling child); :func:`quieted` for a block.
"""

import contextlib
import logging

__all__ = ["LIBRARIES", "quiet", "quieted"]

#: The loggers of the libraries bayesfit drives.
LIBRARIES = ("pymc", "pytensor", "arviz", "nutpie", "numba")


def quiet(names=LIBRARIES, level=logging.ERROR) -> dict:
    """Set the loggers ``names`` to ``level``; return their previous levels.

    Parameters
    ----------
    names : sequence of str
        Logger names; the libraries bayesfit drives by default.
    level : int
        The new level; ``logging.ERROR`` by default.

    Returns
    -------
    dict
        ``{name: previous level}``, for :func:`logging.Logger.setLevel` to restore.
    """
    previous = {}
    for name in names:
        logger = logging.getLogger(name)
        previous[name] = logger.level
        logger.setLevel(level)
    return previous


@contextlib.contextmanager
def quieted(names=LIBRARIES, level=logging.ERROR):
    """Run the block with the loggers ``names`` at ``level``, then restore them.

    Parameters
    ----------
    names : sequence of str
    level : int
    """
    previous = quiet(names, level)
    try:
        yield
    finally:
        for name, old in previous.items():
            logging.getLogger(name).setLevel(old)
