"""Command line: ``python -m bayesfit MODEL [options]`` (also installed as ``bayesfit``).

A thin layer over :func:`bayesfit.fit`. Every model module of :mod:`bayesfit.models` (and of
the ``bayesfit.models`` entry-point group) is a subcommand; its factory's keyword arguments
become options (``flat_prior=False`` → ``--flat-prior``), and the data options follow from the
kind of model: masses (``--data``, ``--column``, ``--tree``/``--branch``, ``--range``,
``--bins``, ``--binned``/``--unbinned``) for a window model, a CSV table with the model's
columns for a least-squares model. Each run prints the comparison table and writes
``result.json``, ``summary.md``, the plots (PNG and PDF) and, with ``--sample``,
``posterior.nc`` into ``bayesfit-out/<model>/`` or ``--out``. Bad input ends the run with one
line on stderr and exit status 2, before any fitting.

``python -m bayesfit toys MODEL`` runs a toy study of a model that simulates its data
(:mod:`bayesfit.studies.toys`): pulls and coverage in ``toys.json``, ``toys.md``, ``pulls.png`` and
``coverage.png``; the finished toys are checkpointed in the output folder and ``--resume``
continues an interrupted study. ``python -m bayesfit signal`` runs the relativistic
Breit–Wigner seed's signal test (:mod:`bayesfit.studies.discovery`): toys, asymptotic p-value, Z and
the Bayes factor, into ``result.json`` and ``null_distribution.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import inspect
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from bayesfit.core import interrupts
from bayesfit.core.io import InputError
from bayesfit.core.logs import quiet
from bayesfit.studies import checkpoint as checkpoints
from bayesfit.core.sizes import MAX_BINS, MAX_CHAINS, MAX_DRAWS, MAX_EVENTS, MAX_FIT_BINS, MAX_SEED, MAX_TOYS

__all__ = ["main", "build_parser"]

_HANDLED = ("window", "nbins")  # factory arguments with dedicated options


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the problem and where to read more."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(least, most):
    """Return an argparse type: an integer from ``least`` to ``most``."""

    def integer(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"must be from {least:,} to {most:,}, got {value:,}")
        return value

    return integer


def _finite(text):
    try:
        if "_" in text:  # float() reads "1_0.5" as 10.5: a typing error on a command line
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"need a finite number, got {text!r}")
    return value


def _folder(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name a folder (. for the current one)")
    return Path(text)


def _negative_numbers_as_values(argv):
    """Return ``argv`` with negative numbers in exponent notation (``-1e60``) kept as values.

    argparse takes a word that starts with "-" for an option unless it looks like ``-5`` or
    ``-0.5``; ``--range -1e60 1e60`` then fails with "expected 2 arguments". No option of
    bayesfit is a number, so such a word gets a leading space, which ``float`` ignores.
    """
    out = []
    for word in argv:
        if word.startswith("-") and not word.startswith("--"):
            try:
                float(word)
            except ValueError:
                pass
            else:
                word = " " + word
        out.append(word)
    return out


_seed = _integer(0, MAX_SEED)
_draws = _integer(1, MAX_DRAWS)


def _option_help(factory) -> dict:
    """Return ``{argument: first line of its numpydoc description}`` of a factory."""
    doc = inspect.getdoc(factory) or ""
    out = {}
    for m in re.finditer(r"^(\w+) : [^\n]*\n((?:    [^\n]*\n?)+)", doc, flags=re.M):
        out[m.group(1)] = " ".join(line.strip() for line in m.group(2).splitlines()).replace("``", "")
    return out


def _add_common(parser):
    g = parser.add_argument_group("fitting and output")
    g.add_argument("--sample", action="store_true",
                   help="also sample the posterior with NUTS (adds posterior columns, posterior "
                        "plots and posterior.nc)")
    g.add_argument("--draws", type=_draws, default=1000, metavar="N",
                   help="NUTS draws kept per chain (default: 1000)")
    g.add_argument("--tune", type=_draws, default=1000, metavar="N",
                   help="NUTS tuning (warm-up) steps per chain, discarded (default: 1000)")
    g.add_argument("--chains", type=_integer(1, MAX_CHAINS), default=4, metavar="N",
                   help="number of independent NUTS chains (default: 4)")
    g.add_argument("--seed", type=_seed, default=1234, metavar="S",
                   help="random seed for the sampler and for simulated data (default: 1234)")
    g.add_argument("--sampler", choices=["auto", "pymc", "nutpie"], default="auto",
                   help="NUTS implementation; 'auto' takes nutpie when installed (default: auto)")
    g.add_argument("--out", type=_folder, default=None, metavar="DIR",
                   help="output folder (default: bayesfit-out/<model>)")
    g.add_argument("--no-progress", action="store_true", help="hide the sampler's progress bar")
    g.add_argument("--mle-only", action="store_true",
                   help="fit the maximum likelihood only (iminuit; nothing to compile, about a second): the "
                        "quick loop of iterating on a model")
    g.add_argument("--no-minos", action="store_true",
                   help="skip MINOS (its intervals and the MINOS contours); for quick fits of large samples")
    g.add_argument("--check-coverage", type=_integer(0, MAX_TOYS), default=0, metavar="N",
                   help="run N toys at the fitted point and say whether each interval covers at this "
                        "sample size (window models; default: 0, none)")


def _add_binning_options(group):
    from bayesfit.modeling.window import FIT_BINS

    g = group.add_mutually_exclusive_group()
    g.add_argument("--binned", nargs="?", type=_integer(2, MAX_FIT_BINS), const=FIT_BINS, default=None, metavar="NBINS",
                   help=f"exact binned likelihood in NBINS bins (default {FIT_BINS}); automatic "
                        "for large samples")
    g.add_argument("--unbinned", action="store_true",
                   help="force the event-by-event likelihood even for large samples")


def _add_category_data_options(group, model):
    """Add the data options of a simultaneous fit: one file per category."""
    group.add_argument("--data", action="append", metavar="CATEGORY=FILE",
                       help="the values of one category (.txt, .csv with --column, .npy, .root); once per "
                            f"category: {', '.join(model.categories)}")
    group.add_argument("--column", default="M", help="CSV column with the values (default: M)")
    group.add_argument("--tree", help="ROOT TTree name (if the file has more than one)")
    group.add_argument("--branch", help="ROOT branch with the values (default: --column)")
    _add_binning_options(group)


def _category_files(items, model) -> dict:
    """Return ``{category: path}`` from ``--data CATEGORY=FILE`` options, checked against the model."""
    files = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise InputError(f"--data: expected CATEGORY=FILE with a category of {', '.join(model.categories)}, "
                             f"got {item!r}")
        if name not in model.categories:
            raise InputError(f"--data {item}: no category {name!r}; the categories are {', '.join(model.categories)}")
        if name in files:
            raise InputError(f"--data: category {name} is given twice")
        files[name] = path
    missing = [k for k in model.categories if k not in files]
    if missing:
        raise InputError(f"--data: give a file for every category; missing: {', '.join(missing)}")
    return files


def _add_model_options(parser, module, factory, example_model):
    from bayesfit.modeling.simultaneous import Simultaneous
    from bayesfit.modeling.window import WindowModel

    params = inspect.signature(factory).parameters
    helps = _option_help(factory)
    own = parser.add_argument_group("model")
    for name, par in params.items():
        if name in _HANDLED or par.default is inspect.Parameter.empty:
            continue
        flag = "--" + name.replace("_", "-")
        text = helps.get(name, "")
        if isinstance(par.default, bool):
            own.add_argument(flag, dest=f"opt_{name}", action="store_true", help=text)
        elif isinstance(par.default, (str, int, float)):
            own.add_argument(flag, dest=f"opt_{name}", type=type(par.default), default=par.default,
                             metavar=name.upper(), help=f"{text} (default: {par.default})")
    data = parser.add_argument_group("data")
    if isinstance(example_model, Simultaneous):
        _add_category_data_options(data, example_model)
        return
    if isinstance(example_model, WindowModel):
        data.add_argument("--data", metavar="FILE",
                          help="your values: .txt (one per line), .csv (see --column), .npy, or "
                               ".root (see --tree/--branch)")
        examples = getattr(module, "EXAMPLES", {})
        if examples:
            data.add_argument("--example", choices=sorted(examples),
                              help="fit a shipped real-data example: " + "; ".join(
                                  f"{k} = {v.get('help', '')}" for k, v in examples.items()))
        if hasattr(module, "EVENTS"):
            data.add_argument("--events", type=_integer(1, MAX_EVENTS), default=module.EVENTS, metavar="N",
                              help="events to simulate when no data are given (default: %(default)s)")
        data.add_argument("--column", default="M", help="CSV column with the values (default: M)")
        data.add_argument("--tree", help="ROOT TTree name (if the file has more than one)")
        data.add_argument("--branch", help="ROOT branch with the values (default: --column)")
        if "window" in params:
            lo, hi = params["window"].default
            data.add_argument("--range", nargs=2, type=_finite, metavar=("LO", "HI"), default=None,
                              help=f"fit window (default: {lo:g} {hi:g})")
        if "nbins" in params:
            data.add_argument("--bins", type=_integer(2, MAX_BINS), default=params["nbins"].default, metavar="N",
                              help="bins of the χ² and the plot (default: %(default)s)")
        _add_binning_options(data)
    else:
        data.add_argument("--data", metavar="FILE",
                          help=f"CSV file with a header and columns {','.join(example_model.columns)}")


def build_parser():
    """Return the argument parser with one subcommand per model module.

    Returns
    -------
    argparse.ArgumentParser
    """
    from bayesfit.models import discover, factory

    parser = _Parser(
        prog="bayesfit",
        description="Fit a physics model three ways on the same data: maximum likelihood "
                    "(iminuit), MAP + Laplace, and NUTS (PyMC), and compare them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="MODEL", required=True)
    simulating = {}
    for command, module in discover().items():
        make = factory(module)
        example = make()
        p = sub.add_parser(command, help=module.HELP, description=(module.__doc__ or "").split("\n\n")[0])
        _add_model_options(p, module, make, example)
        _add_common(p)
        p.set_defaults(model_module=module)
        if hasattr(example, "simulate"):
            simulating[command] = module
    _add_toys(sub, simulating)
    _add_signal(sub)
    _add_run(sub)
    _add_limit(sub)
    return parser


def _add_signal(sub):
    """Add ``signal``: the seed's likelihood-ratio test, its composite form and the Bayes factor."""
    from bayesfit.studies.discovery import SEARCH_SETUP

    p = sub.add_parser("signal", help="is there a RelBW signal on a flat background? toys, Z, Bayes factor",
                       description="The relativistic Breit-Wigner seed's signal test: the simple-vs-simple "
                                   "likelihood ratio reproduced, the composite test with the signal fraction "
                                   "fitted (p-value from toys, asymptotic Chernoff p-value, Z), and the Bayes "
                                   "factor of the same hypotheses (quadrature and SMC).")
    p.add_argument("--data", metavar="FILE", help="your masses in [0, L] (.txt, .csv with --column, .npy); "
                                                  "default: the seed's sample")
    p.add_argument("--column", default="M", help="CSV column with the values (default: M)")
    p.add_argument("--toys", type=_integer(1, MAX_TOYS), default=1000, metavar="B",
                   help="background-only toys of the null distribution (default: %(default)s)")
    p.add_argument("--seed", type=_seed, default=SEARCH_SETUP["seed"], metavar="S",
                   help="seed of the seed's sample and of the toys (default: %(default)s, the seed's)")
    p.add_argument("--no-smc", action="store_true", help="skip the SMC evidence (quadrature only)")
    p.add_argument("--out", type=_folder, default=None, metavar="DIR", help="output folder (default: bayesfit-out/signal)")


