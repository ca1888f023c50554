"""How long a *new* model structure takes: ``python benchmarks/structures.py [--quick]``.

Every change to a model (another background order, a double-sided tail, a shared width) is a
new structure, which bayesfit compiles once. This benchmark measures what a user waits for
then, each structure in a fresh process with empty caches (PyTensor's and numba's compile
folders and bayesfit's cache, XLA's included), and once more warm (the same caches, a new
process):

- the three user models of the compile-speed issue, declared with the public API on
  simulated data: a Gaussian on a second-order Chebyshev polynomial, a double-sided Crystal
  Ball on an exponential (a ψ(2S)-like window), three Gaussian peaks with one shared width
  on an exponential. Each is fitted by ``bf.fit(..., sample=True)`` (MIGRAD, HESSE, MINOS; MAP
  + Laplace; NUTS 4 chains × (1,000 + 1,000)), and by iminuit + ``numba_stats`` (MIGRAD,
  HESSE, MINOS on ``iminuit.cost.UnbinnedNLL``) in its own cold process: the peer;
- the shipped models, through the command line (``python -m bayesfit MODEL --sample``; without
  ``--sample`` for :data:`NOT_SAMPLED`), the stage times read from ``result.json``.

For each: the time to the maximum-likelihood table (the MLE stage of the fit), to the MAP +
Laplace result (its compilation and fit), to the NUTS result (the sampler's compilation,
waited for, and sampling), each counted from the start of the fit, and the whole process.

Writes ``structures.md`` and ``structures.json`` into ``--out`` (default ``benchmarks/results``).
It reports figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "USER_MODELS", "SHIPPED", "NOT_SAMPLED", "failure"]

#: The shipped models timed through the command line.
SHIPPED = ("weighted-mean", "line", "relbw", "dimuon", "zpeak", "three-peaks", "zcombined", "higgs4l")
#: Shipped models timed without NUTS: their sampling alone takes minutes (the Z line shape on
#: the real data, unbinned), which says nothing about compilation.
NOT_SAMPLED = ("zpeak", "zcombined")


# --- the user models ------------------------------------------------------------------------
def gauss_chebyshev():
    """A Gaussian peak on a second-order Chebyshev background in [0, 1]; 5,000 events."""
    import bayesfit as bf

    mu = bf.Parameter("mu", 0.5, 0.3, 0.7, unit="GeV")
    sigma = bf.Parameter("sigma", 0.05, 0.005, 0.2, unit="GeV")
    c1, c2 = bf.Parameter("c1", 0.0, -1.0, 1.0), bf.Parameter("c2", 0.0, -1.0, 1.0)
    f_sig = bf.Parameter("f_sig", 0.2, 0.01, 0.99)
    model = bf.WindowModel((0.0, 1.0), [bf.Gaussian(mu, sigma), bf.Chebyshev([c1, c2])], fractions=[f_sig],
                           name="gauss_chebyshev", unit="GeV")
    truth = {"mu": 0.52, "sigma": 0.04, "c1": -0.3, "c2": 0.1, "f_sig": 0.25}
    return model, truth, 5_000


def double_crystal_ball():
    """A double-sided Crystal Ball on an exponential in a ψ(2S) window, 3.55–3.85 GeV; 5,000 events."""
    import bayesfit as bf

    params = [bf.Parameter("mu", 3.686, 3.65, 3.72, unit="GeV"), bf.Parameter("sigma", 0.02, 0.005, 0.06, unit="GeV"),
              bf.Parameter("alpha_l", 1.5, 0.3, 5.0), bf.Parameter("n_l", 3.0, 1.1, 30.0),
              bf.Parameter("alpha_r", 2.0, 0.3, 5.0), bf.Parameter("n_r", 5.0, 1.1, 30.0)]
    slope = bf.Parameter("slope", -1.0, -10.0, 10.0, unit="1/GeV")
    f_sig = bf.Parameter("f_sig", 0.4, 0.01, 0.99)
    model = bf.WindowModel((3.55, 3.85), [bf.DoubleCrystalBall(*params), bf.Exponential(slope)], fractions=[f_sig],
                           name="double_crystal_ball", unit="GeV")
    truth = {"mu": 3.686, "sigma": 0.018, "alpha_l": 1.4, "n_l": 4.0, "alpha_r": 1.8, "n_r": 6.0, "slope": -2.0,
             "f_sig": 0.45}
    return model, truth, 5_000


def three_peaks_shared_width():
    """Three Gaussian peaks (Υ-like) sharing one width, on an exponential in 9–11 GeV; 20,000 events."""
    import bayesfit as bf

    sigma = bf.Parameter("sigma", 0.08, 0.02, 0.2, unit="GeV")
    masses = [bf.Parameter(f"m{k}", m, m - 0.15, m + 0.15, unit="GeV") for k, m in ((1, 9.46), (2, 10.02), (3, 10.36))]
    slope = bf.Parameter("slope", -0.5, -5.0, 5.0, unit="1/GeV")
    fractions = [bf.Parameter(f"f{k}", f, 0.001, 0.7) for k, f in ((1, 0.2), (2, 0.08), (3, 0.05))]
    model = bf.WindowModel((9.0, 11.0), [*(bf.Gaussian(m, sigma) for m in masses), bf.Exponential(slope)],
                           fractions=fractions, name="three_peaks_shared_width", unit="GeV")
    truth = {"sigma": 0.075, "m1": 9.46, "m2": 10.023, "m3": 10.355, "slope": -0.8, "f1": 0.25, "f2": 0.09, "f3": 0.06}
    return model, truth, 20_000


USER_MODELS = {"gauss-chebyshev": gauss_chebyshev, "double-crystal-ball": double_crystal_ball,
               "three-peaks-shared-width": three_peaks_shared_width}


def _events(name, seed=7):
    model, truth, n = USER_MODELS[name]()
    values = [truth[p.name] for p in model.params]
    return model, truth, np.asarray(model.simulate(values, n, seed))


# --- iminuit + numba_stats: the same fits as a user of those libraries writes them ------------
def _peer_pdf(name):
    """Return ``(pdf(x, *values), names, starts, limits)`` with numba_stats densities."""
    from numba_stats import crystalball_ex, norm

    model, _, _ = USER_MODELS[name]()
    lo, hi = float(model.lo), float(model.hi)
    by_name = {p.name: p for p in model.params}

    def exponential(x, slope):
        return slope * np.exp(slope * (x - lo)) / np.expm1(slope * (hi - lo))

    if name == "gauss-chebyshev":
        from numpy.polynomial import chebyshev

        def pdf(x, mu, sigma, c1, c2, f_sig):
            u = 2 * (x - lo) / (hi - lo) - 1
            coef = [1.0, c1, c2]
            integral = np.diff(chebyshev.chebval([-1.0, 1.0], chebyshev.chebint(coef)))[0] * (hi - lo) / 2
            peak = norm.pdf(x, mu, sigma) / np.diff(norm.cdf(np.array([lo, hi]), mu, sigma))[0]
            return f_sig * peak + (1 - f_sig) * chebyshev.chebval(u, coef) / integral
    elif name == "double-crystal-ball":
        def pdf(x, mu, sigma, alpha_l, n_l, alpha_r, n_r, slope, f_sig):
            args = (alpha_l, n_l, sigma, alpha_r, n_r, sigma, mu)
            peak = crystalball_ex.pdf(x, *args) / np.diff(crystalball_ex.cdf(np.array([lo, hi]), *args))[0]
            return f_sig * peak + (1 - f_sig) * exponential(x, slope)
    else:
        def pdf(x, sigma, m1, m2, m3, slope, f1, f2, f3):
            out = (1 - f1 - f2 - f3) * exponential(x, slope)
            for m, f in ((m1, f1), (m2, f2), (m3, f3)):
                out = out + f * norm.pdf(x, m, sigma) / np.diff(norm.cdf(np.array([lo, hi]), m, sigma))[0]
            return out
    names = list(inspect.signature(pdf).parameters)[1:]  # the pdf's own order, after x
    params = [by_name[n] for n in names]
    return pdf, names, [p.start for p in params], [(p.lower, p.upper) for p in params]


def run_peer(name) -> dict:
    """Fit ``name``'s events with iminuit + numba_stats (MIGRAD, HESSE, MINOS); return times and values."""
    t0 = time.perf_counter()
    from iminuit import Minuit
    from iminuit.cost import UnbinnedNLL

    _, _, events = _events(name)
    pdf, names, starts, limits = _peer_pdf(name)
    t1 = time.perf_counter()
    m = Minuit(UnbinnedNLL(events, pdf), *starts, name=names)
    m.limits = limits
    m.migrad()
    m.hesse()
    t_hesse = time.perf_counter() - t1
    m.minos()
    return {"valid": bool(m.valid), "mle_s": t_hesse, "mle_minos_s": time.perf_counter() - t1,
            "wall_s": time.perf_counter() - t0, "values": dict(zip(names, map(float, m.values)))}


