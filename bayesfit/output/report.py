"""A fit's report: the terminal table, ``summary.md``, ``result.json``, plots, NetCDF.

:func:`format_table` renders the comparison as a fixed-width text table (or markdown with
``markdown=True``), :func:`summary_text` and :func:`summary_html` the whole summary (terminal,
``summary.md``, Jupyter). :func:`write_report` writes every output of one fit into a folder
as one complete set (:mod:`bayesfit.output.folder`). Every function takes the fit by its
attributes (``problem``, ``comparison``, ``mle``, ``map``, ``idata``, ``gof``, ...: a
:class:`bayesfit.FitResult`) and never imports the engine.
"""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np

from bayesfit.core.posterior import posterior_correlation
from bayesfit.output import figures, folder
from bayesfit.output.formatting import (format_at_place, format_ess, format_general, format_ratio, pdg_place,
                                        ppc_p_text)
from bayesfit.output.plots import plot_marginals, plot_pairs, plot_ppc
from bayesfit.output.scans import scan_figures

__all__ = ["format_table", "summary_text", "summary_html", "gof_text", "coverage_text", "ppc_text", "write_report",
           "MODEL_FILE"]

#: The file beside ``result.json`` that holds the fitted model (cloudpickle), for ``bf.load``.
MODEL_FILE = "model.pkl"


def _upper(cell: str) -> str:
    """Return an upper MINOS error's cell with its sign ("—" where MINOS gave none)."""
    return cell if cell == "—" else "+" + cell


def _row_place(c):
    """Return the decimal place of a row: the PDG rule applied to its HESSE error (or Laplace, sd)."""
    post = c["posterior"] or {}
    for error in (c["hesse"], c["laplace_sd"], post.get("sd")):
        if error is not None and np.isfinite(error) and error > 0:
            return pdg_place(error)
    return None


#: The marks of the table's rows that are not plain fit parameters, and what each says.
ROLE_MARKS = {
    "constrained": ("ᶜ", "constrained: an auxiliary measurement in the likelihood of both fits (profiled by the MLE, "
                         "integrated by NUTS)"),
    "prior": ("ᵖ", "prior= in the Bayesian fits only: the MLE does not see it, so MAP and MLE differ by design"),
    "derived": ("ᵈ", "derived: computed from the fit parameters; HESSE and Laplace errors propagated with its "
                     "exact Jacobian, the posterior from the transformed draws"),
}


#: The mark of a row whose MLE sits on its parameter's physical boundary (``Parameter(boundary=)``).
BOUNDARY_MARK = ("ᵇ", "on its physical boundary: the data prefer none of it; its interval is one-sided (the HESSE "
                      "error is not a ± here): quote an upper limit, bf.upper_limit or `bayesfit limit`")


def _marked(name, c) -> str:
    """Return a row's name with the marks of its role (constrained, prior, derived) and boundary, if any."""
    role = c.get("role")
    marks = (ROLE_MARKS[role][0] if role in ROLE_MARKS else "") + (BOUNDARY_MARK[0] if c.get("boundary") else "")
    return f"{name} {marks}" if marks else name


def role_legend(comparison) -> list:
    """Return one line per role mark used in a comparison (the table's footnotes).

    Parameters
    ----------
    comparison : dict
        Rows by name, as :attr:`bayesfit.FitResult.comparison`.

    Returns
    -------
    list of str
    """
    used = {c.get("role") for c in comparison.values()}
    lines = [f"{mark} {text}" for role, (mark, text) in ROLE_MARKS.items() if role in used]
    if any(c.get("boundary") for c in comparison.values()):
        lines.append(f"{BOUNDARY_MARK[0]} {BOUNDARY_MARK[1]}")
    lines += [f"{name} = {c['derived']}" for name, c in comparison.items() if c.get("derived")]
    return lines


def _has_map(fit) -> bool:
    """Whether the fit ran the Bayesian side (a MAP in some row); ``bf.fit(..., bayesian=False)`` did not."""
    return any(c.get("map") is not None and np.isfinite(c["map"]) for c in fit.comparison.values())


