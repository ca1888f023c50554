"""Set-up of the worker processes of bayesfit's embedded Dask cluster (a Dask preload module).

:func:`bayesfit.studies.parallel.map_chunks` starts its local cluster with this module as the
workers' preload. Ctrl-C in a terminal reaches every process of the foreground group, the
workers included; each would print a traceback of its own. The process that started the study
reports the interruption and closes the cluster, so the workers ignore Ctrl-C.
"""

import signal
import threading

__all__ = ["dask_setup"]


def dask_setup(worker):
    """Make the worker process ignore SIGINT (Dask calls this when the worker starts).

    Parameters
    ----------
    worker : distributed.Worker
    """
    if threading.current_thread() is threading.main_thread():  # handlers are set there only
        signal.signal(signal.SIGINT, signal.SIG_IGN)
