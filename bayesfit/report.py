"""Writing a fit's report: terminal table, ``summary.md``, ``result.json``, plots, NetCDF.

:func:`format_table` renders the comparison as a fixed-width text table (or markdown with
``markdown=True``). :func:`write_report` writes every output of one fit into a folder
atomically: files are first written to a hidden temporary folder beside the target and moved
in place only when all of them succeeded, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .engine import FitResult, posterior_correlation, result_dict
from .plots import (at_place, most_correlated_pairs, pdg_place, plot_contours, plot_marginals, plot_pairs, plot_ppc,
                    plot_profiles, ppc_p_text, save_figure)

__all__ = ["format_table", "summary_text", "summary_html", "write_report"]


def _g(x, digits=6):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    return f"{x:.{digits}g}"


def _at(x, place):
    """Return ``x`` rounded to the power of ten ``place`` (``_g`` when there is none)."""
    if place is None or x is None or not np.isfinite(x):
        return _g(x)
    return at_place(x, place)


def _ratio(x):
    return _g(x) if x is None or not np.isfinite(x) else f"{x:.3f}"


def _ess(x):
    """Return an effective sample size as a whole number (ESS is an estimate, not a count)."""
    return _g(x) if x is None or not np.isfinite(x) else f"{x:.0f}"


def _row_place(c):
    """Return the decimal place of a row: the PDG rule applied to its HESSE error (or Laplace, sd)."""
    post = c["posterior"] or {}
    for error in (c["hesse"], c["laplace_sd"], post.get("sd")):
        if error is not None and np.isfinite(error) and error > 0:
            return pdg_place(error)
    return None


def format_table(fit: FitResult, *, markdown=False) -> str:
    """Render the per-parameter comparison of the three fits.

    Values and errors are given to the decimal place the PDG rule keeps for the parameter's
    HESSE error (two significant digits, or one for errors starting with 355–949); ratios,
    r̂ and ESS to a few significant digits.

    Parameters
    ----------
    fit : FitResult
    markdown : bool
        Produce a GitHub-flavoured markdown table instead of aligned text.

    Returns
    -------
    str
    """
    head = ["param", "MLE", "HESSE σ", "MINOS −", "MINOS +", "MAP", "Laplace σ",
            "post. mean", "post. sd", "HDI 68 % lo", "HDI 68 % hi", "σL/σH", "sd/σH", "r̂", "ESS"]
    rows = []
    for name, c in fit.comparison.items():
        post = c["posterior"] or {}
        hdi = post.get("hdi_68", [None, None])
        at = lambda x, place=_row_place(c): _at(x, place)
        rows.append([
            name, at(c["mle"]), at(c["hesse"]), at(c["minos"][0]), "+" + at(c["minos"][1]),
            at(c["map"]), at(c["laplace_sd"]), at(post.get("mean")), at(post.get("sd")),
            at(hdi[0]), at(hdi[1]), _ratio(c["laplace_over_hesse"]), _ratio(c["sd_over_hesse"]),
            _ratio(post.get("r_hat")), _ess(post.get("ess_bulk")),
        ])
    if not fit.idata:
        keep = slice(0, 7)
        head = head[keep] + ["σL/σH"]
        rows = [r[keep] + [r[11]] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(head)]
    fmt = lambda r: "  ".join(v.rjust(w) if k else v.ljust(w) for k, (v, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in rows])


def _correlation_text(fit: FitResult, markdown: bool) -> str:
    names = fit.problem.names
    mats = [("HESSE", fit.mle.correlation), ("Laplace", fit.map.correlation)]
    if fit.idata is not None:
        mats.append(("posterior", posterior_correlation(fit.idata, names)))
    parts = []
    for label, mat in mats:
        lines = [f"{label} correlation:"]
        width = max(6, *(len(n) for n in names))
        lines.append(" " * width + "".join(n.rjust(width + 2) for n in names))
        for n, row in zip(names, mat):
            lines.append(n.ljust(width) + "".join(f"{v:+.3f}".rjust(width + 2) for v in row))
        parts.append("\n".join(lines))
    text = "\n\n".join(parts)
    return f"```\n{text}\n```" if markdown else text


def summary_text(fit: FitResult, *, markdown=False) -> str:
    """Return the whole human-readable summary: table, fit quality, correlations, warnings.

    Parameters
    ----------
    fit : FitResult
    markdown : bool
        Markdown (for ``summary.md``) rather than terminal text.

    Returns
    -------
    str
    """
    p = fit.problem
    gof = fit.gof
    title = f"bayesfit {p.name}: {p.n_data:,} data points"
    lines = [f"# {title}" if markdown else title, ""]
    for key, value in p.meta.items():
        if key != "description":
            lines.append(f"{'- ' if markdown else '  '}{key}: {value}")
    if p.meta:
        lines.append("")
    lines.append(format_table(fit, markdown=markdown))
    lines.append("")
    lines.append(f"{gof_text(gof)}   (−ln L at minimum = {fit.mle.fval:.6g})")
    if fit.ppc is not None:
        lines.append(ppc_text(fit.ppc))
    if fit.coverage is not None:
        lines.append("")
        lines.append(coverage_text(fit.coverage, markdown=markdown))
    lines.append("")
    lines.append(_correlation_text(fit, markdown))
    t = fit.timing_s
    lines.append("")
    lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))
    if fit.notes:
        lines.append("")
        lines.extend(("- note: " if markdown else "note: ") + n for n in fit.notes)
    warns = fit.diagnostics["warnings"]
    if warns:
        lines.append("")
        lines.extend(("- " if markdown else "WARNING: ") + w for w in warns)
    return "\n".join(lines)


def summary_html(fit: FitResult) -> str:
    """Return the comparison as an HTML table with the fit quality and warnings (Jupyter).

    Parameters
    ----------
    fit : FitResult

    Returns
    -------
    str
    """
    import html

    p = fit.problem
    head = ["param", "MLE", "HESSE σ", "MINOS −", "MINOS +", "MAP", "Laplace σ"]
    if fit.idata is not None:
        head += ["post. mean", "post. sd", "HDI 68 %", "r̂", "ESS"]
    rows = []
    for name, c in fit.comparison.items():
        cells = [name, _g(c["mle"]), _g(c["hesse"], 4), _g(c["minos"][0], 4), "+" + _g(c["minos"][1], 4),
                 _g(c["map"]), _g(c["laplace_sd"], 4)]
        post = c["posterior"]
        if post is not None:
            cells += [_g(post["mean"]), _g(post["sd"], 4), f"[{_g(post['hdi_68'][0])}, {_g(post['hdi_68'][1])}]",
                      _ratio(post["r_hat"]), _ess(post["ess_bulk"])]
        rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>")
    gof = fit.gof
    parts = [f"<p><b>bayesfit {html.escape(p.name)}</b>: {p.n_data:,} data points, "
             f"{html.escape(str(p.meta.get('likelihood', '')))}</p>",
             "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
             f"<p>{gof_text(gof)}</p>"]
    if fit.ppc is not None:
        parts.append(f"<p>{html.escape(ppc_text(fit.ppc))}</p>")
    if fit.coverage is not None:
        parts.append(f"<pre>{html.escape(coverage_text(fit.coverage))}</pre>")
    for w in fit.notes:
        parts.append(f"<p>note: {html.escape(w)}</p>")
    for w in fit.diagnostics["warnings"]:
        parts.append(f"<p style='color:#b00'>warning: {html.escape(w)}</p>")
    return "\n".join(parts)


def gof_text(gof: dict) -> str:
    """Return the goodness of fit as one line; no test where no degree of freedom is left.

    Parameters
    ----------
    gof : dict
        ``{"chi2", "ndf", "p_value"}`` and, for binned χ², ``"bins_used"``.

    Returns
    -------
    str
    """
    if gof["ndf"] > 0:
        return (f"χ² / ndf = {gof['chi2']:.4g} / {gof['ndf']} = {gof['chi2'] / gof['ndf']:.3f},"
                f"  p-value = {gof['p_value']:.4g}")
    used = f" ({gof['bins_used']} bins with more than 5 expected events)" if "bins_used" in gof else ""
    return f"χ² = {gof['chi2']:.4g} with ndf = {gof['ndf']}{used}: too few data for a goodness-of-fit test"


def coverage_text(cov: dict, *, markdown=False) -> str:
    """Return the coverage check (``bf.fit(..., check_coverage=N)``) as a small table.

    Parameters
    ----------
    cov : dict
        :func:`bayesfit.toys.coverage_advice`'s result.
    markdown : bool

    Returns
    -------
    str
    """
    kinds = [k for k in ("hesse", "minos", "laplace", "hdi_68")
             if any(k in p for p in cov["parameters"].values())]
    names = {"hesse": "HESSE", "minos": "MINOS", "laplace": "Laplace", "hdi_68": "HDI 68 %"}
    head = ["param", *[names[k] for k in kinds], "pull mean", "pull width"]
    rows = []
    for name, p in cov["parameters"].items():
        row = [name]
        for k in kinds:
            c = p.get(k)
            row.append(f"{100 * c['coverage']:.1f} % {c['verdict']}" if c else "—")
        row.append(f"{p['pull_mean']:+.2f}" if "pull_mean" in p else "—")
        row.append(f"{p['pull_width']:.2f}" if "pull_width" in p else "—")
        rows.append(row)
    title = (f"coverage at this sample size: {cov['toys']:,} toys of {cov['n_events']:,} events at the fitted "
             f"point (nominal 68.3 %, trusted within ±{100 * cov['tolerance']:.0f} %)")
    if markdown:
        return "\n".join([title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                          *("| " + " | ".join(r) + " |" for r in rows)])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = lambda r: "  ".join(x.rjust(w) for x, w in zip(r, widths))
    return "\n".join([title, fmt(head), *map(fmt, rows)])


def ppc_text(ppc: dict) -> str:
    """Return the posterior-predictive check as one line (see :func:`bayesfit.engine.posterior_predictive`)."""
    return (f"posterior-predictive χ² check: {ppc_p_text(ppc)}"
            f" ({ppc['draws']:,} draws; share of replicated datasets with a larger χ²)")


#: File in an output folder listing the files of the run that wrote it (bayesfit's own).
MANIFEST = ".bayesfit-files.json"


#: What a run of a release without the manifest may have left beside its ``result.json``.
_LEGACY = ("result.json", "summary.md", "posterior.nc", "posterior_marginals.png", "posterior_marginals.pdf",
           "pairs.png", "pairs.pdf")


def _owned_files(out: Path) -> list:
    """Return the files of the previous run in ``out`` (from its manifest), or []."""
    try:
        names = json.loads((out / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        names = _LEGACY if (out / "result.json").is_file() else []
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [out / n for n in names if isinstance(n, str) and "/" not in n and (out / n).is_file()]


#: Seconds the profile scans, and separately the MINOS contours, may take by default; beyond,
#: fewer points (and pairs) are drawn, and a figure that cannot fit at all is left out.
SCAN_BUDGET_S = 90.0
#: Function calls per profile point and per contour point, measured on the shipped models.
_CALLS_PER_PROFILE_POINT, _CALLS_PER_CONTOUR_POINT = 25, 65


def scan_plan(fit: FitResult, budget=SCAN_BUDGET_S) -> dict:
    """Return how finely the profiles and contours are drawn for ``fit`` within ``budget`` seconds.

    One call of the negative log-likelihood is timed; profiles get 20 points per parameter (down
    to 8), contours 20 points per curve for the three most correlated pairs (down to one pair of
    10 points). A figure that does not fit even then is planned as None.

    Returns
    -------
    dict
        ``profile_points`` (int or None), ``contour_pairs`` and ``contour_size`` (int or None),
        ``seconds`` (the estimate) and ``call_s`` (one likelihood call).
    """
    import time

    problem, k = fit.problem, len(fit.problem.params)
    t0 = time.perf_counter()
    for _ in range(3):
        problem.nll(fit.mle.values)
    call = (time.perf_counter() - t0) / 3
    per_profile = lambda points: k * points * _CALLS_PER_PROFILE_POINT * call
    per_contour = lambda pairs, size: pairs * 2 * size * _CALLS_PER_CONTOUR_POINT * call
    points = next((n for n in (20, 14, 8) if per_profile(n) <= budget), None)
    npairs = min(3, k * (k - 1) // 2)
    contour = next(((p, n) for p, n in ((npairs, 20), (npairs, 14), (1, 14), (1, 10)) if per_contour(p, n) <= budget),
                   (None, None))
    seconds = (per_profile(points) if points else 0.0) + (per_contour(*contour) if contour[0] else 0.0)
    return {"profile_points": points, "contour_pairs": contour[0], "contour_size": contour[1],
            "seconds": seconds, "call_s": call}


def _hold_signals():
    """Hold SIGINT and SIGTERM until the returned function is called, which delivers them.

    Only in the main thread (elsewhere signals cannot be handled, and nothing is held).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    pending = []
    saved = {sig: signal.signal(sig, lambda signum, frame: pending.append(signum))
             for sig in (signal.SIGINT, signal.SIGTERM)}

    def release():
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])

    return release