def _run_signal(args, prog):
    """Run ``signal``; return the exit status."""
    import json

    from bayesfit.core.jsonable import to_jsonable
    from bayesfit.core.io import read_masses
    from bayesfit.output import folder
    from bayesfit.output.figures import save_figure
    from bayesfit.studies.discovery import (SEARCH_SETUP, check_search_data, plot_null, signal_test,
                                            simple_vs_simple_test)

    out = args.out if args.out is not None else Path("bayesfit-out") / "signal"
    t0 = time.perf_counter()
    say = lambda msg: print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)
    try:
        _check_out(out)
        data, source = None, f"the seed's sample (numpy default_rng({args.seed}))"
        if args.data is not None:
            data, dropped = read_masses(args.data, column=args.column)
            source = str(args.data)
            check_search_data(data)  # before any line of progress: bad data get one line
            if dropped:
                print(f"{prog}: warning: {args.data}: dropped {dropped} NaN/inf value(s)", file=sys.stderr)
        say("the seed's simple-vs-simple test (w, rho, scale known) ...")
        simple = simple_vs_simple_test(seed=args.seed, toys=SEARCH_SETUP["toys"])
        result = signal_test(data, toys=args.toys, seed=args.seed, smc=not args.no_smc, progress=say)
    except InputError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        source = f"{args.data}: " if args.data else ""
        print(f"{prog}: error: {source}{err}", file=sys.stderr)
        return 2
    doc = {"source": source, "seed": args.seed,
           "simple_test": {"description": "the seed's test: w, rho, scale known; T = 2 (ln L1 - ln L0)",
                           "t_obs": simple["t_obs"], "p_value": simple["p_value"],
                           "p_bound_95": simple["p_bound_95"], "t_null": simple["t_null"].tolist()}
           if args.data is None else None,
           "composite_test": {**{k: v for k, v in result.items() if k != "t_null"},
                              "t_null": np.asarray(result["t_null"]).tolist()}}
    with folder.staged(out) as new:  # replaces the previous run's set as a whole
        (new / "result.json").write_text(json.dumps(to_jsonable(doc), indent=1, allow_nan=False) + "\n")
        save_figure(plot_null(result), new, "null_distribution")
    written = folder.written(out)
    r = result
    print()
    if args.data is None:
        bound = f" (p < {simple['p_bound_95']:.2g} at 95 % CL)" if simple["p_bound_95"] is not None else ""
        print(f"seed's simple test: T_obs = {simple['t_obs']:.3f}, Monte Carlo p = {simple['p_value']:g} "
              f"from {SEARCH_SETUP['toys']} toys{bound}")
    print(f"composite test ({r['hypotheses']['H1']}): {r['n']} events, ŵ = {r['w_hat']:.4f}, T_obs = {r['t_obs']:.3f}")
    if r["p_bound_95"] is not None:
        print(f"  toys: no toy of {r['toys']:,} reaches T_obs: p < {r['p_bound_95']:.2g} at 95 % CL "
              f"(Z > {r['z_toys_at_least']:.2f})")
    else:
        lo, hi = r["p_toys_cp68"]
        z = f", Z = {r['z_toys']:.2f}" if r["z_toys"] is not None else ""
        print(f"  toys: p = {r['p_toys']:.4g} (68 % CL {lo:.3g}–{hi:.3g}) from {r['toys']:,} toys{z}")
    print(f"  asymptotic (Chernoff, ½χ²₁): p = {r['p_asymptotic']:.3g}, Z = {r['z_asymptotic']:.2f}")
    worst = max(abs(c["toys"] - c["asymptotic"]) / max(c["toys_cp68"][1] - c["toys"], c["toys"] - c["toys_cp68"][0], 1e-12)
                for c in r["asymptotic_check"])
    print("  asymptotic formula vs toys: " + ", ".join(f"P(T≥{c['t']:g}) {c['toys']:.3f} vs {c['asymptotic']:.3f}"
                                                     for c in r["asymptotic_check"])
          + f" (largest difference {worst:.1f} toy σ)")
    smc = (f"; SMC {r['ln_b10_smc']:.2f} ± {r['ln_b10_smc_error']:.2f}" if "ln_b10_smc" in r else "")
    print(f"  Bayes factor ({r['prior']}): ln B10 = {r['ln_b10_quad']:.2f} by quadrature{smc}")
    print(f"\nwrote {len(written)} files to {os.fspath(out)}/: " + ", ".join(p.name for p in written))
    return 0


