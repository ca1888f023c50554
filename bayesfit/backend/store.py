"""The disk store of compiled functions, and one compilation per structure across processes.

:func:`cache_dir` is the folder (``$BAYESFIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/bayesfit``,
else ``~/.cache/bayesfit``; one subfolder per Python, PyTensor, PyMC and bayesfit version);
:func:`save` pickles an object there atomically, :func:`load` reads it back (``None`` for a
missing, damaged or foreign file: it is compiled again, never fatal). :func:`structure_lock`
makes a second process that needs the same structure wait for the first and load its result.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import tempfile
import zlib
from pathlib import Path

__all__ = ["WAITING", "cache_dir", "load", "save", "structure_lock"]

#: Announced (not reported) while another process compiles the same structure.
WAITING = "waiting"


def cache_dir() -> Path:
    """Return the folder of bayesfit's on-disk compile cache (see the module description).

    Returns
    -------
    pathlib.Path
    """
    root = os.environ.get("BAYESFIT_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "bayesfit")
    import pymc
    import pytensor

    from bayesfit import __version__

    tag = (f"py{sys.version_info.major}{sys.version_info.minor}-pytensor{pytensor.__version__}"
           f"-pymc{pymc.__version__}-bayesfit{__version__}")
    return Path(root) / tag


def load(path):
    """Return the object pickled in ``path``, or ``None`` if it is missing or cannot be read.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    object or None
    """
    try:
        with open(path, "rb") as fh:
            return pickle.loads(zlib.decompress(fh.read()))
    except Exception:  # noqa: BLE001 - a damaged or foreign file is recompiled, never fatal
        return None


def save(path, obj):
    """Pickle ``obj`` into ``path`` atomically; a folder that cannot be written is skipped.

    Parameters
    ----------
    path : pathlib.Path
    obj : object
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
        with os.fdopen(fd, "wb") as fh:
            fh.write(zlib.compress(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), 3))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except Exception:  # noqa: BLE001 - a read-only home must not stop a fit
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def structure_lock(path, announce=None):
    """Hold a file lock beside ``path`` while its structure is loaded or compiled.

    A second process that needs the same structure meanwhile (another pytest worker, a toy
    study's worker, a second terminal) waits, says so through ``announce(WAITING)``, and then
    loads what the first stored instead of compiling it again. Without a writable cache folder
    there is no lock and each process compiles.
    """
    from filelock import FileLock, Timeout

    lock = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{path}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if announce is not None:
                announce(WAITING)
            lock.acquire()
    except OSError:
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