def _scans(fit, log):
    """Return the profile and contour figures, as fine as :func:`scan_plan` allows, saying so."""
    plan = scan_plan(fit)
    say = log or (lambda line: None)
    k = len(fit.problem.params)
    wanted = ["profiles"] + (["contours"] if k > 1 else [])
    doing = (["profile likelihoods"] if plan["profile_points"] else []) + (
        ["MINOS contours"] if k > 1 and plan["contour_pairs"] else [])
    if doing and plan["seconds"] >= 1:
        say(f"{' and '.join(doing)} (refits of the model, about {plan['seconds']:.0f} s) ...")
    out = {}
    if plan["profile_points"]:
        out["profiles"] = plot_profiles(fit.problem.params, fit.mle, fit.idata, points=plan["profile_points"])
    if k > 1 and plan["contour_pairs"]:
        pairs = most_correlated_pairs(fit.mle.correlation, plan["contour_pairs"])
        out["contours"] = plot_contours(fit.problem.params, fit.mle, fit.idata, pairs=pairs,
                                        size=plan["contour_size"])
    for name in wanted:
        if name not in out:
            say(f"note: {name}.png left out: one likelihood call takes {plan['call_s'] * 1e3:.0f} ms, and its "
                f"scans would exceed {SCAN_BUDGET_S:.0f} s (bayesfit.plots.plot_{name} draws it)")
    return out