def _add_toys(sub, simulating):
    """Add ``toys MODEL``: a toy study of a model that simulates its data (:mod:`bayesfit.studies.toys`)."""
    p = sub.add_parser("toys", help="toy study of a model: pulls, coverage, failures (Dask)",
                       description="Draw datasets from a model at given parameter values, fit each, and "
                                   "report pulls, the coverage of the HESSE, MINOS, Laplace and HDI "
                                   "intervals, and the failed or flagged fits.")
    p.add_argument("model", choices=sorted(simulating), metavar="MODEL",
                   help=f"the model ({', '.join(sorted(simulating))})")
    p.add_argument("--toys", type=_integer(1, MAX_TOYS), default=200, metavar="N",
                   help="number of toys (default: %(default)s)")
    p.add_argument("--events", type=_integer(1, MAX_EVENTS), default=2000, metavar="N",
                   help="events per toy (default: %(default)s)")
    p.add_argument("--poisson", action="store_true", help="fluctuate the events of each toy (Poisson)")
    p.add_argument("--truth", nargs="+", default=(), metavar="NAME=VALUE",
                   help="parameter values to draw at (default: the model's start values)")
    p.add_argument("--map", action="store_true", help="also fit MAP + Laplace (Laplace coverage)")
    p.add_argument("--nuts", action="store_true",
                   help="also sample each toy with NUTS (HDI coverage; slow), with --draws/--tune/--chains")
    p.add_argument("--draws", type=_draws, default=500, metavar="N", help="NUTS draws per chain (default: 500)")
    p.add_argument("--tune", type=_draws, default=500, metavar="N", help="NUTS tuning steps (default: 500)")
    p.add_argument("--chains", type=_integer(1, MAX_CHAINS), default=2, metavar="N",
                   help="NUTS chains (default: 2)")
    p.add_argument("--no-minos", action="store_true", help="skip MINOS (ten times faster; no MINOS coverage)")
    p.add_argument("--sbc", action="store_true",
                   help="simulation-based calibration instead: each toy's truth drawn from the prior, "
                        "NUTS (--draws/--tune/--chains), ranks of the truth (sbc.json, sbc.png; no checkpoint)")
    p.add_argument("--seed", type=_seed, default=1234, metavar="S",
                   help="the study's seed; each toy's is spawned from it (default: 1234)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=_integer(1, 1024), default=None, metavar="N",
                   help="worker processes of the embedded Dask cluster; 1 runs without Dask "
                        "(default: one per core)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://host:8786)")
    p.add_argument("--resume", action="store_true",
                   help="continue the study whose finished toys are in --out (same model, truth, events, seed)")
    p.add_argument("--out", type=_folder, default=None, metavar="DIR", help="output folder (default: bayesfit-out/toys-<model>)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress line")
    p.set_defaults(toys_model_modules=simulating)