def format_table(fit, *, markdown=False) -> str:
    """Render the per-parameter comparison of the three fits.

    Values and errors are given to the decimal place the PDG rule keeps for the parameter's
    HESSE error (two significant digits, or one for errors starting with 355–949); ratios,
    r̂ and ESS to a few significant digits.

    Parameters
    ----------
    fit : bayesfit.FitResult
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
        at = lambda x, place=_row_place(c): format_at_place(x, place)
        rows.append([
            _marked(name, c), at(c["mle"]), at(c["hesse"]), at(c["minos"][0]), _upper(at(c["minos"][1])),
            at(c["map"]), at(c["laplace_sd"]), at(post.get("mean")), at(post.get("sd")),
            at(hdi[0]), at(hdi[1]), format_ratio(c["laplace_over_hesse"]), format_ratio(c["sd_over_hesse"]),
            format_ratio(post.get("r_hat")), format_ess(post.get("ess_bulk")),
        ])
    if not _has_map(fit):  # the maximum likelihood only
        head, rows = head[:5], [r[:5] for r in rows]
    elif not fit.idata:
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


def _correlation_text(fit, markdown: bool) -> str:
    names = fit.problem.names
    mats = [("HESSE", fit.mle.correlation)]
    if fit.map is not None:
        mats.append(("Laplace", fit.map.correlation))
    if fit.idata is not None:
        mats.append(("posterior", posterior_correlation(fit.idata, names)))
    parts = []
    for label, mat in mats:
        if not np.all(np.isfinite(mat)):  # no table of NaN: say what is missing
            parts.append(f"{label} correlation: not available (its covariance is not finite; see the warnings)")
            continue
        lines = [f"{label} correlation:"]
        width = max(6, *(len(n) for n in names))
        lines.append(" " * width + "".join(n.rjust(width + 2) for n in names))
        for n, row in zip(names, mat):
            lines.append(n.ljust(width) + "".join(f"{v:+.3f}".rjust(width + 2) for v in row))
        parts.append("\n".join(lines))
    text = "\n\n".join(parts)
    return f"```\n{text}\n```" if markdown else text


def summary_text(fit, *, markdown=False) -> str:
    """Return the whole human-readable summary: table, fit quality, correlations, warnings.

    Parameters
    ----------
    fit : bayesfit.FitResult
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
        if key == "categories":  # a simultaneous fit: one line per category
            lines.extend(f"{'- ' if markdown else '  '}category {k}: {c['n_data']:,} events in "
                         f"[{c['window'][0]:g}, {c['window'][1]:g}], {c['likelihood']}" for k, c in value.items())
        elif key != "description":
            lines.append(f"{'- ' if markdown else '  '}{key}: {value}")
    if p.meta:
        lines.append("")
    lines.append(format_table(fit, markdown=markdown))
    legend = role_legend(fit.comparison)
    if legend:
        lines.append("")
        lines.extend(("- " if markdown else "") + line for line in legend)
    lines.append("")
    lines.append(f"{gof_text(gof)}   (−ln L at minimum = {fit.mle.fval:.6g})")
    for key, part in gof.get("categories", {}).items():
        lines.append(f"{'- ' if markdown else '  '}{key}: {gof_text(part)}")
    if fit.ppc is not None:
        lines.append(ppc_text(fit.ppc))
        for key, part in fit.ppc.get("categories", {}).items():
            lines.append(f"{'- ' if markdown else '  '}{key}: posterior-predictive χ² check: {ppc_p_text(part)}")
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