def _save_in_child(figures, folder):
    """Fork a process that saves ``figures`` into ``folder``; return its pid, or None.

    Rendering PNG and PDF is the longest part of writing a report (about 3 s for the di-muon
    fit's figures on two cores); a forked child renders the finished figures while this process
    computes the profile and contour scans. Linux only (forking a process with GUI frameworks
    loaded is unsafe on macOS); ``None`` means the caller saves them itself.
    """
    if not figures or not sys.platform.startswith("linux"):
        return None
    try:
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


def _saved_by_child(pid, figures, folder) -> bool:
    """Wait for the child of :func:`_save_in_child`; True if it wrote every file of ``figures``."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0 and all(
        (folder / f"{stem}.{ext}").is_file() for stem in figures for ext in ("png", "pdf"))


def _stop_child(pid):
    """Kill and reap the child of :func:`_save_in_child` if it is still running."""
    try:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # reaped already


def write_report(fit: FitResult, out, *, log=None) -> list:
    """Write every output of a fit into ``out``, replacing the previous run's set as a whole.

    Writes ``result.json``, ``summary.md``, the model's own plots, the pair plot, and with a
    posterior the marginal plots and ``posterior.nc``. Plots come as PNG and PDF.

    Every file is first written into a hidden folder inside ``out`` (only ``out`` needs to be
    writable); then the previous run's files (listed in ``out/.bayesfit-files.json``) are moved
    aside, the new ones moved in, the list rewritten, and the old set deleted. If anything fails
    or the process is interrupted (``KeyboardInterrupt``, or ``SystemExit`` from the command
    line's SIGTERM handler) before the new list is written, the old set is put back: ``out``
    holds either the complete old set or the complete new one, never files of two runs, and no
    temporary folder is left behind. Files in ``out`` that bayesfit did not write are left alone.

    Parameters
    ----------
    fit : FitResult
    out : str or pathlib.Path
        Target folder; created if needed.
    log : callable, optional
        Called with a line before the profile and contour scans (they refit the model, and
        can take a minute) and with what was left out to keep within :data:`SCAN_BUDGET_S`.

    Returns
    -------
    list of pathlib.Path
        Files now in ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".bayesfit-new-", dir=out))
    old = saver = None
    moved_in, moved_out, committed, held = [], [], False, None
    try:
        result = result_dict(fit)
        (new / "result.json").write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
        (new / "summary.md").write_text(summary_text(fit, markdown=True) + "\n")
        figures = dict(fit.problem.plots(fit))
        if len(fit.problem.params) > 1:
            figures["pairs"] = plot_pairs(fit.problem.params, fit.mle, fit.map, fit.idata)
        scans = {}
        if fit.idata is not None:
            figures["posterior_marginals"] = plot_marginals(fit.problem.params, fit.mle, fit.idata)
            if fit.ppc is not None:
                figures["ppc"] = plot_ppc(fit.ppc, fit.gof, title=fit.problem.name)
            if fit.mle.minuit is not None and fit.mle.valid:
                saver = _save_in_child(figures, new)  # these are rendered while the scans run here
                scans = _scans(fit, log)
            fit.idata.to_netcdf(str(new / "posterior.nc"))
        for stem, fig in scans.items():
            save_figure(fig, new, stem)
        if saver is not None and _saved_by_child(saver, figures, new):
            for fig in figures.values():
                plt.close(fig)
        else:
            for stem, fig in figures.items():
                save_figure(fig, new, stem)
        files = sorted(f.name for f in new.iterdir())
        manifest = new / MANIFEST
        manifest.write_text(json.dumps({"files": files}) + "\n")
        held = _hold_signals()  # the swap and its clean-up are not interrupted half-way
        old = Path(tempfile.mkdtemp(prefix=".bayesfit-old-", dir=out))
        previous = {f.name for f in _owned_files(out)} | {n for n in files if (out / n).is_file()}
        for name in sorted(previous):
            (out / name).replace(old / name)
            moved_out.append(name)
        for name in files:
            (new / name).replace(out / name)
            moved_in.append(name)
        manifest.replace(out / MANIFEST)  # the commit point: from here on the new set stands
        committed = True
        return [out / n for n in files]
    finally:
        if saver is not None:
            _stop_child(saver)  # interrupted while it was saving: it must not outlive this call
        if not committed:
            for name in moved_in:
                (out / name).unlink(missing_ok=True)
            for name in moved_out:
                (old / name).replace(out / name)
        shutil.rmtree(new, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if held is not None:
            held()  # deliver a SIGINT or SIGTERM that came during the swap, now that it is whole
