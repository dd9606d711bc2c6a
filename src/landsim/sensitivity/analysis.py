"""The analysis object, :class:`SensitivityAnalysis`, and :func:`run_sensitivity`.

Like SALib's ``ProblemSpec``, one object samples, evaluates and analyzes; each
step is a verb whose work is done by the functions of the other modules of
:mod:`landsim.sensitivity`, and whose results are attributes ending in ``_``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landsim.experiment import Experiment
from landsim.scenario import DEFAULT_NAME, ScenarioError
from landsim.sensitivity.diagnostics import SensitivityWarning, check_runs, diagnose_indices
from landsim.sensitivity.evaluate import (
    aggregate,
    batch_experiment,
    check_evaluation_dir,
    check_model_outputs,
    check_paired_outputs,
    run_points,
)
from landsim.sensitivity.indices import analyze_outputs, rank_factors
from landsim.sensitivity.io import SENSITIVITY_FILES, format_analysis, plot_figures, write_files
from landsim.sensitivity.sampling import check_size, draw_sample, salib_problem, sample_points
from landsim.sensitivity.scenarios import check_factors, is_function_model, resolve_scenario
from landsim.sensitivity.spec import build_spec, read_sensitivity_file


class SensitivityAnalysis:
    """A global sensitivity analysis: sample, evaluate, analyze (SALib ProblemSpec).

    Parameters
    ----------
    factors : dict
        Factor name (a dotted scenario key, or any name for a callable model) to a
        :class:`Factor`, a dict of its fields, or ``[low, high]``.
    method : {"morris", "sobol", "fast", "delta", "pawn"}
    n : int
        Sample size (see :mod:`landsim.sensitivity` for its meaning per method).
    outputs : list of str
        Run outputs (yearly columns with optional ``@stat``, see
        :mod:`landsim.experiment`; or :data:`PAIRED_OUTPUTS` with a counterfactual;
        or the keys a callable model returns).
    seed : int
        Seeds the sample and the replicate streams.
    replicates : int
        Runs per sample point; the analysis uses their mean.
    model : Scenario, path, "default" or callable
        The scenario whose keys the factors override, or a function
        ``f(params)`` / ``f(params, rng=...)`` returning a number or a dict.
    counterfactual : Scenario, path or None
        Run every point on it as well (same overrides, same streams), for the
        paired outputs.
    years : int, optional
        The horizon of every run.
    options : dict, optional
        Method options (:class:`Options`).
    name : str
        Recorded in every output.
    source : str
        Where the definition came from, for error messages.

    Attributes
    ----------
    problem_ : SALib.ProblemSpec
        The SALib problem; holds the samples, results and analyses.
    samples_ : ndarray
        The sample (after :meth:`sample`).
    points_ : list of dict
        The sample as override tables (integer-valued keys rounded).
    runs_ : pandas.DataFrame
        The run table from the batch engine (after :meth:`evaluate`).
    results_ : pandas.DataFrame
        Mean over replicates, one row per sample point and one column per output.
    spread_ : pandas.DataFrame
        Per output: mean replicate sd, sd of the point means, and their ratio.
    indices_ : pandas.DataFrame
        Long table: output, factor, index, value (after :meth:`analyze`).
    convergence_ : pandas.DataFrame
        The main index recomputed on growing subsets of the sample.
    """

    def __init__(
        self,
        factors: dict,
        method: str,
        n: int,
        outputs: list[str] | None = None,
        *,
        seed: int = 0,
        replicates: int = 1,
        model: Any = DEFAULT_NAME,
        counterfactual: Any = None,
        years: int | None = None,
        options: dict | None = None,
        name: str = "sensitivity",
        source: str = "<python>",
    ):
        self.factors = factors
        self.method = method
        self.n = n
        self.outputs = outputs
        self.seed = seed
        self.replicates = replicates
        self.model = model
        self.counterfactual = counterfactual
        self.years = years
        self.options = options
        self.name = name
        self.source = source
        self._validate()

    def _validate(self) -> None:
        """Validate everything once, here; fill the resolved attributes."""
        callable_model = is_function_model(self.model)
        outputs = self.outputs if self.outputs is not None else (["y"] if callable_model else [])
        self.spec_ = build_spec(
            self.factors,
            self.method,
            self.n,
            outputs,
            seed=self.seed,
            replicates=self.replicates,
            years=self.years,
            options=self.options,
            name=self.name,
            source=self.source,
        )
        self.is_function_ = callable_model
        self.scenario_ = None if callable_model else resolve_scenario(self.model, self.years)
        self.counterfactual_ = (
            resolve_scenario(self.counterfactual, self.years)
            if self.counterfactual is not None
            else None
        )
        if callable_model and self.counterfactual is not None:
            raise ScenarioError(self.source, [("counterfactual", "needs a scenario model")])
        check_size(self.spec_, self.source, paired=self.counterfactual_ is not None)
        if not callable_model:
            check_factors(self.spec_, self.scenario_, self.counterfactual_, self.source)
            check_paired_outputs(self.spec_, self.source, self.counterfactual_ is not None)
            check_model_outputs(self._experiment(points=[{}]))

    @classmethod
    def from_file(cls, path: str | Path) -> SensitivityAnalysis:
        """Load a sensitivity experiment file (see ``docs/sensitivity.md``)."""
        return cls(**read_sensitivity_file(path))

    # ------------------------------------------------------------------ sample

    @property
    def names(self) -> list[str]:
        return list(self.spec_.factors)

    def problem(self):
        """A fresh SALib ProblemSpec for the factors and outputs."""
        return salib_problem(self.spec_)

    def sample(self) -> SensitivityAnalysis:
        """Draw the sample with the method's SALib sampler (seeded)."""
        self.problem_ = draw_sample(self.spec_)
        self.samples_ = np.asarray(self.problem_.samples)
        self.points_ = sample_points(self.samples_, self.names, self.scenario_)
        return self

    # ------------------------------------------------------------------ evaluate

    def _experiment(self, points: list[dict], counterfactual: bool = False) -> Experiment:
        """The batch of the scenario (or of the counterfactual, over the factors it
        has: same points, same replicate streams)."""
        return batch_experiment(
            self.spec_,
            points,
            self.counterfactual_ if counterfactual else self.scenario_,
            name=self.name,
            source=self.source,
            counterfactual=counterfactual,
            paired=self.counterfactual_ is not None,
        )

    def evaluate(
        self,
        *,
        out: str | Path | None = None,
        workers: int | None = None,
        scheduler: str | None = None,
        dask_local: int | None = None,
        resume: bool = False,
        force: bool = False,
        progress: bool = False,
    ) -> SensitivityAnalysis:
        """Run every sample point ``replicates`` times through the batch engine.

        ``out`` streams the runs to ``out/runs`` (resumable); the backend options
        are those of :func:`landsim.batch.run_batch`.

        Raises
        ------
        SensitivityError
            If some runs failed (they are recorded; fix the cause and resume).
        """
        check_evaluation_dir(out)
        if not hasattr(self, "points_"):
            self.sample()
        backend = {
            "workers": workers,
            "scheduler": scheduler,
            "dask_local": dask_local,
            "resume": resume,
            "force": force,
            "progress": progress,
        }
        function = self.model if self.is_function_ else None
        runs = run_points(
            self._experiment(self.points_), out, "runs", function=function, **backend
        )
        if self.counterfactual_ is not None:
            cf = self._experiment(self.points_, counterfactual=True)
            cf_runs = run_points(cf, out, "runs_counterfactual", **backend)
            runs = pd.concat([runs, cf_runs], ignore_index=True)
        self.runs_ = runs
        check_runs(runs)
        paired = self.counterfactual_ is not None
        self.results_, self.spread_ = aggregate(runs, self.spec_, len(self.points_), paired)
        return self

    def set_results(self, results: pd.DataFrame) -> SensitivityAnalysis:
        """Use results computed elsewhere: one row per sample point, one column per
        output (the mean over replicates)."""
        self.results_ = results[list(self.spec_.outputs)].reset_index(drop=True)
        self.spread_ = pd.DataFrame()
        return self

    # ------------------------------------------------------------------ analyze

    def analyze(self) -> SensitivityAnalysis:
        """Compute the indices of every output (and their convergence)."""
        self.indices_, self.convergence_ = analyze_outputs(
            self.spec_, self.samples_, self.results_
        )
        self.warnings_ = self.diagnose()
        for message in self.warnings_:
            warnings.warn(message, SensitivityWarning, stacklevel=2)
        return self

    def diagnose(self) -> list[str]:
        """What the reader of the indices must know: a sample too small for
        intervals that rank the factors, no convergence check, no replicate spread.
        Each message says what to change. :meth:`analyze` issues them as
        :class:`SensitivityWarning` and keeps them in ``warnings_``; :meth:`format`
        prints them and :meth:`write` records them (``warnings.txt``, manifest)."""
        return diagnose_indices(self.spec_, self.indices_, self.convergence_, self.is_function_)

    # ------------------------------------------------------------------ reporting

    def ranked(self, output: str | None = None) -> pd.DataFrame:
        """Factors ranked by the method's main index (one output, or the first)."""
        return rank_factors(self.indices_, self.spec_.method, output or self.spec_.outputs[0])

    def format(self) -> str:
        """The ranked tables of every output, for the terminal."""
        return format_analysis(self)

    def write(self, out: str | Path) -> list[Path]:
        """Write the indices, convergence, samples and results (CSV and Parquet), the
        figures and a manifest to ``out``."""
        from landsim.outdir import check_out_dir, staged

        out = check_out_dir(out, "sensitivity", option="", same_kind="caller")
        with staged(out, "sensitivity", owned=SENSITIVITY_FILES) as tmp:
            names = write_files(self, tmp)
        return [out / name for name in names]

    def plot(self, out: Path) -> list[Path]:
        """Bar charts with intervals, the Morris mu*-sigma plot, the convergence plot."""
        return plot_figures(self, out)


def run_sensitivity(
    analysis: SensitivityAnalysis | str | Path, *, out: str | Path | None = None, **backend
) -> SensitivityAnalysis:
    """Sample, evaluate and analyze in one call (and write to ``out`` if given)."""
    if not isinstance(analysis, SensitivityAnalysis):
        analysis = SensitivityAnalysis.from_file(analysis)
    analysis.sample().evaluate(out=out, **backend).analyze()
    if out is not None:
        analysis.write(out)
    return analysis