def summary_html(fit) -> str:
    """Return the comparison as an HTML table with the fit quality and warnings (Jupyter).

    Parameters
    ----------
    fit : bayesfit.FitResult

    Returns
    -------
    str
    """
    import html

    p = fit.problem
    head = ["param", "MLE", "HESSE σ", "MINOS −", "MINOS +", "MAP", "Laplace σ"][:7 if _has_map(fit) else 5]
    if fit.idata is not None:
        head += ["post. mean", "post. sd", "HDI 68 %", "r̂", "ESS"]
    rows = []
    for name, c in fit.comparison.items():
        cells = [_marked(name, c), format_general(c["mle"]), format_general(c["hesse"], 4), format_general(c["minos"][0], 4),
                 _upper(format_general(c["minos"][1], 4)),
                 format_general(c["map"]), format_general(c["laplace_sd"], 4)][:len(head)]
        post = c["posterior"]
        if post is not None:
            cells += [format_general(post["mean"]), format_general(post["sd"], 4), f"[{format_general(post['hdi_68'][0])}, {format_general(post['hdi_68'][1])}]",
                      format_ratio(post["r_hat"]), format_ess(post["ess_bulk"])]
        rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>")
    gof = fit.gof
    parts = [f"<p><b>bayesfit {html.escape(p.name)}</b>: {p.n_data:,} data points, "
             f"{html.escape(str(p.meta.get('likelihood', '')))}</p>",
             "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
             *(f"<p><small>{html.escape(line)}</small></p>" for line in role_legend(fit.comparison)),
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
    if "bins_used" in gof:
        return (f"too few data for a goodness-of-fit test: {gof['bins_used']} bins with more than 5 expected "
                f"events for {gof['bins_used'] - gof['ndf']} parameters")
    return "too few data for a goodness-of-fit test: no degree of freedom left"


def coverage_text(cov: dict, *, markdown=False) -> str:
    """Return the coverage check (``bf.fit(..., check_coverage=N)``) as a small table.

    Parameters
    ----------
    cov : dict
        :func:`bayesfit.studies.coverage.coverage_advice`'s result.
    markdown : bool

    Returns
    -------
    str
    """
    kinds = [k for k in ("hesse", "minos", "laplace", "hdi_68")
             if any(k in p for p in cov["parameters"].values())]
    names = {"hesse": "HESSE", "minos": "MINOS", "laplace": "Laplace", "hdi_68": "HDI 68 %"}
    head = ["param", *[names[k] for k in kinds], "pull mean", "pull width"]
    rows, beyond, needed = [], {"below": [], "above": []}, []
    for name, p in cov["parameters"].items():
        row = [name]
        for k in kinds:
            c = p.get(k)
            row.append(f"{100 * c['coverage']:.1f} ± {100 * c['error']:.1f} % {c['verdict']}" if c else "—")
            if c:
                side = c["versus_nominal"].split()[0]
                if side in beyond:
                    beyond[side].append(f"{name} {names[k]} ({100 * c['coverage']:.1f} %)")
                if c["toys_to_decide"]:
                    needed.append(c["toys_to_decide"])
        row.append(f"{p['pull_mean']:+.2f}" if "pull_mean" in p else "—")
        row.append(f"{p['pull_width']:.2f}" if "pull_width" in p else "—")
        rows.append(row)
    title = (f"coverage at this sample size: {cov['toys']:,} toys of {cov['n_events']:,} events at the fitted "
             f"point (nominal 68.3 %, trusted within ±{100 * cov['tolerance']:.0f} %)")
    notes = [f"{side} 68.3 % at 99 % CL: {', '.join(found)}" for side, found in beyond.items() if found]
    if needed:
        notes.append(f"undetermined: about {max(needed):,} toys would tell whether "
                     f"{'that interval lies' if len(needed) == 1 else 'each such interval lies'} within "
                     f"±{100 * cov['tolerance']:.0f} % of 68.3 %")
    if markdown:
        return "\n".join([title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                          *("| " + " | ".join(r) + " |" for r in rows), *(["", *notes] if notes else [])])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = lambda r: "  ".join(x.rjust(w) for x, w in zip(r, widths))
    return "\n".join([title, fmt(head), *map(fmt, rows), *notes])


def ppc_text(ppc: dict) -> str:
    """Return the posterior-predictive check as one line (see :func:`bayesfit.engine.fits.posterior_predictive`)."""
    return (f"posterior-predictive χ² check: {ppc_p_text(ppc)}"
            f" ({ppc['draws']:,} draws; share of replicated datasets with a larger χ²)")


def _save_model(model, path, log):
    """Pickle the fitted model beside the numbers (``bf.load`` reads it back); say so if it cannot be."""
    import cloudpickle

    try:
        path.write_bytes(cloudpickle.dumps(model))
    except Exception as err:  # noqa: BLE001 - a model of objects that do not pickle: the numbers are complete
        path.unlink(missing_ok=True)
        if log is not None:
            log(f"note: {path.name} not written: the model does not pickle ({type(err).__name__}: {err})")


def write_report(fit, out, *, log=None) -> list:
    """Write every output of a fit into ``out``, replacing the previous run's set as a whole.

    Writes ``result.json``, ``summary.md``, the model's own plots, the pair plot, and with a
    posterior the marginal plots and ``posterior.nc``. Plots come as PNG and PDF. ``out``
    holds either the complete old set or the complete new one, whatever happens
    (:func:`bayesfit.output.folder.staged`).

    Parameters
    ----------
    fit : bayesfit.FitResult
    out : str or pathlib.Path
        Target folder; created if needed.
    log : callable, optional
        Called with a line before the profile and contour scans (they refit the model, and
        can take a minute) and with what was left out to keep within
        :data:`bayesfit.output.scans.SCAN_BUDGET_S`.

    Returns
    -------
    list of pathlib.Path
        Files now in ``out``.
    """
    saver = None
    with folder.staged(out) as new:
        try:
            (new / "result.json").write_text(json.dumps(fit.to_dict(), indent=2, allow_nan=False) + "\n")
            (new / "summary.md").write_text(summary_text(fit, markdown=True) + "\n")
            if getattr(fit.problem, "model", None) is not None:
                _save_model(fit.problem.model, new / MODEL_FILE, log)
            shown = dict(fit.problem.plots(fit))
            if len(fit.problem.params) > 1:
                shown["pairs"] = plot_pairs(fit.problem.params, fit.mle, fit.map, fit.idata)
            scans = {}
            if fit.idata is not None:
                shown["posterior_marginals"] = plot_marginals(fit.problem.params, fit.mle, fit.idata)
                if fit.ppc is not None:
                    shown["ppc"] = plot_ppc(fit.ppc, fit.gof, title=fit.problem.name)
                if fit.mle.minuit is not None and fit.mle.valid:
                    saver = figures.save_in_child(shown, new)  # rendered while the scans run here
                    scans = scan_figures(fit, log)
                fit.idata.to_netcdf(str(new / "posterior.nc"))
            for stem, fig in scans.items():
                figures.save_figure(fig, new, stem)
            if saver is not None and figures.saved_by_child(saver, shown, new):
                for fig in shown.values():
                    plt.close(fig)
            else:
                for stem, fig in shown.items():
                    figures.save_figure(fig, new, stem)
        finally:
            if saver is not None:
                figures.stop_child(saver)  # interrupted while it was saving: it must not outlive this call
    return folder.written(out)
