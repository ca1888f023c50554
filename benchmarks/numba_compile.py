"""Where the sampler's compilation goes, and what numba's optimisation level changes.

``python benchmarks/numba_compile.py [--quick]``

nutpie samples a model through numba code that PyTensor generates, one numba function per
operation of the log p + gradient graph, called from one function per graph and from the C
callbacks nutpie calls. A new structure compiles all of it (the child process of
:func:`bayesfit.backend.compiled.start_numba_cache_fill`). For each model (the shipped ones and
the user models of ``structures.py``), at numba's default optimisation level 3 and at
bayesfit's :data:`bayesfit.backend.nutpie_callbacks.SAMPLER_NUMBA_OPT`:

1. a new process with empty caches compiles nutpie's model as that child does
   (:func:`bayesfit.backend.nutpie_callbacks.compile_model`) while recording numba's own compile
   events (``numba:compile``): the number of numba functions, the time of the graph-level
   functions (the callbacks and PyTensor's whole-graph functions, exclusive of the functions
   they call) against the per-operation functions, and within all of it LLVM's optimisation
   passes and its machine-code generation (timed around llvmlite's pass managers and MCJIT's
   ``finalize_object``; the rest of numba's time is its typing and lowering in Python). PyTensor's
   rewriting of the graph is the compile time outside numba;
2. a second process with those caches fits the model with NUTS (4 chains × (1,000 + 1,000),
   seed 1), as a user does (``python -m bayesfit MODEL --sample``, ``bf.fit`` for the user
   models): the sampling time, and the posterior means and standard deviations, compared
   between the two levels in units of their Monte Carlo errors.

Writes ``numba_compile.md`` and ``numba_compile.json`` into ``--out`` (default
``benchmarks/results``). It reports figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from structures import NOT_SAMPLED, SHIPPED, USER_MODELS, _cold_env, _events, failure  # noqa: E402

__all__ = ["main", "LEVELS"]

#: numba's optimisation levels compared: its default, then bayesfit's for the sampler.
LEVELS = ("3", "1")


# --- in the child: compile one model, recording numba's events -------------------------------
def _sampling_model(name):
    """Return the PyMC model NUTS samples for ``name`` (a shipped model or a user model)."""
    if name in USER_MODELS:
        model, _, events = _events(name)
        problem, _ = model.prepare(events, binned=False)
    else:
        from bayesfit.cli import _build, build_parser

        args = build_parser().parse_args([name])
        model, data, meta, binned, _ = _build(args)
        problem, _ = model.prepare(data, binned=binned, meta=meta)
    return problem.sampling_model() or problem.pymc_model()


class _LLVMClock:
    """Seconds spent in LLVM's optimisation passes and machine-code generation, by wrapping llvmlite."""

    def __init__(self):
        from llvmlite import binding
        from numba.core import codegen

        self.optimise = self.codegen = 0.0
        targets = [(cls, "run", "optimise") for cls in (binding.ModulePassManager, binding.FunctionPassManager)]
        targets.append((codegen.JitEngine, "finalize_object", "codegen"))  # numba's proxy of MCJIT's
        for cls, method, field in targets:
            setattr(cls, method, self._timed(getattr(cls, method), field))

    def _timed(self, call, field):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                setattr(self, field, getattr(self, field) + time.perf_counter() - t0)

        return wrapper


