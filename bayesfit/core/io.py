"""Reading user data, with errors a physicist can act on.

Use :func:`read_columns` for small tables of measurements (``x,sigma`` or ``v,x,sigma``
CSV files with a header) and :func:`read_masses` for event-by-event invariant masses
(``.txt`` one per line, ``.csv`` with a named column, ``.npy``, or a ROOT file through
uproot). Every problem is raised as :class:`InputError` with one line that names the file,
the line and the column; the command line turns it into exit status 2 without a traceback.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

__all__ = ["InputError", "read_columns", "read_masses"]


class InputError(ValueError):
    """Bad user input: a missing file or column, a non-numeric entry, an invalid value."""


def _number(text: str, where: str) -> float:
    """Return the number written in ``text``, as a decimal with a point; else raise :class:`InputError`.

    Python's ``float`` also reads ``1_0.5`` as 10.5 (digit grouping in source code); in a data
    file that is a typing error, not a number.
    """
    text = text.strip()
    try:
        if "_" in text:
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number") from None


def _too_many_fields(where: str, found: int, header: list) -> InputError:
    """Return the error for a data line with more comma-separated fields than its header."""
    return InputError(f"{where}: {found} comma-separated fields, but the header names {len(header)} "
                      f"({', '.join(map(repr, header))}); decimals must be written with a point "
                      "(a comma separates fields)")


def _existing_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    return path


def read_columns(path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read named numeric columns from a CSV file with a header line.

    Parameters
    ----------
    path : str or path-like
        CSV file; the first line names the columns. Extra columns are ignored.
    columns : tuple of str
        Column names that must be present, e.g. ``("x", "sigma")``.

    Returns
    -------
    dict of str to numpy.ndarray
        One float array per requested column.

    Raises
    ------
    InputError
        For a missing file, a missing column, a non-numeric, NaN or infinite entry, or a
        ragged row; the message names file, line and column.
    """
    path = _existing_file(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    rows = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"{path}: the file is empty")
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(
            f"{path}, line {header_line}: missing column(s) {', '.join(map(repr, missing))} "
            f"(the header has {', '.join(map(repr, header))})"
        )
    index = {c: header.index(c) for c in columns}
    out = {c: [] for c in columns}
    for lineno, row in rows[1:]:
        where = f"{path}, line {lineno}"
        if len(row) > len(header):
            raise _too_many_fields(where, len(row), header)
        for c, j in index.items():
            if j >= len(row):
                raise InputError(f"{where}: no value in column '{c}'")
            value = _number(row[j], f"{where}, column '{c}'")
            if not math.isfinite(value):
                raise InputError(f"{where}, column '{c}': {row[j].strip()} is not a finite number")
            out[c].append(value)
    return {c: np.asarray(v, dtype=float) for c, v in out.items()}


def _masses_from_text(path: Path, column: str | None) -> np.ndarray:
    """Parse a one-column text file or a CSV column, naming the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    j, start = 0, 0
    if column is not None:
        first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
        if first is None:
            raise InputError(f"{path}: the file is empty")
        header = [h.strip() for h in lines[first].split(",")]
        if column not in header:
            raise InputError(
                f"{path}, line {first + 1}: no column {column!r} (the header has {', '.join(map(repr, header))})"
            )
        j, start = header.index(column), first + 1
    values = []
    for lineno in range(start, len(lines)):
        line = lines[lineno].strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {lineno + 1}"
        if column is not None:
            fields = line.split(",")
            if len(fields) > len(header):
                raise _too_many_fields(where, len(fields), header)
            if j >= len(fields):
                raise InputError(f"{where}: no value in column {column!r}")
        else:
            fields = line.split()
            if len(fields) > 1:
                raise InputError(f"{where}: {len(fields)} values on one line; a text file holds one mass per "
                                 "line (for a table, use a .csv file with a header and --column NAME)")
        values.append(_number(fields[j], where))
    return np.asarray(values, dtype=float)


def read_masses(path, *, column: str = "M", tree: str | None = None, branch: str | None = None):
    """Read event-by-event masses from a user file.

    Parameters
    ----------
    path : str or path-like
        ``.txt``/``.dat`` (one value per line, ``#`` comments allowed), ``.csv`` (header line,
        values in ``column``), ``.npy`` (a one-dimensional array) or ``.root`` (``tree`` and
        ``branch`` select the values; needs the optional ``uproot`` package).
    column : str
        CSV column with the masses.
    tree, branch : str, optional
        TTree and branch names for ROOT files. With one tree in the file ``tree`` may be
        omitted; ``branch`` defaults to ``column``.

    Returns
    -------
    values : numpy.ndarray
        Finite masses, in file order.
    n_dropped : int
        Number of NaN or infinite entries that were removed.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, column, tree or branch, or a non-numeric
        entry (the message names its line).
    """
    path = _existing_file(path)
    suffix = path.suffix.lower()
    if suffix in (".txt", ".dat", ""):
        values = _masses_from_text(path, None)
    elif suffix == ".csv":
        values = _masses_from_text(path, column)
    elif suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise InputError(f"{path}: not a readable .npy file ({err or 'empty file'})") from None
        if not isinstance(values, np.ndarray):
            values.close()
            raise InputError(f"{path}: an .npz archive of several arrays, not one .npy array")
        if np.iscomplexobj(values):
            raise InputError(f"{path}: complex numbers ({values.dtype}); give real masses")
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
            raise InputError(f"{path}: expected a one-dimensional numeric array, got {values.dtype}{values.shape}")
        values = values.astype(float)
    elif suffix == ".root":
        values = _masses_from_root(path, tree, branch or column)
    else:
        raise InputError(f"{path}: unknown file type {suffix!r} (use .txt, .csv, .npy or .root)")
    finite = np.isfinite(values)
    return values[finite], int(values.size - finite.sum())


def _masses_from_root(path: Path, tree: str | None, branch: str) -> np.ndarray:
    try:
        import uproot
    except ImportError:
        raise InputError(
            f"{path}: reading ROOT files needs uproot (pip install 'bayesfit[root]')"
        ) from None
    try:
        handle = uproot.open(path)
    except Exception as err:  # uproot raises many types for a bad file
        raise InputError(f"{path}: not a readable ROOT file ({err})") from None
    with handle:
        trees = sorted({k.split(";")[0] for k, cls in handle.classnames().items()
                        if cls in ("TTree", "ROOT::RNTuple")})
        if tree is None:
            if len(trees) != 1:
                raise InputError(f"{path}: choose a tree with --tree (found: {', '.join(trees) or 'none'})")
            tree = trees[0]
        if tree not in trees:
            raise InputError(f"{path}: no tree {tree!r} (found: {', '.join(trees) or 'none'})")
        ttree = handle[tree]
        if branch not in ttree.keys():  # TTree branches or RNTuple fields
            raise InputError(
                f"{path}: tree {tree!r} has no branch {branch!r} (found: {', '.join(ttree.keys())})"
            )
        return np.asarray(ttree[branch].array(library="np"), dtype=float)