#: Seconds to wait for a Dask scheduler given with ``--scheduler`` before calling it unreachable.
SCHEDULER_TIMEOUT_S = 5


@contextlib.contextmanager
def _dask_client(address):
    """Yield a client of the Dask scheduler at ``address`` (closed afterwards), or None without one.

    Raises
    ------
    InputError
        No scheduler answers at ``address`` within :data:`SCHEDULER_TIMEOUT_S`: bad input.
    """
    if not address:
        yield None
        return
    from distributed import Client

    try:
        client = Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(f"--scheduler {address}: no Dask scheduler answered within {SCHEDULER_TIMEOUT_S} s "
                         f"({type(err).__name__})") from None
    try:
        yield client
    finally:
        client.close()


def _run_sbc(args, prog, model, out):
    """Run ``toys MODEL --sbc``: simulation-based calibration (:mod:`bayesfit.studies.sbc`)."""
    from bayesfit.studies.sbc import sbc

    try:
        with _dask_client(args.scheduler) as client:
            print(f"[{args.model}] SBC: {args.toys:,} simulations of {args.events:,} events, NUTS {args.chains} chains x "
                  f"({args.tune} + {args.draws})", file=sys.stderr)
            result = sbc(model, args.toys, args.events, seed=args.seed, draws=args.draws, tune=args.tune,
                         chains=args.chains, workers=args.workers, client=client, progress=not args.no_progress)
    except (ValueError, InputError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as err:  # the cluster failed during the study
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; SBC keeps no checkpoint, nothing was written", file=sys.stderr)
        return 130
    written = result.save(out)
    print()
    print(result.table())
    print(f"\n{args.toys:,} simulations in {result.timing_s['wall']:.1f} s on {result.workers} worker(s)")
    print(f"wrote {len(written)} files to {os.fspath(out)}/: " + ", ".join(p.name for p in written))
    return 0


def _run_toys(args, prog):
    """Run ``toys MODEL``; return the exit status."""
    from bayesfit.models import factory
    from bayesfit.studies.toys import resolve_truth, toys

    module = args.toys_model_modules[args.model]
    model = factory(module)()
    out = args.out if args.out is not None else Path("bayesfit-out") / f"toys-{args.model}"
    truth = {}
    for item in args.truth:
        name, sep, value = item.partition("=")
        try:
            number = _finite(value)
        except argparse.ArgumentTypeError:
            sep = ""
        if not sep:
            print(f"{prog}: error: --truth: expected NAME=VALUE with a finite number, got {item!r}", file=sys.stderr)
            return 2
        if name in truth:
            print(f"{prog}: error: --truth: {name} is given twice ({name}={truth[name]:g} and {item})", file=sys.stderr)
            return 2
        truth[name] = number
    fits = ("mle",) + (("map",) if args.map else ()) + (("nuts",) if args.nuts else ())
    checkpoint = out / checkpoints.FILENAME
    try:  # every check before any line of progress or any toy
        _check_out(out)
        try:
            truth_values = resolve_truth(model, truth or None)
        except ValueError as err:
            raise InputError(f"--truth: {err}") from None
        if args.resume and checkpoint.is_file() and not args.sbc:
            header = checkpoints.study_header(model, truth_values, args.events, args.poisson, args.seed, fits,
                                              not args.no_minos, args.toys)
            checkpoints.read(checkpoint, header)
    except (InputError, ValueError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    if args.sbc:
        return _run_sbc(args, prog, model, out)
    try:
        if not args.resume and checkpoint.exists():
            checkpoint.unlink()
        out.mkdir(parents=True, exist_ok=True)
        with _dask_client(args.scheduler) as client:
            print(f"[{args.model}] {args.toys:,} toys of {args.events:,} events, fits: {', '.join(fits)}"
                  f"{'' if args.no_minos else ' (with MINOS)'}; checkpoint {checkpoint}", file=sys.stderr)
            study = toys(model, args.toys, args.events, truth=truth_values, poisson=args.poisson, seed=args.seed,
                         fits=fits, minos=not args.no_minos,
                         nuts={"draws": args.draws, "tune": args.tune, "chains": args.chains},
                         workers=args.workers, client=client, checkpoint=checkpoint, progress=not args.no_progress)
    except (ValueError, InputError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as err:  # the cluster failed during the study
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the output folder holds the previous run's files, and the finished toys are "
              f"kept in {checkpoint}: run again with --resume to continue", file=sys.stderr)
        return 130
    written = study.save(out, include=[checkpoint])  # the new set replaces the previous run's as a whole
    print()
    print(study.table())
    rate = study.timing_s.get("toys_per_s")
    print(f"\n{study.timing_s['toys_fitted']:,} toys fitted in {study.timing_s['wall']:.1f} s"
          + (f" ({rate:.1f} toys/s on {study.workers} worker(s))" if rate else ""))
    print(f"wrote {len(written)} files to {os.fspath(out)}/: " + ", ".join(p.name for p in written))
    return 0


def _quiet_libraries():
    """Keep the terminal for what the user needs: our table, progress and warnings."""
    import matplotlib

    matplotlib.use("Agg")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    warnings.filterwarnings("ignore", message="Tight layout not applied")  # extreme values' long tick labels
    quiet()


def _build(args):
    """Return ``(model, data, meta, binned, notes)`` for the parsed arguments of a model command."""
    from bayesfit.models import factory

    module = args.model_module
    make = factory(module)
    params = inspect.signature(make).parameters
    options = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}
    example = getattr(args, "example", None)
    if example is not None and args.data is not None:
        raise InputError("give either --data or --example, not both")
    spec = module.EXAMPLES[example] if example else None
    if spec:
        options.update(spec.get("options", {}))
    if getattr(args, "range", None) is not None:
        options["window"] = tuple(args.range)
    if "nbins" in params and getattr(args, "bins", None) is not None:
        options["nbins"] = args.bins
    try:
        model = make(**options)
    except ValueError as err:  # name the option, not the factory's argument
        text = str(err)
        name, sep, rest = text.partition(": ")
        if sep and name in params:
            flag = {"window": "--range", "nbins": "--bins"}.get(name, "--" + name.replace("_", "-"))
            text = f"{flag}: {rest}"
        raise InputError(text) from None
    if args.data is not None:
        data, meta, notes = _read_data(args, model, args.data)
    elif spec:
        data, notes = spec["load"](), []
        meta = {"source": spec["source"], "citation": spec.get("citation", "")}
    else:
        wanted = inspect.signature(module.default_data).parameters
        kwargs = {"seed": args.seed}
        if "events" in wanted and hasattr(args, "events"):
            kwargs["events"] = args.events
        data, meta = module.default_data(model, **{k: v for k, v in kwargs.items() if k in wanted})
        notes = []
    return model, data, meta, _binned(args, model), notes


def _binned(args, model):
    """Return the ``binned`` choice of :func:`bayesfit.fit` from ``--binned``/``--unbinned``."""
    if not hasattr(args, "unbinned") or getattr(model, "columns", None) is not None:
        return None
    return False if args.unbinned else args.binned


def _read_data(args, model, given):
    """Return ``(data, meta, notes)`` read from ``--data`` for ``model``'s kind.

    A window model reads one file of values, a simultaneous fit one ``CATEGORY=FILE`` per
    category, a least-squares model one CSV of its columns.
    """
    from bayesfit.core.io import read_columns, read_masses
    from bayesfit.modeling.simultaneous import Simultaneous
    from bayesfit.modeling.window import WindowModel

    notes = []
    reading = dict(column=getattr(args, "column", "M"), tree=getattr(args, "tree", None),
                   branch=getattr(args, "branch", None))
    if isinstance(model, Simultaneous):
        files = _category_files([given] if isinstance(given, str) else given, model)
        data = {}
        for key, path in files.items():
            data[key], dropped = read_masses(path, **reading)
            if dropped:
                notes.append(f"{path}: dropped {dropped} NaN/inf value(s)")
        return data, {"source": ", ".join(f"{k}: {p}" for k, p in files.items())}, notes
    if not isinstance(given, str):
        if len(given) != 1:
            raise InputError("--data: this model fits one file (several are for a simultaneous fit's categories)")
        given = given[0]
    if isinstance(model, WindowModel):
        data, dropped = read_masses(given, **reading)
        if dropped:
            notes.append(f"{given}: dropped {dropped} NaN/inf value(s)")
    else:
        data = read_columns(given, model.columns)
    return data, {"source": str(given)}, notes


def _user_model(path):
    """Return ``(model, namespace)`` from a user's model file (``bayesfit run FILE``).

    The file is run as a script; it defines ``model`` (a ``bf.WindowModel``,
    ``bf.Simultaneous`` or ``bf.LeastSquares``, or a function of no arguments returning one)
    and optionally ``data`` (the data to fit when ``--data`` is not given) and ``meta``.
    """
    import runpy

    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: no such model file")
    try:
        namespace = runpy.run_path(str(file), run_name="bayesfit_user_model")
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - the user's file: say where it failed, in one line
        where = ""
        tb = err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(file):
                where = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise InputError(f"{path}: the model file failed{where}: {type(err).__name__}: {err}") from None
    model = namespace.get("model")
    if callable(model) and not hasattr(model, "prepare"):
        model = model()
    if not hasattr(model, "prepare"):
        raise InputError(f"{path}: define `model`, a bf.WindowModel, bf.Simultaneous or bf.LeastSquares (or a "
                         "function of no arguments that returns one)")
    return model, namespace


def _build_from_file(args):
    """Return ``(model, data, meta, binned, notes)`` for ``bayesfit run FILE``."""
    model, namespace = _user_model(args.model_file)
    if args.data is not None:
        data, meta, notes = _read_data(args, model, args.data)
    elif "data" in namespace:
        data, meta, notes = namespace["data"], {"source": f"{args.model_file} (its data)"}, []
    else:
        raise InputError(f"no data: give --data FILE (or --data CATEGORY=FILE per category), or define `data` in "
                         f"{args.model_file}")
    meta = {**meta, **dict(namespace.get("meta") or {})}
    return model, data, meta, _binned(args, model), notes


def _add_run(sub):
    """Add ``run FILE``: fit a model declared in the user's own Python file."""
    p = sub.add_parser("run", help="fit a model declared in your own Python file (bayesfit run mymodel.py "
                                   "--data my.csv)",
                       description="Fit a model you declare in a Python file, three ways, with every output of "
                                   "the shipped models. The file defines `model` (a bf.WindowModel, "
                                   "bf.Simultaneous or bf.LeastSquares, or a function returning one) and "
                                   "optionally `data` and `meta`.")
    p.add_argument("model_file", metavar="FILE", help="the Python file that defines `model`")
    _add_data_options(p, "your values: .txt, .csv (see --column), .npy, .root; a simultaneous fit takes "
                         "CATEGORY=FILE once per category; a least-squares model a CSV of its columns")
    _add_common(p)


def _add_data_options(p, what):
    """The ``data`` options of ``run`` and the search commands: ``--data`` (described by ``what``) and its reading."""
    data = p.add_argument_group("data")
    data.add_argument("--data", action="append", metavar="FILE", help=what)
    data.add_argument("--column", default="M", help="CSV column with the values (default: M)")
    data.add_argument("--tree", help="ROOT TTree name (if the file has more than one)")
    data.add_argument("--branch", help="ROOT branch with the values (default: --column)")
    _add_binning_options(data)


def _level(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"a level lies in (0, 1), as 0.95 (got {text})")
    return value


def _add_search_model(p, *, counting=False):
    """The model argument of ``limit``, ``significance`` and ``scan``: a shipped model or the user's file."""
    p.add_argument("model_file", metavar="MODEL", nargs="?" if counting else None,
                   help="a shipped model (higgs4l) or your Python file defining `model` (and, for --mass and scan, "
                        "`model_at(mass)`)")
    p.add_argument("--poi", metavar="NAME", help="the parameter of interest; its lower bound is the physical "
                                                 "boundary, no signal")
    _add_data_options(p, "your values, as for `run` (CATEGORY=FILE per category of a simultaneous fit); a "
                         "shipped model's own data by default")
    p.add_argument("--workers", type=_integer(1, 1024), default=None, metavar="W",
                   help="Dask worker processes for the toys (default: the cores)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed of the toys and of NUTS (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress line for the toys")


def _add_limit(sub):
    """Add ``limit``, ``significance`` and ``scan``: the searches, on a declared or shipped model."""
    from bayesfit.studies.limits import GRID_POINTS, METHODS

    p = sub.add_parser("limit", help="no signal? upper limits by CLs, Feldman-Cousins and Bayes, side by side",
                       description="Upper limits on a parameter at its physical boundary (a signal yield), three "
                                   "ways: CLs (asymptotic, or from toys with --toys), Feldman-Cousins (toys) and "
                                   "the Bayesian posterior quantile (its prior stated), on a shipped model or one "
                                   "declared in your Python file (as for `run`), or on a counting experiment with "
                                   "--counting N B (exact).")
    _add_search_model(p, counting=True)
    p.add_argument("--counting", nargs=2, metavar=("N", "B"), help="a counting experiment instead of a model: N "
                   "events observed over a known background B (every method exact)")
    p.add_argument("--mass", type=float, metavar="M", help="the signal mass: the model from `model_at(M)`")
    p.add_argument("--cl", type=_level, default=0.95, help="confidence and credibility level (default: 0.95)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated, among cls, fc, bayes (default: %(default)s)")
    p.add_argument("--toys", type=_integer(0, MAX_TOYS), default=0, metavar="N",
                   help="toys per grid point for CLs and Feldman-Cousins (default: 0, both asymptotic)")
    p.add_argument("--grid", type=_integer(2, 100), default=GRID_POINTS, metavar="K",
                   help="points of the toys' grid of the parameter (default: %(default)s)")
    p.add_argument("--draws", type=_integer(100, 10**6), default=1000,
                   help="NUTS draws per chain for the Bayesian limit (default: %(default)s)")
    p.add_argument("--check-coverage", type=_integer(0, MAX_TOYS), default=0, metavar="N",
                   help="N toys at each of several true signals (0 to 1.5 times the limit), the coverage of each "
                        "method (on a model: CLs and FC asymptotic, the Bayesian limit per toy)")
    p.add_argument("--out", type=_folder, default=None, metavar="DIR", help="output folder (default: bayesfit-out/limit)")

    p = sub.add_parser("significance", help="is there a signal? q0, Z (asymptotic and toys) and the Bayes factor",
                       description="The discovery test of any model with a signal parameter: q0 with the nuisance "
                                   "parameters profiled, its asymptotic p-value and Z, the p-value from "
                                   "background-only toys, and the Bayes factor with a flat prior on the signal "
                                   "(stated).")
    _add_search_model(p)
    p.add_argument("--mass", type=float, metavar="M", help="the signal mass: the model from `model_at(M)`")
    p.add_argument("--toys", type=_integer(0, MAX_TOYS), default=0, metavar="N",
                   help="background-only toys (default: 0, asymptotic only)")
    p.add_argument("--out", type=_folder, default=None, metavar="DIR",
                   help="output folder (default: bayesfit-out/significance)")

    p = sub.add_parser("scan", help="a narrow signal across a mass range: local p-values, limits, look-elsewhere",
                       description="Move a signal of known shape across masses (the model from `model_at(mass)`): "
                                   "the local p-value and the CLs limit with its expected band at each mass, the "
                                   "global p-value from background-only toys and from the Gross-Vitells estimate.")
    _add_search_model(p)
    p.add_argument("--masses", required=True, metavar="LO:HI:STEP", help="the masses scanned, as 110:160:1")
    p.add_argument("--toys", type=_integer(0, MAX_TOYS), default=0, metavar="N",
                   help="background-only toys for the global p-value (default: 0, Gross-Vitells on the data)")
    p.add_argument("--no-limits", action="store_true", help="local p-values only, no CLs limit at each mass")
    p.add_argument("--out", type=_folder, default=None, metavar="DIR", help="output folder (default: bayesfit-out/scan)")


def _search_model(args, mass=None, *, factory_only=False):
    """Return ``(model or model_at, data, binned, notes)`` of a search command's MODEL argument."""
    from bayesfit.models import discover, factory

    shipped = discover()
    if args.model_file in shipped:
        module = shipped[args.model_file]
        model_at = getattr(module, "model_at", None)
        base = factory(module)()
        data, notes = None, []
        if args.data is None:
            data, _ = module.default_data(base)
    else:
        base, namespace = _user_model(args.model_file)
        model_at = namespace.get("model_at")
        data, notes = namespace.get("data"), []
    if factory_only or mass is not None:
        if model_at is None:
            raise InputError(f"{args.model_file} defines no model_at(mass): a search at a mass needs it")
        model = model_at if factory_only else model_at(float(mass))
    else:
        model = base
    if args.data is not None:
        data, _, notes = _read_data(args, base, args.data)
    if data is None:
        raise InputError(f"no data: give --data FILE (or CATEGORY=FILE per category), or define `data` in "
                         f"{args.model_file}")
    if args.poi is None:
        raise InputError("give the parameter of interest: --poi NAME")
    return model, data, _binned(args, base), notes


def _masses(text):
    try:
        lo, hi, step = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"--masses {text}: give LO:HI:STEP, as 110:160:1") from None
    if not (step > 0 and hi > lo) or (hi - lo) / step > 2000:
        raise InputError(f"--masses {text}: need LO < HI and 0 < STEP, at most 2,000 masses")
    return np.arange(lo, hi + 0.5 * step, step)


