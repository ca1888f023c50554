"""An output folder that always holds one complete set of files.

A run writes its files into a hidden folder inside the target (:func:`staged`); when all of
them are written, the previous run's files (listed in :data:`MANIFEST`) are moved aside, the
new ones moved in and the list rewritten, with SIGINT and SIGTERM held meanwhile
(:func:`bayesfit.core.interrupts.held`). If anything fails or the process is interrupted
before the new list is written, the old set is put back: the folder holds either the
complete old set or the complete new one, never files of two runs, and no temporary folder
is left behind. Files in the folder that bayesfit did not write are left alone.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

from bayesfit.core import interrupts

__all__ = ["MANIFEST", "staged", "owned_files", "written"]


#: File in an output folder listing the files of the run that wrote it (bayesfit's own).
MANIFEST = ".bayesfit-files.json"


#: What a run of a release without the manifest may have left beside its ``result.json``.
_LEGACY = ("result.json", "summary.md", "posterior.nc", "posterior_marginals.png", "posterior_marginals.pdf",
           "pairs.png", "pairs.pdf")


def owned_files(out: Path) -> list:
    """Return the files of the previous run in ``out`` (from its manifest), or [].

    Parameters
    ----------
    out : pathlib.Path

    Returns
    -------
    list of pathlib.Path
    """
    try:
        names = json.loads((out / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        names = _LEGACY if (out / "result.json").is_file() else []
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [out / n for n in names if isinstance(n, str) and "/" not in n and (out / n).is_file()]


@contextlib.contextmanager
def staged(out):
    """Yield a hidden folder inside ``out`` to write a run's files into; swap them in at the end.

    On leaving the block normally, every file of the hidden folder replaces the previous
    run's set (see the module's description); on an exception, ``KeyboardInterrupt`` or
    ``SystemExit``, the previous set stays. Either way the hidden folders are removed.

    Parameters
    ----------
    out : str or pathlib.Path
        The output folder; created if needed.

    Yields
    ------
    pathlib.Path
        The hidden folder. After the block, the caller reads the list of files now in ``out``
        from :data:`MANIFEST`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".bayesfit-new-", dir=out))
    old = None
    moved_in, moved_out, committed = [], [], False
    held = contextlib.ExitStack()
    try:
        yield new
        files = sorted(f.name for f in new.iterdir())
        manifest = new / MANIFEST
        manifest.write_text(json.dumps({"files": files}) + "\n")
        held.enter_context(interrupts.held())  # the swap and its clean-up are not interrupted half-way
        old = Path(tempfile.mkdtemp(prefix=".bayesfit-old-", dir=out))
        previous = {f.name for f in owned_files(out)} | {n for n in files if (out / n).is_file()}
        for name in sorted(previous):
            (out / name).replace(old / name)
            moved_out.append(name)
        for name in files:
            (new / name).replace(out / name)
            moved_in.append(name)
        manifest.replace(out / MANIFEST)  # the commit point: from here on the new set stands
        committed = True
    finally:
        _restore(out, new, old, moved_in, moved_out, committed)
        held.close()  # delivers a SIGINT or SIGTERM that came during the swap, now that the set is whole


def _restore(out, new, old, moved_in, moved_out, committed):
    """Put the previous set back unless the new one was committed; remove the hidden folders."""
    if not committed:
        for name in moved_in:
            (out / name).unlink(missing_ok=True)
        for name in moved_out:
            (old / name).replace(out / name)
    shutil.rmtree(new, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def written(out) -> list:
    """Return the files of the set in ``out`` as its manifest lists them (after :func:`staged`).

    Parameters
    ----------
    out : str or pathlib.Path

    Returns
    -------
    list of pathlib.Path
    """
    out = Path(out)
    return [out / n for n in json.loads((out / MANIFEST).read_text())["files"]]
