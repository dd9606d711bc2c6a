"""Global sensitivity analysis with SALib, evaluated through the batch engine.

The flow is SALib's ProblemSpec: **sample**, **evaluate**, **analyze**, on one
object, :class:`SensitivityAnalysis`::

    sa = SensitivityAnalysis.from_file("experiments/sobol_tambopata.toml")
    sa.sample()                                  # sa.samples_: (n_points, n_factors)
    sa.evaluate(out="results/sobol", workers=2)  # runs through landsim.batch
    sa.analyze()                                 # sa.indices_: a long DataFrame
    sa.write("results/sobol")                    # tables, figures

Factors are scenario keys (the dotted names of scenario files); a Python callable
``f(params) -> number or dict`` may replace the land-use model (``model=f``), so
the pipeline can be checked on functions whose indices are known analytically.

Methods
-------
``morris``
    Elementary effects screening (``n`` trajectories, ``num_levels``): mu*, mu,
    sigma, and a bootstrap interval of mu*.
``sobol``
    Saltelli/Jansen estimators of first- and total-order (optionally second-order)
    indices with bootstrap intervals; ``n`` base samples, a power of two (Sobol'
    sequence).
``fast``
    Extended FAST (first and total order); ``n`` samples per factor, more than
    ``4 M^2``.
``delta``
    Borgonovo's moment-independent delta (SALib's raw, balanced and step
    estimates) on a Latin hypercube sample of size ``n``. Its bootstrap is slow
    (about a minute per output at n = 1000), so no convergence is computed.
``pawn``
    PAWN (Kolmogorov-Smirnov statistics over ``S`` conditioning slices) on a Latin
    hypercube sample of size ``n``.

The model is stochastic: each sample point runs ``replicates`` times (replicate
``r`` with ``SeedSequence(seed).spawn(replicates)[r]``, common to every point, so
that differences between points are not chance) and the analysis uses the mean
over replicates. The replicate spread is reported per output (``spread_``): the
mean replicate standard deviation against the standard deviation of the point
means.

References
----------
Morris, M. D. (1991). Factorial sampling plans for preliminary computational
experiments. Technometrics 33, 161-174.
Campolongo, F., Cariboni, J., Saltelli, A. (2007). An effective screening design
for sensitivity analysis of large models. Environ. Model. Softw. 22, 1509-1518.
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output.
Comput. Phys. Commun. 181, 259-270.
Saltelli, A., Tarantola, S., Chan, K. (1999). A quantitative model-independent
method for global sensitivity analysis of model output. Technometrics 41, 39-56.
Borgonovo, E. (2007). A new uncertainty importance measure. Reliab. Eng. Syst.
Saf. 92, 771-784.
Pianosi, F., Wagener, T. (2015). A simple and efficient method for global
sensitivity analysis based on cumulative distribution functions. Environ. Model.
Softw. 67, 1-11.
Herman, J., Usher, W. (2017). SALib: an open-source Python library for
sensitivity analysis. J. Open Source Softw. 2(9), 97.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from landsim.errors import problems_from
from landsim.evaluation.metrics import additional_tco2e, avoided_ha, cost_per_tco2e
from landsim.experiment import (
    Experiment,
    Integer,
    Number,
    check_design_size,
    is_integer_key,
)
from landsim.scenario import (
    DEFAULT_NAME,
    Scenario,
    ScenarioError,
    has_path,
    load_scenario,
    read_toml,
)

METHODS = ("morris", "sobol", "fast", "delta", "pawn")

#: The index each method ranks factors by, and its interval column.
MAIN_INDEX = {
    "morris": ("mu_star", "mu_star_conf"),
    "sobol": ("ST", "ST_conf"),
    "fast": ("ST", "ST_conf"),
    "delta": ("delta_raw", "delta_raw_conf"),
    "pawn": ("median", None),
}

#: Indices that lie in [0, 1] (their intervals say whether n is large enough).
BOUNDED_INDICES = {
    "sobol": ("S1", "ST"),
    "fast": ("S1", "ST"),
    "delta": ("delta_raw", "delta_balanced", "S1"),
}

#: Widest interval half-width (and most negative index) of a usable analysis.
MAX_HALF_WIDTH = 0.1

#: Fewest Morris trajectories without a warning.
MIN_MORRIS_TRAJECTORIES = 10

#: Columns of the convergence table (also when it is empty).
CONVERGENCE_COLUMNS = ["output", "factor", "n", "index", "value", "conf"]

#: Outputs computed from a run and its counterfactual (same point and stream).
PAIRED_OUTPUTS = {
    "avoided_deforestation_ha": "cumulative deforestation avoided against the counterfactual",
    "additional_carbon_tco2e": "carbon stock gained against the counterfactual",
    "cost_per_tco2e": "programme cost (sum over years) per additional tCO2e",
}


#: SALib distribution names and the factor keys that give their parameters.
DISTRIBUTIONS = {
    "unif": ("low", "high"),
    "triang": ("low", "high", "peak"),
    "norm": ("mean", "sd"),
    "truncnorm": ("low", "high", "mean", "sd"),
    "lognorm": ("mean", "sd"),
}


#: The logarithm of the largest float: a lognormal factor must stay below it.
LOG_MAX_FLOAT = math.log(sys.float_info.max)


#: Every file :meth:`SensitivityAnalysis.write` may write (those an analysis does
#: not write, e.g. the Morris plot after a Sobol' analysis, are removed from DIR).
SENSITIVITY_FILES = (
    *(
        f"{name}.{ext}"
        for name in ("indices", "convergence", "samples", "results", "replicate_spread")
        for ext in ("csv", "parquet")
    ),
    "indices.png",
    "morris_mu_star_sigma.png",
    "convergence.png",
    "manifest.json",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Factor(_Section):
    """One uncertain input: uniform on [low, high] by default.

    ``dist`` is a SALib distribution: "unif" (low, high), "triang" (low, high,
    peak), "norm" (mean, sd), "truncnorm" (low, high, mean, sd) or "lognorm" (mean
    and sd of the logarithm).
    """

    dist: Literal["unif", "triang", "norm", "truncnorm", "lognorm"] = "unif"
    low: Number | None = None
    high: Number | None = None
    peak: Number | None = None
    mean: Number | None = None
    sd: Number | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self):
        needed = DISTRIBUTIONS[self.dist]
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(
                f"dist {self.dist!r} needs {', '.join(needed)} (missing: {', '.join(missing)})"
            )
        extra = [
            k
            for k in ("low", "high", "peak", "mean", "sd")
            if k not in needed and getattr(self, k) is not None
        ]
        if extra:
            raise ValueError(
                f"dist {self.dist!r} takes {', '.join(needed)} (not {', '.join(extra)})"
            )
        if "low" in needed and not self.high > self.low:
            raise ValueError(f"inverted bounds: high ({self.high}) must be > low ({self.low})")
        if self.dist == "triang" and not self.low <= self.peak <= self.high:
            raise ValueError(f"peak ({self.peak}) must lie within [low, high]")
        if self.dist == "lognorm" and self.mean + 3 * self.sd > LOG_MAX_FLOAT:
            raise ValueError(
                f"mean and sd are those of the logarithm of the value: mean + 3 sd = "
                f"{self.mean + 3 * self.sd:.4g} gives values of e^{self.mean + 3 * self.sd:.4g}, "
                f"beyond the largest float (e^{LOG_MAX_FLOAT:.1f}); for values near x, "
                "mean is about ln(x) (e.g. 6.9 for 1000)"
            )
        return self

    def salib_bounds(self) -> list[float]:
        """The ``bounds`` entry SALib expects for this distribution."""
        if self.dist == "triang":  # SALib: [lower, upper, peak as a fraction of the width]
            return [self.low, self.high, (self.peak - self.low) / (self.high - self.low)]
        return [getattr(self, k) for k in DISTRIBUTIONS[self.dist]]

    def extremes(self) -> list[float]:
        """Values to check against the scenario schema: bounds, or mean +/- 3 sd."""
        if self.low is not None:
            return [self.low, self.high]
        if self.dist == "lognorm":
            return [math.exp(self.mean - 3 * self.sd), math.exp(self.mean + 3 * self.sd)]
        return [self.mean - 3 * self.sd, self.mean + 3 * self.sd]


def _factor(value: Any) -> Any:
    """``[low, high]`` is shorthand for a uniform factor."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"low": value[0], "high": value[1]}
    return value