# --- bayesfit ---------------------------------------------------------------------------------
def run_user_model(name, draws, tune) -> dict:
    """Fit ``name``'s events with ``bf.fit(sample=True)``; return the stage times."""
    t0 = time.perf_counter()
    import bayesfit as bf

    model, _, events = _events(name)
    t_import = time.perf_counter() - t0
    res = bf.fit(model, events, sample=True, draws=draws, tune=tune, chains=4, seed=1, binned=False,
                 progressbar=False, log=lambda line: None)
    out = _stages(res.timing_s)
    out.update(import_s=t_import, wall_s=time.perf_counter() - t0, values={k: res[k].mle for k in res.names},
               compiled=res.compiled)
    return out


def _stages(timing) -> dict:
    """Return the times to the MLE, MAP + Laplace and NUTS results, counted from the fit's start."""
    to_mle = timing["mle"]
    to_map = to_mle + timing.get("map_laplace_compile", 0.0) + timing.get("map_laplace", 0.0)
    to_nuts = to_map + timing.get("nuts_compile", 0.0) + timing.get("nuts", 0.0)
    return {"to_mle_s": to_mle, "to_map_s": to_map, "to_nuts_s": to_nuts, "timing_s": timing}


def failure(run) -> str:
    """Return what a failed child process (a ``subprocess.run`` result) said last, or its exit status."""
    return (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]