def _run_limit(args, prog):
    """Run ``limit``, ``significance`` or ``scan``; return the exit status."""
    from bayesfit.output import folder
    from bayesfit.studies.limits import Counting, upper_limit
    from bayesfit.studies.search import mass_scan, significance

    out = args.out if args.out is not None else Path("bayesfit-out") / args.command
    t0 = time.perf_counter()
    say = lambda msg: print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    progress = not args.no_progress
    extra = None
    try:
        _check_out(out)
        if args.command == "limit":
            methods = tuple(m.strip().lower() for m in args.methods.split(",") if m.strip())
            if (args.model_file is None) == (args.counting is None):
                raise InputError("give a model or --counting N B (one of the two)")
            if args.counting is not None:
                try:
                    n, b = float(args.counting[0]), float(args.counting[1])
                except ValueError:
                    raise InputError(f"--counting N B: two numbers (got {' '.join(args.counting)})") from None
                if n != int(n) or n < 0:
                    raise InputError(f"--counting: N is a count of events, a non-negative integer (got "
                                     f"{args.counting[0]})")
                model, data, binned, notes = Counting(int(n), b), None, None, []
            else:
                model, data, binned, notes = _search_model(args, args.mass)
            for note in notes:
                print(f"{prog}: warning: {note}", file=sys.stderr)
            result = upper_limit(model, data, poi=args.poi, cl=args.cl, methods=methods, toys=args.toys,
                                 grid=args.grid, seed=args.seed, workers=args.workers, draws=args.draws,
                                 binned=binned, log=say, progress=progress)
            if args.check_coverage and args.counting is not None:
                from bayesfit.studies.limits import counting_coverage

                say(f"coverage: {args.check_coverage:,} toys at each true signal ...")
                extra = counting_coverage(model.background, cl=args.cl, methods=methods, toys=args.check_coverage,
                                          seed=args.seed)
            elif args.check_coverage:
                from bayesfit.studies.limits import coverage_signals, limit_coverage

                # at the data's fitted point, the signal from 0 to 1.5 times the limit found
                reach = next(result.limits[m] for m in ("cls", "bayes") if m in result.limits) if \
                    set(result.limits) & {"cls", "bayes"} else result.intervals["fc"][1]
                n_events = {k: int(np.size(v)) for k, v in data.items()} if isinstance(data, dict) else int(np.size(data))
                extra = limit_coverage(model, result.values, n_events, poi=args.poi, signals=coverage_signals(reach),
                                       cl=args.cl, methods=methods, toys=args.check_coverage, seed=args.seed,
                                       draws=args.draws, log=say, progress=progress)
        elif args.command == "significance":
            model, data, binned, notes = _search_model(args, args.mass)
            result = significance(model, data, poi=args.poi, toys=args.toys, seed=args.seed, workers=args.workers,
                                  binned=binned, log=say, progress=progress)
        else:
            masses = _masses(args.masses)
            make, data, binned, notes = _search_model(args, factory_only=True)
            result = mass_scan(make, data, masses, poi=args.poi, toys=args.toys, seed=args.seed,
                               workers=args.workers, limits=not args.no_limits, binned=binned, log=say,
                               progress=progress)
    except (InputError, ValueError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    with folder.staged(out) as new:  # replaces the previous run's set as a whole
        result.save(new)
        if extra is not None:
            extra.save(new)
    written = folder.written(out)
    print()
    print(result.table())
    if extra is not None:
        print()
        print(extra.table())
    print(f"\nwrote {len(written)} files to {os.fspath(out)}/: " + ", ".join(p.name for p in written))
    return 0


def _check_out(out: Path):
    """Raise :class:`InputError` unless ``out`` is, or can be made, a writable folder."""
    for part in (out, *out.absolute().parents):
        if part.is_symlink() and not part.exists():
            raise InputError(f"--out {out}: {part} is a symbolic link to nothing (a loop, or a missing target)")
    if out.exists():
        if not out.is_dir():
            raise InputError(f"--out {out}: exists and is not a folder")
        base = out
    else:
        base = next(p for p in out.absolute().parents if p.exists())
        if not base.is_dir():
            raise InputError(f"--out {out}: cannot be made, {base} is not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: {base} is not writable")


class _Terminated(SystemExit):
    """The exit SIGTERM asks for (status 128 + the signal's number)."""


def _terminate(signum, frame):
    raise _Terminated(128 + signum)


@contextlib.contextmanager
def _stop_not_swallowed():
    """Deliver SIGTERM or Ctrl-C again if its exception was raised where Python ignores exceptions.

    A signal lands between any two bytecodes, also inside a weak-reference callback, a
    ``__del__`` (matplotlib's transforms have many) or a garbage-collector callback (JAX has
    one): Python prints "Exception ignored" there and carries on. The signal is then sent
    again, from a timer thread, to arrive at an ordinary point of the main thread.
    """
    import signal
    import threading

    previous = sys.unraisablehook

    def hook(unraisable):
        for kind, sig in ((_Terminated, signal.SIGTERM), (KeyboardInterrupt, signal.SIGINT)):
            if isinstance(unraisable.exc_value, kind):
                threading.Timer(0.01, os.kill, (os.getpid(), sig)).start()
                return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def run():
    """Entry point of ``bayesfit`` and ``python -m bayesfit``: :func:`main`, then a quick exit.

    Freeing PyTensor's compiled graphs and numba's machine code in the interpreter's teardown
    takes seconds (4 s after a di-muon fit with NUTS, measured on two cores) and does nothing a
    finished run needs: every output file is closed by then. So after the ``atexit`` handlers
    and a flush of the standard streams the process ends at once with :func:`main`'s status.
    """
    from bayesfit.backend import compat

    code = main()
    if not compat.run_exit_handlers():
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


def main(argv=None) -> int:
    """Run the command line; Ctrl-C or SIGTERM stop it with one line.

    An interrupted run leaves ``--out`` with one complete set of files: the previous run's, or
    this run's if the signal came after its files were swapped in.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` if omitted.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on bad input, 130 after Ctrl-C (SIGTERM exits with 143).
    """
    import signal

    try:
        with interrupts.handling(_terminate, (signal.SIGTERM,)), _stop_not_swallowed():
            return _run(argv)
    except BrokenPipeError:
        # The reader of stdout stopped (``| head``): the files are written, nothing is lost;
        # later writes to the closed pipe go nowhere instead of raising at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (KeyboardInterrupt, SystemExit, SystemError) as err:
        stop = interrupts.interruption(err) or err
        if isinstance(stop, KeyboardInterrupt):
            print("bayesfit: interrupted; the output folder holds one complete set of files (the previous "
                  "run's, or this run's if it had finished writing)", file=sys.stderr)
            return 130
        if isinstance(stop, SystemExit) and stop.code == 128 + signal.SIGTERM:
            print("bayesfit: terminated; the output folder holds one complete set of files (the previous "
                  "run's, or this run's if it had finished writing)", file=sys.stderr)
            raise stop from None
        raise


def _run(argv):
    """Parse ``argv``, fit, write the outputs; the exit status of :func:`main` without interrupts."""
    _quiet_libraries()
    # numba's OpenMP threads (the MLE likelihood of large samples) sleep instead of spinning
    # between calls, so a busy machine slows a fit down gracefully; must precede their start
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(_negative_numbers_as_values(sys.argv[1:] if argv is None else argv))
    prog = f"bayesfit {args.command}"
    if args.command == "toys":
        return _run_toys(args, prog)
    if args.command == "signal":
        return _run_signal(args, prog)
    if args.command in ("limit", "significance", "scan"):
        return _run_limit(args, prog)
    t0 = time.perf_counter()

    pending = []

    def say(msg):
        while pending:
            print(pending.pop(0), file=sys.stderr)
        print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    stem = Path(args.model_file).stem if args.command == "run" else args.command
    out = args.out if args.out is not None else Path("bayesfit-out") / stem
    from bayesfit.api import fit

    # The libraries' million objects (and later the compiled graphs) would be traversed by every
    # full garbage collection, a second or more of this run; frozen, they never are.
    gc.freeze()

    try:
        _check_out(out)
        if args.mle_only and args.sample:
            raise InputError("--mle-only fits the maximum likelihood alone; --sample needs the Bayesian fits: "
                             "give one of the two")
        model, data, meta, binned, notes = _build_from_file(args) if args.command == "run" else _build(args)
        # the reading's notes are shown with the first line of the fit, once the data passed its
        # checks: bad data get one line, the error
        pending.extend(f"{prog}: warning: {note}" for note in notes)
        result = fit(model, data, sample=args.sample, binned=binned, draws=args.draws, tune=args.tune,
                     chains=args.chains, seed=args.seed, sampler=args.sampler,
                     progressbar=not args.no_progress and sys.stderr.isatty(), log=say, meta=meta,
                     check_coverage=args.check_coverage, minos=not args.no_minos, bayesian=not args.mle_only)
    except InputError as err:
        text = str(err)
        data = getattr(args, "data", None)
        if isinstance(data, list):  # one file per category, or --data given to run: the message names it
            data = data[0] if len(data) == 1 and "=" not in data[0] else None
        source = f"{data}: " if data and str(data) not in text and not text.startswith("--") else ""
        print(f"{prog}: error: {source}{text}", file=sys.stderr)
        return 2
    gc.freeze()
    say(f"writing result.json, summary.md, plots{', posterior.nc' if args.sample else ''} ...")
    try:
        written = result.save(out, log=say)  # replaces the previous set as a whole, or leaves it (report.write_report)
    except OSError as err:
        print(f"{prog}: error: --out {out}: cannot write ({err.strerror or err}); the folder was left as it was",
              file=sys.stderr)
        return 1
    print()
    print(result)
    print()
    print(f"wrote {len(written)} files to {os.fspath(out)}/: " + ", ".join(p.name for p in written))
    return 0
