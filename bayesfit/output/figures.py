"""Saving figures: PNG and PDF, here or in a forked child while this process computes.

:func:`save_figure` writes one figure as ``stem.png`` and ``stem.pdf``. Rendering both is the
longest part of writing a report, so :func:`save_in_child` hands finished figures to a forked
child (Linux) while the parent computes the profile and contour scans;
:func:`saved_by_child` collects it and :func:`stop_child` makes sure it never outlives the
report that started it.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

import matplotlib.pyplot as plt

__all__ = ["save_figure", "save_in_child", "saved_by_child", "stop_child"]


def save_figure(fig, folder, stem) -> list:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` in ``folder`` and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    folder : pathlib.Path
    stem : str

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    paths = [folder / f"{stem}.png", folder / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def save_in_child(figures, folder):
    """Fork a process that saves ``figures`` into ``folder``; return its pid, or None.

    Parameters
    ----------
    figures : dict
        ``{stem: matplotlib.figure.Figure}``.
    folder : pathlib.Path

    Returns
    -------
    int or None
        The child's pid; ``None`` when no child was started (the caller saves the figures).

    Notes
    -----

    Rendering PNG and PDF is the longest part of writing a report (about 3 s for the di-muon
    fit's figures on two cores); a forked child renders the finished figures while this process
    computes the profile and contour scans. Linux only (forking a process with GUI frameworks
    loaded is unsafe on macOS); ``None`` means the caller saves them itself.
    """
    if not figures or not sys.platform.startswith("linux"):
        return None
    try:
        with warnings.catch_warnings():
            # Python warns that forking a process with threads (JAX's, numba's) may deadlock the
            # child; this child only renders figures with matplotlib and leaves by os._exit,
            # taking no lock those threads could hold
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: save, then leave without any of the parent's clean-up
        code = 1
        try:
            for stem, fig in figures.items():
                save_figure(fig, folder, stem)
            code = 0
        finally:
            os._exit(code)
    return pid


def saved_by_child(pid, figures, folder) -> bool:
    """Wait for the child of :func:`save_in_child`; return True if it wrote every file of ``figures``.

    Parameters
    ----------
    pid : int
    figures : dict
    folder : pathlib.Path

    Returns
    -------
    bool
    """
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0 and all(
        (folder / f"{stem}.{ext}").is_file() for stem in figures for ext in ("png", "pdf"))


def stop_child(pid):
    """Kill and reap the child of :func:`save_in_child` if it is still running.

    Parameters
    ----------
    pid : int
    """
    try:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # reaped already
