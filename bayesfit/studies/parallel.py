"""Running many small fits in parallel: the Dask runner the studies share.

:func:`map_chunks` calls a function on chunks of work (toys, SBC simulations) either in this
process (``workers=1``) or on Dask: an embedded local cluster of single-threaded worker
processes, one per core by default, or an existing cluster through a ``distributed.Client``.
While the cluster starts, this process works through chunks itself. :class:`Progress` prints
one line of progress; :func:`pin_worker_threads` keeps numba to one thread inside a worker.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

__all__ = ["CHUNK", "TASK_SECONDS", "Progress", "map_chunks", "pin_worker_threads"]

#: Items fitted at a time: in this process while a Dask cluster starts, and the least sent to a
#: worker at a time (amortises the scheduling, keeps the progress and the checkpoint fine).
CHUNK = 10
#: Seconds a Dask task should take: chunks grow to it from the speed of the chunks fitted here.
TASK_SECONDS = 2.0


def pin_worker_threads():
    """In a Dask worker process, keep numba's kernels to one thread: there is a worker per core.

    Never in the user's own process (``workers=1``), whose later fits of large samples use
    every core.
    """
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):  # not in a worker
        return
    import numba

    numba.set_num_threads(1)


class Progress:
    """One line on stderr: items done, rate, time left (rewritten in place on a terminal).

    Parameters
    ----------
    total : int
        Items of the whole run.
    done : int
        Items done before this run (resumed from a checkpoint).
    enabled : bool
        Print at all.
    label : str
        What the items are ("toys", "simulations").
    """

    def __init__(self, total, done, enabled, label="toys"):
        self.total, self.start_done, self.done = total, done, done
        self.enabled, self.label = enabled, label
        self.t0 = self.last = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, n):
        """Count ``n`` more items done and redraw the line (at most five times a second)."""
        self.done += n
        now = time.perf_counter()
        if not self.enabled or (now - self.last < (0.2 if self.tty else 10) and self.done < self.total):
            return
        self.last = now
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        line = f"{self.label}: {self.done:,}/{self.total:,}  {rate:.1f} {self.label}/s  ~{left:.0f} s left"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        if self.tty and self.done >= self.total:
            print(file=sys.stderr)


def _local_cluster(LocalCluster, n):
    """Start a local Dask cluster of ``n`` single-threaded worker processes.

    The workers are forked from a server process that has imported bayesfit's models (and
    with them PyMC) once, instead of each importing them anew after a spawn (seconds per
    worker); the server lives as long as this process, so a second study starts at once.
    """
    import contextlib
    import multiprocessing

    import dask

    how = contextlib.nullcontext()
    if "forkserver" in multiprocessing.get_all_start_methods():  # not on Windows: spawn there
        multiprocessing.set_forkserver_preload(["bayesfit.studies.toys", "bayesfit.models"])
        how = dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    quiet = dask.config.set({"distributed.worker.preload": ["bayesfit.studies.worker_setup"]})  # Ctrl-C: one line
    with how, quiet, warnings.catch_warnings():
        # distributed times its scratch folders and warns when the disk is slow (a busy machine):
        # nothing a user of the study can act on
        warnings.filterwarnings("ignore", message="Creating scratch directories is taking")
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=50)


def map_chunks(fn, head, tail, chunks, workers, client, keep):
    """Call ``fn(*head, chunk, *tail)`` for every chunk, here or on Dask; hand results to ``keep``.

    Parameters
    ----------
    fn : callable
        Works through one chunk and returns its results.
    head, tail : tuple
        Arguments before and after the chunk; ``head[0]`` (the model) is sent to each worker once.
    chunks : list of list
        The work, in chunks of at least :data:`CHUNK` items.
    workers : int or None
        Worker processes of an embedded cluster (the number of cores by default); 1 runs here.
    client : distributed.Client or None
        An existing cluster to run on.
    keep : callable
        Receives each chunk's results as they come.

    Returns
    -------
    (int, float)
        The number of workers used and the seconds until the cluster had the model.

    Notes
    -----

    In this process when ``workers == 1`` (or there is a single chunk and no ``client``);
    otherwise on ``client``, or on an embedded local cluster of ``workers`` single-threaded
    processes (one per core by default). ``head[0]`` (the model) is sent to each worker once.
    Getting there takes seconds (the cluster starts; each worker imports PyMC to unpickle the
    model), so meanwhile this process fits chunks itself (a study shorter than that is done
    here, and only waits for the cluster to come up and close). Returns the number of workers
    used and the seconds until the cluster had the model.
    """
    if client is None and (workers == 1 or len(chunks) <= 1):
        for chunk in chunks:
            keep(fn(*head, chunk, *tail))
        return 1, 0.0
    from concurrent.futures import ThreadPoolExecutor

    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ImportError("parallel toys need dask.distributed (pip install 'distributed')") from exc
    made = {}  # the embedded cluster and its client, for the clean-up whatever happens

    def connect():
        t0 = time.perf_counter()
        c = client
        if c is None:
            n = workers or os.cpu_count() or 1
            made["cluster"] = _local_cluster(LocalCluster, n)
            c = made["client"] = Client(made["cluster"])
        return c, c.scatter(head[0], broadcast=True), time.perf_counter() - t0

    queue, local, t0 = list(chunks), 0, time.perf_counter()
    try:
        with ThreadPoolExecutor(1) as pool:
            ready = pool.submit(connect)
            while queue and not ready.done():
                chunk = queue.pop(0)
                keep(fn(*head, chunk, *tail))
                local += len(chunk)
            c, model_future, start = ready.result()
        n_workers = len(c.scheduler_info()["workers"])
        if local and queue:  # tasks of about TASK_SECONDS each, four or more per worker
            rest = [seed for chunk in queue for seed in chunk]
            per_toy = (time.perf_counter() - t0) / local
            size = int(min(max(len(queue[0]), TASK_SECONDS / per_toy), max(1, len(rest) // (4 * n_workers))))
            queue = [rest[k:k + size] for k in range(0, len(rest), size)]
        futures = [c.submit(fn, model_future, *head[1:], chunk, *tail, pure=False) for chunk in queue]
        for fut in as_completed(futures):
            keep(fut.result())
        return n_workers, start
    finally:
        if "client" in made:
            made["client"].close()
        if "cluster" in made:
            made["cluster"].close()
