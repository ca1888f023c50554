"""The result objects of a fit: what :func:`bayesfit.fit` returns.

:class:`FitResult` holds the three fits of one model on its data and is indexed by parameter
name (``res["mu"]`` is a :class:`ParameterResult`); :meth:`FitResult.to_dict` is the documented
``result.json`` structure. The renderers in :mod:`bayesfit.output` take these objects by their
attributes (duck typing) and never import this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayesfit.core.jsonable import to_jsonable
from bayesfit.core.posterior import posterior_correlation, posterior_draws

__all__ = ["FitResult", "ParameterResult", "PosteriorSummary", "SavedResult", "load", "result_dict"]


@dataclass(frozen=True)
class PosteriorSummary:
    """The NUTS posterior of one parameter, summarised with ArviZ.

    Attributes
    ----------
    mean, sd : float
    hdi_68 : (float, float)
        68.27 % highest-density interval.
    r_hat, ess_bulk : float
        Convergence diagnostics (Vehtari et al. 2021).
    """

    mean: float
    sd: float
    hdi_68: tuple
    r_hat: float
    ess_bulk: float


@dataclass(frozen=True)
class ParameterResult:
    """The three fits of one parameter: ``res["mu"]``.

    Attributes
    ----------
    name : str
    mle, hesse : float
        Maximum-likelihood value and its HESSE error.
    minos : (float, float)
        MINOS (lower, upper) errors, lower negative; NaN where MINOS failed.
    map, laplace_sd : float
        Posterior mode and its Laplace standard deviation.
    posterior : PosteriorSummary or None
        Without ``sample=True``, None.
    unit : str
    """

    name: str
    mle: float
    hesse: float
    minos: tuple
    map: float
    laplace_sd: float
    posterior: PosteriorSummary | None
    unit: str = ""


@dataclass
class FitResult:
    """Everything the three fits produced for one model and its data.

    Index it by parameter name (``res["mu"].mle``), print it for the comparison table, and
    write every output of the command line with :meth:`save`.

    Attributes
    ----------
    problem : bayesfit.modeling.problem.Problem
        The model bound to its data.
    mle : bayesfit.engine.mle.MLEResult
    map : bayesfit.engine.bayes.MAPResult or None
        None where the Bayesian fits were skipped (``bf.fit(..., bayesian=False)``).
    idata : arviz.InferenceData or None
        NUTS posterior, when sampling was asked for.
    comparison : dict
        Per-parameter comparison (see :func:`compare`).
    gof : dict
        ``{"chi2", "ndf", "p_value"}`` at the MLE.
    diagnostics : dict
        Validity flags and the list of ``warnings`` to show the user.
    timing_s : dict
        Wall time of each stage in seconds: ``mle``, ``map_laplace_compile`` (obtaining the
        compiled function: compiling, loading or reusing it), ``map_laplace``, and with NUTS
        ``nuts_compile`` and ``nuts``; ``total``.
    notes : list of str
        What :func:`bayesfit.fit` decided for the user (binning, dropped values).
    compiled : dict
        How each compiled stage got its functions: ``{"map_laplace": ..., "nuts": ...}``, each
        ``"compiled"`` or ``"reused in process"``
        (:mod:`bayesfit.backend.compiled`).
    ppc : dict or None
        The posterior-predictive check (:func:`posterior_predictive`), with a posterior.
    coverage : dict or None
        With ``check_coverage``: per parameter and interval the toys' coverage and a verdict
        (:func:`bayesfit.studies.coverage.coverage_advice`).
    """

    problem: object
    mle: object
    map: object
    idata: object = None
    comparison: dict = field(default_factory=dict)
    gof: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    timing_s: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    compiled: dict = field(default_factory=dict)
    ppc: dict = None
    coverage: dict = None

    @property
    def names(self) -> list:
        """Return the parameter names in order."""
        return list(self.problem.names)

    @property
    def minuit(self):
        """Return the ``iminuit.Minuit`` object of the maximum-likelihood fit."""
        return self.mle.minuit

    def __getitem__(self, name) -> ParameterResult:
        try:
            c = self.comparison[name]
        except KeyError:
            raise KeyError(f"no parameter {name!r}; the parameters are {', '.join(self.names)}") from None
        post = c["posterior"]
        if post is not None:
            post = PosteriorSummary(post["mean"], post["sd"], tuple(post["hdi_68"]), post["r_hat"],
                                    post["ess_bulk"])
        declared = [*self.problem.params, *getattr(self.problem, "derived", ())]
        unit = next((p.unit for p in declared if p.name == name), "")
        return ParameterResult(name, c["mle"], c["hesse"], tuple(c["minos"]), c["map"], c["laplace_sd"],
                               post, unit)

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def to_dict(self) -> dict:
        """Return exactly what ``result.json`` holds (JSON-safe; NaN and inf become None)."""
        return result_dict(self)

    def save(self, directory, *, log=None) -> list:
        """Write every output of the command line into ``directory``.

        ``result.json``, ``summary.md``, the plots as PNG and PDF, and with a posterior
        ``posterior.nc``; see :func:`bayesfit.output.report.write_report`.

        Parameters
        ----------
        directory : str or path-like
        log : callable, optional
            Receives a line before the profile and contour scans, which refit the model.

        Returns
        -------
        list of pathlib.Path
        """
        from bayesfit.backend import compat
        from bayesfit.output.report import write_report

        with compat.quiet_minuit():  # the scans' MINOS contours: MINUIT's C++ notes stay out of the output
            return write_report(self, directory, log=log)

    def __repr__(self):
        from bayesfit.output.report import summary_text

        return summary_text(self)

    def _repr_html_(self):
        from bayesfit.output.report import summary_html

        return summary_html(self)


def result_dict(fit: FitResult) -> dict:
    """Return the documented ``result.json`` structure of a fit.

    Parameters
    ----------
    fit : FitResult

    Returns
    -------
    dict
        JSON-safe; NaN and infinities become ``null``.
    """
    p = fit.problem
    names = p.names
    params = {
        n: {k: c[k] for k in ("mle", "hesse", "minos", "map", "laplace_sd", "posterior",
                              "laplace_over_hesse", "sd_over_hesse", "map_minus_mle_in_hesse")}
        | {k: c[k] for k in ("role", "derived") if c.get(k)}
        for n, c in fit.comparison.items()
    }
    out = {
        "model": p.name,
        "n_data": int(p.n_data),
        "parameter_order": list(names),
        "parameters": params,
        "correlation": {
            "hesse": fit.mle.correlation,
            "laplace": fit.map.correlation if fit.map is not None else None,
            "posterior": posterior_correlation(fit.idata, names) if fit.idata is not None else None,
        },
        "covariance": {
            "hesse": fit.mle.covariance,
            "laplace": fit.map.covariance if fit.map is not None else None,
            "posterior": np.atleast_2d(np.cov(posterior_draws(fit.idata, names), rowvar=False))
            if fit.idata is not None else None,
        },
        "gof": fit.gof,
        "coverage": fit.coverage,
        "ppc": None if fit.ppc is None else {
            "statistic": "Pearson chi2 at each posterior draw, observed vs replicated data",
            "p_value": fit.ppc["p_value"], "p_value_error": fit.ppc["p_value_error"],
            "draws": fit.ppc["draws"], "chi2_observed_mean": float(np.mean(fit.ppc["observed"])),
            "chi2_replicated_mean": float(np.mean(fit.ppc["replicated"])),
            **({"categories": {k: {"p_value": c["p_value"], "p_value_error": c["p_value_error"]}
                               for k, c in fit.ppc["categories"].items()}} if "categories" in fit.ppc else {})},
        "diagnostics": fit.diagnostics,
        "timing_s": fit.timing_s,
        "compiled": fit.compiled,
        "notes": list(fit.notes),
        "meta": p.meta,
    }
    return to_jsonable(out)


class SavedResult:
    """A fit written by :meth:`FitResult.save` (or the command line), read back by :func:`load`.

    Index it by parameter name like the :class:`FitResult` it was (``res["mu"].hesse``); it
    prints as the comparison table.

    Attributes
    ----------
    directory : pathlib.Path
    document : dict
        ``result.json`` as written.
    names : list of str
        The parameters, in order.
    model : bayesfit.WindowModel or bayesfit.LeastSquares or None
        The fitted model, to evaluate its densities (``model.pdf(res.values, x)``); None where
        ``model.pkl`` is missing or was written by an incompatible version (said in ``notes``).
    idata : arviz.InferenceData or None
        The NUTS posterior, from ``posterior.nc``.
    notes : list of str
    """

    def __init__(self, directory, document, model, idata, notes):
        self.directory, self.document, self.model, self.idata = Path(directory), document, model, idata
        self.names = list(document["parameter_order"])
        self.notes = list(notes)

    @property
    def values(self) -> np.ndarray:
        """Return the maximum-likelihood values, in parameter order."""
        return np.array([self.document["parameters"][n]["mle"] for n in self.names], dtype=float)

    @property
    def comparison(self) -> dict:
        """Return the per-parameter comparison of the three fits (as :class:`FitResult`'s)."""
        nan = float("nan")
        return {n: {k: nan if v is None else v for k, v in c.items() if k != "posterior"}
                | {"minos": [nan if m is None else m for m in c["minos"]], "posterior": c["posterior"]}
                for n, c in self.document["parameters"].items()}

    def covariance(self, kind="hesse") -> np.ndarray | None:
        """Return a covariance matrix of the fit: ``"hesse"``, ``"laplace"`` or ``"posterior"``.

        Parameters
        ----------
        kind : {"hesse", "laplace", "posterior"}

        Returns
        -------
        numpy.ndarray or None
            None where the fit has none (no posterior, or a file of a release before 0.3).
        """
        matrix = self.document.get("covariance", {}).get(kind)
        return None if matrix is None else np.array(matrix, dtype=float)

    def __getitem__(self, name) -> ParameterResult:
        try:
            c = self.document["parameters"][name]
        except KeyError:
            raise KeyError(f"no parameter {name!r}; the parameters are {', '.join(self.names)}") from None
        nan = lambda v: float("nan") if v is None else v  # noqa: E731 - JSON null back to NaN
        post = c["posterior"]
        if post is not None:
            post = PosteriorSummary(post["mean"], post["sd"], tuple(post["hdi_68"]), post["r_hat"], post["ess_bulk"])
        unit = next((p.unit for p in getattr(self.model, "params", ()) if p.name == name), "")
        return ParameterResult(name, nan(c["mle"]), nan(c["hesse"]), tuple(map(nan, c["minos"])), nan(c["map"]),
                               nan(c["laplace_sd"]), post, unit)

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def to_dict(self) -> dict:
        """Return ``result.json`` as it was written."""
        return self.document

    def __repr__(self):
        from bayesfit.output.report import format_table, role_legend

        d = self.document
        return "\n".join([f"bayesfit {d['model']}: {d['n_data']:,} data points (saved in {self.directory})", "",
                          format_table(self), *role_legend(self.comparison), *(f"note: {n}" for n in self.notes)])


def load(directory) -> SavedResult:
    """Read a fit written by :meth:`FitResult.save` or the command line back into Python.

    Reads ``result.json``, the model from ``model.pkl`` (a pickle: load only folders you
    trust, as for any pickle) and the posterior from ``posterior.nc`` where there is one.

    Parameters
    ----------
    directory : str or path-like
        The output folder of the fit.

    Returns
    -------
    SavedResult

    Raises
    ------
    bayesfit.InputError
        No ``result.json`` of a fit in ``directory``.

    Examples
    --------
    >>> res = bf.load("bayesfit-out/dimuon")                # doctest: +SKIP
    >>> res["mu"].hesse, res.covariance("hesse")            # doctest: +SKIP
    >>> res.model.pdf(res.values, x)                        # doctest: +SKIP
    """
    import json

    from bayesfit.core.io import InputError
    from bayesfit.output.report import MODEL_FILE

    folder = Path(directory)
    try:
        document = json.loads((folder / "result.json").read_text())
        document["parameter_order"], document["parameters"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"{folder}: no result.json of a bayesfit fit ({type(err).__name__}: {err})") from None
    notes, model, idata = [], None, None
    if (folder / MODEL_FILE).is_file():
        import cloudpickle

        try:
            model = cloudpickle.loads((folder / MODEL_FILE).read_bytes())
        except Exception as err:  # noqa: BLE001 - another version's classes: the numbers still load
            notes.append(f"the model could not be read back ({type(err).__name__}: {err}); the numbers are complete")
    else:
        notes.append(f"no {MODEL_FILE} (written by bayesfit 0.3 and later): the numbers only")
    if (folder / "posterior.nc").is_file():
        import arviz as az

        idata = az.from_netcdf(str(folder / "posterior.nc"))
    return SavedResult(folder, document, model, idata, notes)
