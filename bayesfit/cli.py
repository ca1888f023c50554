"""Command line: ``python -m bayesfit MODEL [options]`` (also installed as ``bayesfit``).

Every model of the ``models`` package is a subcommand. Each run fits the model three ways,
prints the comparison table and writes ``result.json``, ``summary.md``, the plots (PNG and
PDF) and, with ``--sample``, ``posterior.nc`` into ``bayesfit-out/<model>/`` or ``--out``.
Bad input ends the run with one line on stderr and exit status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

from .io import InputError

__all__ = ["main", "build_parser"]


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_common(parser):
    g = parser.add_argument_group("fitting and output")
    g.add_argument("--sample", action="store_true",
                   help="also sample the posterior with NUTS (slower; adds posterior columns, "
                        "posterior plots and posterior.nc)")
    g.add_argument("--draws", type=_positive_int, default=1000, metavar="N",
                   help="NUTS draws kept per chain (default: 1000)")
    g.add_argument("--tune", type=_positive_int, default=1000, metavar="N",
                   help="NUTS tuning (warm-up) steps per chain, discarded (default: 1000)")
    g.add_argument("--chains", type=_positive_int, default=4, metavar="N",
                   help="number of independent NUTS chains (default: 4)")
    g.add_argument("--seed", type=int, default=1234, metavar="S",
                   help="random seed for the sampler and for simulated data (default: 1234)")
    g.add_argument("--sampler", choices=["auto", "pymc", "nutpie"], default="auto",
                   help="NUTS implementation; 'auto' takes nutpie, the fastest, when it is "
                        "installed (default: auto)")
    g.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: bayesfit-out/<model>)")
    g.add_argument("--no-progress", action="store_true", help="hide the sampler's progress bar")


def build_parser():
    """Return the argument parser with one subcommand per model module.

    Returns
    -------
    argparse.ArgumentParser
    """
    from models import discover

    parser = argparse.ArgumentParser(
        prog="bayesfit",
        description="Fit a physics model three ways on the same data: maximum likelihood "
                    "(iminuit), MAP + Laplace, and NUTS (PyMC), and compare them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="MODEL", required=True)
    for command, module in discover().items():
        p = sub.add_parser(command, help=module.HELP, description=module.__doc__.split("\n\n")[0])
        module.add_arguments(p)
        _add_common(p)
        p.set_defaults(_module=module)
    return parser


def _quiet_libraries():
    """Keep the terminal for what the user needs: our table, progress and warnings."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    for name in ("pymc", "pytensor", "arviz", "nutpie", "numba"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` if omitted.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on bad input.
    """
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    module = args._module
    prog = f"bayesfit {args.command}"
    t0 = time.perf_counter()

    def say(msg):
        print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    try:
        problem = module.build(args)
    except InputError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    for note in problem.meta.pop("notes", []):
        print(f"{prog}: warning: {note}", file=sys.stderr)

    from .engine import run_fits
    from .report import summary_text, write_report

    fit = run_fits(problem, sample=args.sample, draws=args.draws, tune=args.tune,
                   chains=args.chains, seed=args.seed, sampler=args.sampler,
                   progressbar=not args.no_progress and sys.stderr.isatty(), log=say)
    out = args.out if args.out is not None else Path("bayesfit-out") / args.command
    say(f"writing result.json, summary.md, plots{', posterior.nc' if args.sample else ''} ...")
    written = write_report(fit, out)
    print()
    print(summary_text(fit))
    print()
    print(f"wrote {len(written)} files to {os.fspath(out)}/: " + ", ".join(p.name for p in written))
    return 0