def compile_breakdown(name) -> dict:
    """Compile nutpie's model of ``name`` in this process; return where the time went."""
    import warnings

    warnings.simplefilter("ignore")
    from numba.core import event

    from bayesfit.backend.nutpie_callbacks import compile_model

    model = _sampling_model(name)
    llvm = _LLVMClock()
    recorder = event.RecordingListener()
    event.register("numba:compile", recorder)
    t0 = time.perf_counter()
    compile_model(model, None)
    total = time.perf_counter() - t0
    event.unregister("numba:compile", recorder)
    stack, functions, numba_s = [], [], 0.0  # stack: [start, time in callees, name]; (exclusive, name)
    for stamp, ev in recorder.buffer:
        if ev.is_start:
            stack.append([stamp, 0.0, ev.data["dispatcher"].py_func.__name__])
            continue
        start, inner, fname = stack.pop()
        functions.append((stamp - start - inner, fname))
        if stack:
            stack[-1][1] += stamp - start
        else:  # a top-level compilation: numba's time includes it whole
            numba_s += stamp - start
    graph_level = ("numba_funcified_fgraph", "logp_graph", "expand_graph", "logp_callback", "expand_callback")
    return {
        "total_s": total,
        "pytensor_s": total - numba_s,
        "numba_s": numba_s,
        "functions": len(functions),
        "graph_level_s": sum(e for e, f in functions if f in graph_level),
        "per_operation_s": sum(e for e, f in functions if f not in graph_level),
        "llvm_optimise_s": llvm.optimise,
        "llvm_codegen_s": llvm.codegen,
        "numba_opt": os.environ.get("NUMBA_OPT", "3"),
    }


def sample_user_model(name) -> dict:
    """Fit user model ``name`` with NUTS (``bf.fit``); return the timing and the posterior summary."""
    import bayesfit as bf

    model, _, events = _events(name)
    res = bf.fit(model, events, sample=True, draws=1000, tune=1000, chains=4, seed=1, binned=False,
                 progressbar=False, log=lambda line: None)
    return {"timing_s": res.timing_s, "posterior": _posterior(res.idata, res.names)}


def _posterior(idata, names) -> dict:
    """Return each parameter's posterior mean and sd with their Monte Carlo errors.

    The mean's is ArviZ's ``mcse``; the sd's is the delta method on the mean of the squared
    deviations y = (x − x̄)², whose Monte Carlo error is ArviZ's ``mcse`` of y: σ_s = mcse(y) / (2 s).
    (ArviZ 0.23's own ``mcse(method="sd")`` fails with numpy 2.4.)
    """
    import arviz as az

    posterior = idata.posterior[list(names)]
    mean, sd = posterior.mean(("chain", "draw")), posterior.std(("chain", "draw"))
    mcse_mean = az.mcse(posterior, method="mean")
    mcse_square = az.mcse((posterior - mean) ** 2, method="mean")
    return {k: {"mean": float(mean[k]), "sd": float(sd[k]), "mcse_mean": float(mcse_mean[k]),
                "mcse_sd": float(mcse_square[k]) / (2 * float(sd[k]))} for k in names}


# --- in the parent ------------------------------------------------------------------------------
def _child(args, env) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    if run.returncode != 0:
        return {"error": failure(run)}
    return json.loads(run.stdout.strip().splitlines()[-1])


def _sample(name, env) -> dict:
    """NUTS on ``name`` with warm caches: the sampling time and the posterior summary."""
    if name in USER_MODELS:
        return _child(["--sample", name], env)
    with tempfile.TemporaryDirectory() as outdir:
        cmd = [sys.executable, "-m", "bayesfit", name, "--sample", "--seed", "1", "--no-progress", "--out", outdir]
        run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
        if run.returncode != 0:
            return {"error": failure(run)}
        result = json.loads((Path(outdir) / "result.json").read_text())
        import arviz as az

        posterior = _posterior(az.from_netcdf(Path(outdir) / "posterior.nc"), result["parameter_order"])
    return {"timing_s": result["timing_s"], "posterior": posterior}


def bench(models, sample=True, say=print) -> dict:
    """Compile (and sample) each model at each of :data:`LEVELS`; return the figures."""
    out = {}
    for name in models:
        row = {}
        for level in LEVELS:
            with tempfile.TemporaryDirectory() as folder:
                env = {**_cold_env(folder), "NUMBA_OPT": level}
                say(f"{name}: compiling nutpie's model, NUMBA_OPT={level}, cold ...")
                entry = {"compile": _child(["--compile", name], env)}
                if sample and name not in NOT_SAMPLED:
                    say(f"{name}: NUTS, NUMBA_OPT={level}, warm ...")
                    entry["sample"] = _sample(name, env)
                row[level] = entry
        out[name] = row
    return out