class Options(_Section):
    """Method options (SALib's names)."""

    num_levels: Integer = Field(default=4, ge=2)  # morris grid levels
    calc_second_order: bool = False  # sobol
    M: Integer = Field(default=4, ge=1)  # fast interference factor
    S: Integer = Field(default=10, ge=2)  # pawn slices
    num_resamples: Integer = Field(default=100, ge=10)  # bootstrap resamples
    conf_level: Number = Field(default=0.95, gt=0, lt=1)


class SensitivitySpec(_Section):
    """The contents of a sensitivity experiment file."""

    name: str
    description: str = ""
    method: Literal["morris", "sobol", "fast", "delta", "pawn"]
    n: Integer = Field(ge=1)
    seed: Integer = Field(ge=0)
    replicates: Integer = Field(default=1, ge=1)
    scenario: str = DEFAULT_NAME
    counterfactual: str | None = None
    years: Integer | None = Field(default=None, ge=1, le=1000)
    outputs: list[str] = Field(min_length=1)
    factors: dict[str, Factor] = Field(min_length=2)
    options: Options = Field(default_factory=Options)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, dict) and isinstance(data.get("factors"), dict):
            data = {**data, "factors": {k: _factor(v) for k, v in data["factors"].items()}}
        return data

    @model_validator(mode="after")
    def _check(self):
        if self.method == "sobol" and self.n & (self.n - 1):
            lower = 1 << (self.n.bit_length() - 1)
            raise ValueError(
                f"n: Sobol' sampling needs n to be a power of two (got {self.n}; "
                f"try {lower} or {lower * 2})"
            )
        if self.method in ("morris", "fast"):
            for name, factor in self.factors.items():
                if factor.dist != "unif":
                    raise ValueError(
                        f'factors."{name}": method {self.method!r} takes uniform factors '
                        f"only (got dist {factor.dist!r})"
                    )
        if self.method == "fast" and self.n <= 4 * self.options.M**2:
            raise ValueError(
                f"n: eFAST needs n > 4 M^2 = {4 * self.options.M**2} samples per factor "
                f"(got {self.n})"
            )
        return self

    def sample_rows(self) -> int:
        """The number of sample points the method's sampler draws (counted, not drawn)."""
        d, n = len(self.factors), self.n
        if self.method == "morris":
            return n * (d + 1)
        if self.method == "sobol":
            return n * (2 * d + 2 if self.options.calc_second_order else d + 2)
        if self.method == "fast":
            return n * d
        return n


