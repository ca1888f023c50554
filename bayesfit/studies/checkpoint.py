"""The checkpoint file of a toy study: finished toys, one JSON line each, to resume from.

The first line is the study's header (model, truth, events, seed, fits); each further line is
``{"index": i, "record": {...}}`` for one finished toy. :func:`read` checks that a file
belongs to the same study and returns its toys; a line cut short by an interruption is
skipped (that toy is fitted again).
"""

import json
from pathlib import Path

__all__ = ["FILENAME", "study_header", "read", "open_for_append"]

#: The checkpoint's name in an output folder of the command line.
FILENAME = "toys-checkpoint.jsonl"


def study_header(model, truth, n_events, poisson, seed, fits, minos, n_toys) -> dict:
    """Return the header line of a study's checkpoint (what identifies the study).

    Parameters
    ----------
    model : bayesfit.WindowModel
    truth : sequence of float
    n_events : int
    poisson : bool
    seed : int
    fits : sequence of str
    minos : bool
    n_toys : int

    Returns
    -------
    dict
    """
    return {"study": "bayesfit toys", "model": model.name, "truth": [float(t) for t in truth],
            "n_events": n_events, "poisson": poisson, "seed": seed, "fits": list(fits), "minos": minos,
            "n_toys": n_toys}


def read(path, header) -> dict:
    """Return the finished toys of a checkpoint file, checking that it is this study's.

    Parameters
    ----------
    path : str or path-like
    header : dict
        The study's :func:`study_header`.

    Returns
    -------
    dict
        ``{index: record}``.

    Raises
    ------
    ValueError
        The file belongs to another study.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read the checkpoint ({err})") from None
    if not lines:
        return {}
    try:
        first = json.loads(lines[0])
    except json.JSONDecodeError:
        first = None
    if not isinstance(first, dict) or first.get("study") != header.get("study"):
        raise ValueError(f"{path}: not the checkpoint of a bayesfit toy study (its first line is not one's header); "
                         "use another --out, or delete the file")
    mismatch = [k for k in header if k != "n_toys" and first.get(k) != header[k]]
    if mismatch:
        raise ValueError(f"{path}: a checkpoint of another study (its {', '.join(mismatch)} differ); "
                         "use another file or delete it")
    done = {}
    for line in lines[1:]:
        try:
            item = json.loads(line)
            done[int(item["index"])] = item["record"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):  # a line cut short by the interruption
            continue
    return done


def open_for_append(path, header):
    """Open ``path`` to append finished toys, writing ``header`` first into a new or empty file.

    Parameters
    ----------
    path : str or path-like
    header : dict

    Returns
    -------
    file object
        Open for appending; the caller closes it.
    """
    fresh = not Path(path).exists() or Path(path).stat().st_size == 0
    sink = open(path, "a")
    if fresh:
        sink.write(json.dumps(header) + "\n")
        sink.flush()
    return sink