def _agreement(a, b) -> float | None:
    """Largest |Δ| of posterior means and sds between two runs, in units of their combined Monte Carlo errors."""
    worst = None
    for name, pa in a.items():
        pb = b.get(name)
        if pb is None:
            continue
        for field in ("mean", "sd"):
            err = np.hypot(pa[f"mcse_{field}"], pb[f"mcse_{field}"])
            z = abs(pa[field] - pb[field]) / err
            worst = z if worst is None else max(worst, z)
    return worst


def _markdown(result, header) -> str:
    def f(v, digits=1):
        return "—" if v is None else f"{v:.{digits}f}"

    lo, hi = LEVELS
    run = "quick" if header["quick"] else "full"
    lines = [f"# nutpie's numba compilation, NUMBA_OPT {lo} against {hi} ({run})", "",
             f"Machine: {header['machine']}; {header['date']}.", "",
             "Compilation of nutpie's model for a new structure (empty caches), seconds; *numba* is numba's "
             "part of it (the rest is PyTensor rewriting the graph), split into the graph-level functions "
             "(callbacks and whole-graph functions, exclusive of their callees) and the per-operation "
             "functions, and across both into LLVM's optimisation passes and its machine-code generation. "
             "Then NUTS (4 chains × (1,000 + 1,000), seed 1) on the compiled code, and the largest difference "
             "of a posterior mean or sd between the two levels in units of the two runs' Monte Carlo errors "
             "combined (ArviZ's `mcse` of the mean; of the sd by the delta method on the squared deviations).", "",
             "| model | NUMBA_OPT | compile | PyTensor | numba | functions | graph-level | per-operation | "
             "LLVM optimise | LLVM codegen | NUTS sampling | max \\|Δ\\|/σ_MC |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in result.items():
        for level in LEVELS:
            c, s = row[level]["compile"], row[level].get("sample", {})
            if "error" in c:
                lines.append(f"| {name} | {level} | error: {c['error']} |" + " |" * 10)
                continue
            sampling = s.get("timing_s", {}).get("nuts") if "error" not in s else None
            z = _agreement(row[lo]["sample"]["posterior"], s["posterior"]) if (
                level == hi and "posterior" in s and "posterior" in row[lo].get("sample", {})) else None
            lines.append(f"| {name} | {level} | {f(c['total_s'])} | {f(c['pytensor_s'])} | {f(c['numba_s'])} | "
                         f"{c['functions']} | {f(c['graph_level_s'])} | {f(c['per_operation_s'])} | "
                         f"{f(c['llvm_optimise_s'])} | {f(c['llvm_codegen_s'])} | {f(sampling, 2)} | {f(z, 2)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Run the benchmark (or, with the hidden options, one step of it in a child process)."""
    parser = argparse.ArgumentParser(prog="python benchmarks/numba_compile.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small models, no sampling (a smoke run)")
    parser.add_argument("--models", default=",".join([*SHIPPED, *USER_MODELS]), help="models, comma-separated")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results", help="output folder")
    parser.add_argument("--compile", help=argparse.SUPPRESS)
    parser.add_argument("--sample", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compile:
        print(json.dumps(compile_breakdown(args.compile)))
        return 0
    if args.sample:
        print(json.dumps(sample_user_model(args.sample)))
        return 0
    models = ["weighted-mean", "relbw"] if args.quick else args.models.split(",")
    t0 = time.perf_counter()
    result = bench(models, sample=not args.quick)
    header = {"machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d"), "quick": args.quick, "wall_s": time.perf_counter() - t0}
    stem = "numba_compile_quick" if args.quick else "numba_compile"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps({"header": header, "models": result}, indent=1))
    (args.out / f"{stem}.md").write_text(_markdown(result, header))
    print(_markdown(result, header))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