# --------------------------------------------------------------------------- the analysis


class SensitivityAnalysis:
    """A global sensitivity analysis: sample, evaluate, analyze (SALib ProblemSpec).

    Parameters
    ----------
    factors : dict
        Factor name (a dotted scenario key, or any name for a callable model) to a
        :class:`Factor`, a dict of its fields, or ``[low, high]``.
    method : {"morris", "sobol", "fast", "delta", "pawn"}
    n : int
        Sample size (see the module docstring for its meaning per method).
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

    # ------------------------------------------------------------------ validation

    def _validate(self) -> None:
        """Validate everything once, here; fill the resolved attributes."""
        callable_model = callable(self.model) and not isinstance(self.model, Scenario | str)
        outputs = self.outputs if self.outputs is not None else (["y"] if callable_model else [])
        data = {
            "name": self.name,
            "method": self.method,
            "n": self.n,
            "seed": self.seed,
            "replicates": self.replicates,
            "outputs": outputs,
            "factors": {
                k: (v.model_dump(exclude_none=True) if isinstance(v, Factor) else v)
                for k, v in self.factors.items()
            },
            "options": self.options or {},
        }
        if self.years is not None:
            data["years"] = self.years
        self.spec_ = _validate_spec(data, self.source)
        self.is_function_ = callable_model
        self.scenario_ = None if callable_model else _resolve(self.model, self.years)
        self.counterfactual_ = (
            _resolve(self.counterfactual, self.years) if self.counterfactual is not None else None
        )
        if callable_model and self.counterfactual is not None:
            raise ScenarioError(self.source, [("counterfactual", "needs a scenario model")])
        self._check_size()
        if not callable_model:
            self._check_factors()
            self._check_outputs()

    def _check_size(self) -> None:
        """Count the sample and its runs before drawing anything (the limits of
        :func:`landsim.experiment.check_design_size`)."""
        spec = self.spec_
        rows, d = spec.sample_rows(), len(spec.factors)
        scenarios = 2 if self.counterfactual_ is not None else 1
        check_design_size(
            self.source,
            "replicates" if spec.replicates >= rows else "n",
            n_points=rows * scenarios,
            n_keys=d,
            n_runs=rows * spec.replicates * scenarios,
            detail=(
                f"{spec.method} with n = {spec.n:,} and {d} factors: {rows:,} points x "
                f"{spec.replicates:,} replicate(s)" + (" x 2 scenarios" if scenarios == 2 else "")
            ),
            extra_bytes=4 * rows * d * 8,  # the sample and the sampler's copies of it
        )

    def _check_factors(self) -> None:
        """Every factor must be a key of the scenario; the counterfactual takes the
        factors it has (e.g. not those of a programme it lacks)."""
        for name, factor in self.spec_.factors.items():
            scenarios = [self.scenario_]
            if self.counterfactual_ is not None and has_path(self.counterfactual_, name):
                scenarios.append(self.counterfactual_)
            for scenario in scenarios:
                for value in factor.extremes():
                    try:
                        scenario.with_overrides({name: self._coerce(name, value)})
                    except ScenarioError as exc:
                        problems = [
                            (f'factors."{name}"', f"{key}: {msg}") for key, msg in exc.problems
                        ]
                        raise ScenarioError(self.source, problems) from None

    def _coerce(self, name: str, value: float):
        """Round values of integer-valued scenario keys (e.g. years, neighbours)."""
        if is_integer_key(self.scenario_, name):
            return round(value)
        return float(value)

    def _check_outputs(self) -> None:
        from landsim.batch import ModelRunner

        problems = []
        for i, output in enumerate(self.spec_.outputs):
            if output in PAIRED_OUTPUTS and self.counterfactual_ is None:
                problems.append(
                    (
                        f"outputs.{i}",
                        f"{output!r} needs a counterfactual scenario (key 'counterfactual')",
                    )
                )
        if problems:
            raise ScenarioError(self.source, problems)
        experiment = self._experiment(points=[{}])
        ModelRunner.check_outputs(experiment)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_file(cls, path: str | Path) -> SensitivityAnalysis:
        """Load a sensitivity experiment file (see ``docs/sensitivity.md``)."""
        path = Path(path)
        data = read_toml(path)
        spec = _validate_spec(data, str(path))

        def locate(ref: str | None, key: str):
            if ref is None or ref == DEFAULT_NAME:
                return ref
            target = Path(ref) if Path(ref).is_absolute() else path.parent / ref
            if not target.is_file():
                raise ScenarioError(str(path), [(key, f"no such scenario file: {target}")])
            return target

        return cls(
            factors=dict(spec.factors),
            method=spec.method,
            n=spec.n,
            outputs=list(spec.outputs),
            seed=spec.seed,
            replicates=spec.replicates,
            model=locate(spec.scenario, "scenario"),
            counterfactual=locate(spec.counterfactual, "counterfactual"),
            years=spec.years,
            options=spec.options.model_dump(),
            name=spec.name,
            source=str(path),
        )

    # ------------------------------------------------------------------ sample

    @property
    def names(self) -> list[str]:
        return list(self.spec_.factors)

    def problem(self):
        """A fresh SALib ProblemSpec for the factors and outputs."""
        from SALib import ProblemSpec

        factors = self.spec_.factors.values()
        return ProblemSpec(
            {
                "names": self.names,
                "bounds": [f.salib_bounds() for f in factors],
                "dists": [f.dist for f in factors],
                "outputs": list(self.spec_.outputs),
            }
        )

    def sample(self) -> SensitivityAnalysis:
        """Draw the sample with the method's SALib sampler (seeded)."""
        from SALib.sample import fast_sampler, latin, morris, sobol

        spec, opts = self.spec_, self.spec_.options
        problem = self.problem()
        if spec.method == "morris":
            problem.sample(morris.sample, spec.n, num_levels=opts.num_levels, seed=spec.seed)
        elif spec.method == "sobol":
            problem.sample(
                sobol.sample, spec.n, calc_second_order=opts.calc_second_order, seed=spec.seed
            )
        elif spec.method == "fast":
            problem.sample(fast_sampler.sample, spec.n, M=opts.M, seed=spec.seed)
        else:
            problem.sample(latin.sample, spec.n, seed=spec.seed)
        self.problem_ = problem
        self.samples_ = np.asarray(problem.samples)
        if self.is_function_:
            self.points_ = [
                dict(zip(self.names, map(float, row), strict=True)) for row in self.samples_
            ]
        else:
            self.points_ = [
                {k: self._coerce(k, v) for k, v in zip(self.names, row, strict=True)}
                for row in self.samples_
            ]
        return self

    # ------------------------------------------------------------------ evaluate

    def _experiment(self, points: list[dict], counterfactual: bool = False) -> Experiment:
        """The batch of the scenario (or of the counterfactual, over the factors it
        has: same points, same replicate streams)."""
        if self.is_function_:
            return Experiment.for_points(self.name, points, self.spec_.seed, self.spec_.replicates)
        scenario = self.counterfactual_ if counterfactual else self.scenario_
        if counterfactual:
            points = [{k: v for k, v in p.items() if has_path(scenario, k)} for p in points]
        return Experiment.from_dict(
            {
                "name": f"{self.name} ({'counterfactual' if counterfactual else 'scenario'})",
                "seed": self.spec_.seed,
                "replicates": self.spec_.replicates,
                "scenarios": {"counterfactual" if counterfactual else "scenario": scenario},
                "points": points,
                "outputs": {"yearly": False, "scalars": self._run_scalars()},
            },
            source=self.source,
        )

    def _run_scalars(self) -> list[str]:
        """The per-run scalars the outputs need."""
        scalars = [o for o in self.spec_.outputs if o not in PAIRED_OUTPUTS]
        if self.counterfactual_ is not None:
            scalars += [
                "cumulative_deforestation_ha",
                "carbon_stock_tc",
                "programme_cost_usd@sum",
            ]
        return list(dict.fromkeys(scalars))

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
        from landsim.batch import BatchError, run_batch
        from landsim.outdir import OutputDirError, check_out_dir

        if out is not None:
            try:  # not a directory of other results; its runs are checked by the batch
                check_out_dir(out, "sensitivity", option="", same_kind="caller")
            except OutputDirError as exc:
                raise BatchError(str(exc)) from None
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
        root = Path(out) if out is not None else None
        runs = run_batch(
            self._experiment(self.points_),
            out=root / "runs" if root is not None else None,
            function=self.model if self.is_function_ else None,
            **backend,
        ).runs
        if self.counterfactual_ is not None:
            cf_runs = run_batch(
                self._experiment(self.points_, counterfactual=True),
                out=root / "runs_counterfactual" if root is not None else None,
                **backend,
            ).runs
            runs = pd.concat([runs, cf_runs], ignore_index=True)
        self.runs_ = runs
        failed = runs[runs["status"] != "ok"]
        if len(failed):
            first = failed.iloc[0]
            raise SensitivityError(
                f"{len(failed)} of {len(runs)} runs failed (recorded in the run table); the "
                f"first, run {first['run_id']} of the {first['scenario']} (point "
                f"{first['point']}): {first['error']}"
            )
        self.results_, self.spread_ = self._aggregate(runs)
        return self

    def set_results(self, results: pd.DataFrame) -> SensitivityAnalysis:
        """Use results computed elsewhere: one row per sample point, one column per
        output (the mean over replicates)."""
        self.results_ = results[list(self.spec_.outputs)].reset_index(drop=True)
        self.spread_ = pd.DataFrame()
        return self

    def _aggregate(self, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        values = self._output_values(runs)
        outputs = list(self.spec_.outputs)
        grouped = values.groupby("point")[outputs]
        means = grouped.mean().reindex(range(len(self.points_)))
        spread = pd.DataFrame(
            {
                "replicate_sd_mean": grouped.std(ddof=1).mean(),
                "point_means_sd": means.std(ddof=1),
            }
        )
        spread["ratio"] = spread["replicate_sd_mean"] / spread["point_means_sd"]
        if self.spec_.replicates == 1:
            spread["note"] = "n/a with replicates = 1: set replicates = 2 or more"
        spread.index.name = "output"
        return means.reset_index(drop=True), spread.reset_index()

    def _output_values(self, runs: pd.DataFrame) -> pd.DataFrame:
        """One row per point and replicate with every output (paired ones derived)."""
        if self.counterfactual_ is None:
            return runs
        keys = ["point", "replicate"]
        sc = runs[runs["scenario"] == "scenario"].set_index(keys)
        cf = runs[runs["scenario"] == "counterfactual"].set_index(keys)
        values = sc.copy()
        # The definitions of landsim.evaluation, applied to every point at once.
        avoided = avoided_ha(sc["cumulative_deforestation_ha"], cf["cumulative_deforestation_ha"])
        additional = additional_tco2e(sc["carbon_stock_tc"], cf["carbon_stock_tc"])
        cost = sc["programme_cost_usd@sum"] - cf["programme_cost_usd@sum"]
        values["avoided_deforestation_ha"] = avoided
        values["additional_carbon_tco2e"] = additional
        values["cost_per_tco2e"] = cost_per_tco2e(cost, additional)
        return values.reset_index()

    # ------------------------------------------------------------------ analyze

    def analyze(self) -> SensitivityAnalysis:
        """Compute the indices of every output (and their convergence)."""
        frames, convergence = [], []
        for output in self.spec_.outputs:
            y = self.results_[output].to_numpy(dtype=float)
            if not np.isfinite(y).all():
                bad = int((~np.isfinite(y)).sum())
                raise SensitivityError(
                    f"output {output!r} is not finite at {bad} of {y.size} sample points "
                    "(e.g. cost per tCO2e where there is no additional carbon): choose "
                    "another output or narrower factor ranges"
                )
            frames.append(self._indices(self.samples_, y, output))
            convergence.append(self._convergence(y, output))
        self.indices_ = pd.concat(frames, ignore_index=True)
        self.convergence_ = pd.concat(convergence, ignore_index=True).reindex(
            columns=CONVERGENCE_COLUMNS
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
        spec, messages = self.spec_, []
        method, n = spec.method, spec.n
        size = {"morris": "r", "sobol": "N"}.get(method, "n")
        if method in BOUNDED_INDICES:
            table = self.indices_
            conf = table[table["index"].str.endswith("_conf")]
            values = table[table["index"].isin(BOUNDED_INDICES[method])]
            widest = float(conf["value"].abs().max()) if len(conf) else 0.0
            lowest = float(values["value"].min()) if len(values) else 0.0
            if widest > MAX_HALF_WIDTH or lowest < -MAX_HALF_WIDTH:
                needed = _needed_size(method, n, widest)
                negative = (
                    f" and an index is {lowest:.2g} (indices lie in [0, 1]: a negative one is "
                    "sampling error)"
                    if lowest < 0
                    else ""
                )
                messages.append(
                    f"{size} = {n} is too small for intervals within +/-{MAX_HALF_WIDTH}: the "
                    f"widest {spec.options.conf_level:.0%} interval is +/-{widest:.2g}"
                    f"{negative}, so factors whose indices differ by less cannot be told "
                    f"apart. Intervals shrink about as 1/sqrt({size}): {size} = {needed:,} "
                    "or more should bring them within that"
                )
        if method == "morris" and n < MIN_MORRIS_TRAJECTORIES:
            messages.append(
                f"r = {n} Morris trajectories is few: screening usually needs "
                f"{MIN_MORRIS_TRAJECTORIES}-50 (Campolongo et al. 2007); mu* and its interval "
                f"are rough. Set n = {MIN_MORRIS_TRAJECTORIES} or more"
            )
        sizes = self.convergence_["n"].nunique() if len(self.convergence_) else 0
        if sizes < 2:
            if method in ("fast", "delta"):
                why = (
                    "is not computed for eFAST (its sample cannot be cut into smaller ones)"
                    if method == "fast"
                    else "is not computed for delta (its bootstrap is too slow)"
                )
                change = "rerun with twice n and compare the indices"
            else:
                least = {"sobol": 16, "morris": 4, "pawn": 50}[method]
                why = (
                    f"needs the indices at two sample sizes or more, each at least {least} "
                    f"({size} = {n} gives {sizes})"
                )
                change = f"set n = {4 * least if method != 'pawn' else 2 * least} or more"
            table = "is empty" if sizes == 0 else "holds one sample size only"
            messages.append(
                f"convergence {why}: convergence.csv {table} and no convergence plot "
                f"was drawn; {change}"
            )
        if spec.replicates == 1 and not self.is_function_:
            messages.append(
                "replicates = 1: the replicate spread (replicate_spread.csv) is n/a, since "
                "a standard deviation needs two replicates per point; the indices then "
                "include the model's run-to-run noise without measuring it. Set "
                "replicates = 2 or more to compare that noise with the spread between "
                "sample points"
            )
        return messages

    def _indices(self, x: np.ndarray, y: np.ndarray, output: str) -> pd.DataFrame:
        """SALib's analysis of one output on (x, y), as a long table."""
        from SALib.analyze import delta, fast, morris, pawn, sobol

        spec, opts = self.spec_, self.spec_.options
        problem = self.problem()
        problem["outputs"] = [output]
        problem.set_samples(x)
        problem.set_results(y)
        common = {
            "num_resamples": opts.num_resamples,
            "conf_level": opts.conf_level,
            "seed": spec.seed,
        }
        if spec.method == "morris":
            problem.analyze(morris.analyze, num_levels=opts.num_levels, **common)
        elif spec.method == "sobol":
            problem.analyze(sobol.analyze, calc_second_order=opts.calc_second_order, **common)
        elif spec.method == "fast":
            with warnings.catch_warnings():  # documented: eFAST intervals are indicative
                warnings.filterwarnings("ignore", "FAST confidence intervals", UserWarning)
                problem.analyze(fast.analyze, M=opts.M, **common)
        elif spec.method == "delta":
            problem.analyze(delta.analyze, method="delta", **common)
        else:
            problem.analyze(pawn.analyze, S=opts.S, seed=spec.seed)
        return _long_table(problem.analysis, self.names, output)

    def _convergence(self, y: np.ndarray, output: str) -> pd.DataFrame:
        """The main index on growing leading subsets of the sample (not for eFAST,
        whose sample cannot be cut, nor for the slow delta)."""
        index, conf = MAIN_INDEX[self.spec_.method]
        sizes = self._subset_sizes()
        rows = []
        for size, n_rows in sizes:
            table = self._indices(self.samples_[:n_rows], y[:n_rows], output)
            for factor in self.names:
                pick = table[(table["factor"] == factor)]
                value = pick.loc[pick["index"] == index, "value"]
                interval = pick.loc[pick["index"] == conf, "value"] if conf else []
                rows.append(
                    {
                        "output": output,
                        "factor": factor,
                        "n": size,
                        "index": index,
                        "value": float(value.iloc[0]) if len(value) else math.nan,
                        "conf": float(interval.iloc[0]) if len(interval) else math.nan,
                    }
                )
        return pd.DataFrame(rows)

    def _subset_sizes(self) -> list[tuple[int, int]]:
        """(n, rows) pairs: the sample sizes at which convergence is shown."""
        spec, d = self.spec_, len(self.names)
        if spec.method in ("fast", "delta"):  # eFAST samples cannot be cut; delta is slow
            return []
        if spec.method == "sobol":
            per = 2 * d + 2 if spec.options.calc_second_order else d + 2
            sizes, n = [], spec.n
            while n >= 16 and len(sizes) < 6:
                sizes.append(n)
                n //= 2
            return [(n, n * per) for n in reversed(sizes)]
        per = d + 1 if spec.method == "morris" else 1
        least = 4 if spec.method == "morris" else 50
        sizes = sorted(
            {max(least, round(spec.n * f)) for f in (0.125, 0.25, 0.5, 1.0) if spec.n * f >= least}
            | {spec.n}
        )
        return [(n, n * per) for n in sizes]

    # ------------------------------------------------------------------ reporting

    def ranked(self, output: str | None = None) -> pd.DataFrame:
        """Factors ranked by the method's main index (one output, or the first)."""
        output = output or self.spec_.outputs[0]
        table = self.indices_[self.indices_["output"] == output]
        wide = table.pivot(index="factor", columns="index", values="value")
        index, _ = MAIN_INDEX[self.spec_.method]
        wide = wide.sort_values(index, ascending=False)
        wide.insert(0, "rank", range(1, len(wide) + 1))
        return wide

    def format(self) -> str:
        """The ranked tables of every output, for the terminal."""
        index, _ = MAIN_INDEX[self.spec_.method]
        lines = [
            textwrap.fill(
                f"{self.name}: {self.spec_.method} on {len(self.names)} factors, n = "
                f"{self.spec_.n} ({len(self.points_)} points x {self.spec_.replicates} "
                "replicate(s)"
                + (" x 2 scenarios" if self.counterfactual_ is not None else "")
                + f"), seed {self.spec_.seed}; factors ranked by {index}",
                width=99,
                subsequent_indent="  ",
            )
        ]
        for output in self.spec_.outputs:
            lines += [
                "",
                f"{output}:",
                self.ranked(output).to_string(float_format="{:.3g}".format, na_rep="n/a"),
            ]
        if len(self.spread_):
            lines += [
                "",
                "replicate spread (mean replicate sd / sd of the point means):",
                self.spread_.drop(columns="note", errors="ignore").to_string(
                    index=False, float_format="{:.3g}".format, na_rep="n/a"
                ),
            ]
        if getattr(self, "warnings_", None):
            lines += ["", "warnings:"]
            lines += [
                textwrap.fill(m, width=99, initial_indent="  - ", subsequent_indent="    ")
                for m in self.warnings_
            ]
        return "\n".join(lines)

    def write(self, out: str | Path) -> list[Path]:
        """Write the indices, convergence, samples and results (CSV and Parquet), the
        figures and a manifest to ``out``."""
        from landsim.outdir import check_out_dir, staged

        out = check_out_dir(out, "sensitivity", option="", same_kind="caller")
        with staged(out, "sensitivity", owned=SENSITIVITY_FILES) as tmp:
            names = self._write(tmp)
        return [out / name for name in names]

    def _write(self, out: Path) -> list[str]:
        from landsim.provenance import landsim_version

        samples = pd.DataFrame(self.samples_, columns=self.names)
        tables = {
            "indices": self.indices_,
            "convergence": self.convergence_,
            "samples": samples,
            "results": pd.concat([samples, self.results_], axis=1),
        }
        if len(self.spread_):
            tables["replicate_spread"] = self.spread_
        paths = []
        for name, frame in tables.items():
            paths += [out / f"{name}.csv", out / f"{name}.parquet"]
            frame.to_csv(paths[-2], index=False)
            frame.to_parquet(paths[-1], index=False)
        paths += self.plot(out)
        notes = list(getattr(self, "warnings_", []))
        warnings_file = out / "warnings.txt"
        if notes:
            warnings_file.write_text("\n\n".join(notes) + "\n", encoding="utf-8")
            paths.append(warnings_file)
        elif warnings_file.exists():  # from an earlier analysis in the same directory
            warnings_file.unlink()
        manifest = {
            "kind": "sensitivity",
            "landsim_version": landsim_version(),
            "name": self.name,
            "source": self.source,
            "spec": self.spec_.model_dump(mode="json"),
            "scenario": self.scenario_.to_dict() if self.scenario_ is not None else None,
            "counterfactual": (
                self.counterfactual_.to_dict() if self.counterfactual_ is not None else None
            ),
            "model": None
            if not self.is_function_
            else getattr(self.model, "__name__", "callable"),
            "points": len(self.points_),
            "warnings": notes,
        }
        paths.append(out / "manifest.json")
        paths[-1].write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        return [p.name for p in paths]

    def plot(self, out: Path) -> list[Path]:
        """Bar charts with intervals, the Morris mu*-sigma plot, the convergence plot."""
        from landsim.plot.sensitivity import plot_convergence, plot_indices, plot_morris

        paths = [plot_indices(self, out / "indices.png")]
        if self.spec_.method == "morris":
            paths.append(plot_morris(self, out / "morris_mu_star_sigma.png"))
        if len(self.convergence_) and self.convergence_["n"].nunique() >= 2:
            paths.append(plot_convergence(self, out / "convergence.png"))
        return paths


class SensitivityError(Exception):
    """Runs failed or an output cannot be analysed (exit code 1 on the CLI)."""


class SensitivityWarning(UserWarning):
    """The analysis ran but its results need care (see
    :meth:`SensitivityAnalysis.diagnose`)."""


def _needed_size(method: str, n: int, widest: float) -> int:
    """The sample size at which an interval of half-width ``widest`` at ``n``
    shrinks to :data:`MAX_HALF_WIDTH` (half-widths go as 1/sqrt(n)); a power of
    two for Sobol'."""
    needed = max(2 * n, math.ceil(n * (widest / MAX_HALF_WIDTH) ** 2))
    if method == "sobol":
        needed = 1 << (needed - 1).bit_length()
    return needed


def _long_table(analysis, names: list[str], output: str) -> pd.DataFrame:
    """SALib's result dict (one output) as rows of (output, factor, index, value)."""
    rows = []
    for key, values in dict(analysis).items():
        if key == "names":
            continue
        arr = np.asarray(values)
        if arr.dtype.kind not in "fiub":
            continue
        if arr.ndim == 1 and arr.size == len(names):
            rows += [
                {"output": output, "factor": f, "index": key, "value": float(v)}
                for f, v in zip(names, arr, strict=True)
            ]
        elif arr.ndim == 2 and arr.shape == (len(names), len(names)):  # second order
            for i, a in enumerate(names):
                for j in range(i + 1, len(names)):
                    rows.append(
                        {
                            "output": output,
                            "factor": f"{a} x {names[j]}",
                            "index": key,
                            "value": float(arr[i, j]),
                        }
                    )
    return pd.DataFrame(rows)


def _resolve(model, years: int | None) -> Scenario:
    if isinstance(model, Scenario):
        scenario = model
    elif model is None or model == DEFAULT_NAME:
        scenario = load_scenario(None)
    else:
        scenario = load_scenario(model)
    return scenario.with_overrides({"years": years}) if years is not None else scenario


def _validate_spec(data: dict, source: str) -> SensitivitySpec:
    try:
        return SensitivitySpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from(exc, SensitivitySpec)) from None


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
