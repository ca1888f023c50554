"""Signal handling for long work: Ctrl-C (SIGINT) and SIGTERM, in one place.

Use :func:`handling` to run a block with a handler of one's own (the command line turns
SIGTERM into an exit; the sampler turns Ctrl-C into a clean stop), and :func:`held` for a
block that must not be cut in half (swapping an output folder's files): signals that arrive
inside it are delivered when it ends. Python runs handlers in the main thread only; in any
other thread both do nothing.
"""

import contextlib
import signal
import threading

__all__ = ["handling", "held", "interruption", "STOP_SIGNALS"]

#: The signals that stop a run: Ctrl-C and a polite kill.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def handling(handler, signals=(signal.SIGINT,)):
    """Run the block with ``handler`` installed for ``signals``, then restore the previous ones.

    Parameters
    ----------
    handler : callable
        ``handler(signum, frame)``, as for :func:`signal.signal`.
    signals : sequence of signal.Signals
        The signals to handle; SIGINT by default.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


@contextlib.contextmanager
def held(signals=STOP_SIGNALS):
    """Hold ``signals`` during the block and deliver the first that came once it has ended.

    Parameters
    ----------
    signals : sequence of signal.Signals
        SIGINT and SIGTERM by default.
    """
    pending = []
    with handling(lambda signum, frame: pending.append(signum), signals):
        yield
    if pending:
        signal.raise_signal(pending[0])


def interruption(err):
    """Return the Ctrl-C or SIGTERM behind ``err`` (a ``KeyboardInterrupt`` or ``SystemExit``), else None.

    A signal whose handler raises while compiled code (numba, iminuit's C++) calls back into
    Python comes back as a ``SystemError`` ("... returned a result with an exception set")
    whose cause is the interruption. Code that records failures with ``except Exception``
    re-raises what this returns, so an interrupted study stops instead of counting a failure.

    Parameters
    ----------
    err : BaseException

    Returns
    -------
    KeyboardInterrupt or SystemExit or None
    """
    seen = err
    while isinstance(seen, SystemError) and (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__
    return seen if isinstance(seen, (KeyboardInterrupt, SystemExit)) else None