def _child(args, env) -> dict:
    """Run this script's ``args`` in a new process with ``env``; return its JSON (or the error)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        return {"error": failure(run),
                "process_s": wall}
    out = json.loads(run.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def _shipped(name, draws, tune, env) -> dict:
    """Time ``python -m bayesfit NAME --sample`` (without ``--sample`` for :data:`NOT_SAMPLED`): the whole command and its stages."""
    sample = [] if name in NOT_SAMPLED else ["--sample", "--draws", str(draws), "--tune", str(tune)]
    with tempfile.TemporaryDirectory() as outdir:
        cmd = [sys.executable, "-m", "bayesfit", name, *sample, "--no-progress", "--out", outdir]
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
        wall = time.perf_counter() - t0
        if run.returncode != 0:
            return {"error": failure(run), "process_s": wall}
        result = json.loads((Path(outdir) / "result.json").read_text())
    out = _stages(result["timing_s"])
    out.update(process_s=wall, compiled=result.get("compiled"))
    return out


def _cold_env(folder) -> dict:
    folder = Path(folder)
    return {"PYTENSOR_FLAGS": f"base_compiledir={folder / 'pytensor'}", "NUMBA_CACHE_DIR": str(folder / "numba"),
            "BAYESFIT_CACHE_DIR": str(folder / "bayesfit")}


def bench_structures(draws=1000, tune=1000, shipped=SHIPPED, users=tuple(USER_MODELS), say=print) -> dict:
    """Time each structure cold (empty caches) and warm (a second process), and the peers.

    Returns
    -------
    dict
        ``{"user": {name: {"cold", "warm", "peer"}}, "shipped": {name: {"cold", "warm"}}}``.
    """
    out = {"user": {}, "shipped": {}, "draws": draws, "tune": tune}
    for name in users:
        row = _cold_then_warm(lambda env: _child(["--one", name, "--draws", str(draws), "--tune", str(tune)], env),
                              f"{name}: bayesfit", say)
        with tempfile.TemporaryDirectory() as folder:
            say(f"{name}: iminuit + numba_stats, cold ...")
            row["peer"] = _child(["--peer", name], _cold_env(folder))
        out["user"][name] = row
    for name in shipped:
        out["shipped"][name] = _cold_then_warm(lambda env: _shipped(name, draws, tune, env),
                                               f"{name}: python -m bayesfit {name}", say)
    return out


def _cold_then_warm(run, title, say) -> dict:
    """Return ``{"cold": run(env), "warm": run(env)}``: two processes sharing one new set of cache folders."""
    row = {}
    with tempfile.TemporaryDirectory() as folder:
        env = _cold_env(folder)
        for label in ("cold", "warm"):
            say(f"{title}, {label} ...")
            row[label] = run(env)
    return row


def _fmt(v):
    return "—" if v is None else f"{v:.1f}"


def _markdown(result, header) -> str:
    m = header["machine"]
    lines = [f"# bayesfit new-structure benchmark ({'quick' if header['quick'] else 'full'})", "",
             f"Machine: {m['cpus']} CPUs, {m['processor']}, Python {m['python']}; {header['date']}.", "",
             f"Seconds from the start of the fit to each result (NUTS: 4 chains × ({result['tune']} + "
             f"{result['draws']})), and the whole process; *cold*: a new process with empty PyTensor, numba, "
             "bayesfit and XLA caches, *warm*: the next process with those caches.", "",
             "## User models (`bf.fit`, unbinned) beside iminuit + numba_stats", "",
             "| model | MLE table | + MAP + Laplace | + NUTS | process | warm: MLE / MAP / NUTS / process "
             "| iminuit + numba_stats: MIGRAD + HESSE / + MINOS / process |",
             "|---|---|---|---|---|---|---|"]
    for name, row in result["user"].items():
        c, w, p = row["cold"], row["warm"], row["peer"]
        if "error" in c or "error" in w:
            lines.append(f"| {name} | failed: {c.get('error') or w.get('error')} | | | | | |")
            continue
        peer = (f"{p['mle_s']:.1f} / {p['mle_minos_s']:.1f} / {p['process_s']:.1f}" if "error" not in p
                else f"failed: {p['error']}")
        lines.append(f"| {name} | {_fmt(c['to_mle_s'])} | {_fmt(c['to_map_s'])} | {_fmt(c['to_nuts_s'])} | "
                     f"{_fmt(c['process_s'])} | {_fmt(w['to_mle_s'])} / {_fmt(w['to_map_s'])} / "
                     f"{_fmt(w['to_nuts_s'])} / {_fmt(w['process_s'])} | {peer} |")
    lines += ["", "## Shipped models (`python -m bayesfit MODEL --sample`)", "",
              f"Without `--sample` (no NUTS column): {', '.join(NOT_SAMPLED)}, whose sampling of the real data "
              "takes minutes.", "",
              "| model | MLE table | + MAP + Laplace | + NUTS | whole command | warm: MLE / MAP / NUTS / command |",
              "|---|---|---|---|---|---|"]
    for name, row in result["shipped"].items():
        c, w = row["cold"], row["warm"]
        if "error" in c or "error" in w:
            lines.append(f"| {name} | failed: {c.get('error') or w.get('error')} | | | | |")
            continue
        nuts = (lambda r: None if name in NOT_SAMPLED else r["to_nuts_s"])
        lines.append(f"| {name} | {_fmt(c['to_mle_s'])} | {_fmt(c['to_map_s'])} | {_fmt(nuts(c))} | "
                     f"{_fmt(c['process_s'])} | {_fmt(w['to_mle_s'])} / {_fmt(w['to_map_s'])} / "
                     f"{_fmt(nuts(w))} / {_fmt(w['process_s'])} |")
    lines += ["", "Stage times (`timing_s` of each cold run):", ""]
    for group in ("user", "shipped"):
        for name, row in result[group].items():
            t = row["cold"].get("timing_s")
            if t:
                lines.append(f"- {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Run the benchmark (or, with ``--one``/``--peer``, one child's fit) and write its results.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        0 on success.
    """
    import warnings

    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(prog="python benchmarks/structures.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short chains, two structures (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results", help="output folder")
    parser.add_argument("--one", choices=sorted(USER_MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--peer", choices=sorted(USER_MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain (default: 1000)")
    parser.add_argument("--tune", type=int, default=1000, help="NUTS tuning steps per chain (default: 1000)")
    parser.add_argument("--shipped", default=",".join(SHIPPED), help="shipped models to time, comma-separated")
    parser.add_argument("--users", default=",".join(USER_MODELS), help="user models to time, comma-separated")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_user_model(args.one, args.draws, args.tune), default=str))
        return 0
    if args.peer:
        print(json.dumps(run_peer(args.peer)))
        return 0
    if args.quick:
        args.draws = args.tune = 100
        args.shipped, args.users = "weighted-mean", "gauss-chebyshev"
    say = lambda msg: print(f"[structures] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    shipped = tuple(s for s in args.shipped.split(",") if s)
    users = tuple(s for s in args.users.split(",") if s)
    result = bench_structures(args.draws, args.tune, shipped, users, say)
    header = {"date": time.strftime("%Y-%m-%d"), "quick": args.quick,
              "machine": {"cpus": os.cpu_count(), "processor": platform.machine(), "python": platform.python_version()}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "structures.json").write_text(json.dumps({**header, "structures": result}, indent=2, default=str) + "\n")
    text = _markdown(result, header)
    (args.out / "structures.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
