"""What a comparison gives: :class:`Comparison` (tables, manifest, figures, files)
and its printed summary (:func:`format_comparison`).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.display import fmt_column, indicator_label
from landsim.evaluation.metrics import METRICS, summarize_replicates
from landsim.outdir import SIGNATURES
from landsim.scenario import Scenario

#: Restoration indicators averaged over replicates (scenario run) in ``restoration``.
RESTORATION_COLUMNS = (
    "restoration_natural_regeneration_ha",
    "restoration_agroforestry_ha",
    "restoration_silvopasture_ha",
    "restoration_planting_ha",
    "reforestation_funded_ha",
    "degraded_land_ha",
    "degraded_share_under_restoration",
)

#: The 2 x 2 trajectory figure: column -> panel title (with the unit).
TRAJECTORY_PANELS = {
    c: indicator_label(c)
    for c in (
        "forest_area_ha",
        "cumulative_deforestation_ha",
        "carbon_stock_tc",
        "income_mean_usd",
    )
}

#: The effects bar chart.
EFFECT_PANELS = (
    "avoided_deforestation_ha",
    "additional_carbon_tco2e",
    "leakage_ha",
    "income_effect_mean_usd",
    "income_effect_poorest20_usd",
)

#: What :meth:`Comparison.write` writes (it refuses to overwrite any of them): the
#: tables that mark a directory as a comparison's (``outdir.SIGNATURES``), the
#: manifest and the figures.
COMPARISON_FILES = (*SIGNATURES["comparison"], "manifest.json", "trajectories.png", "effects.png")

#: Columns simulate() adds in front of the model's yearly table.
_RUN_COLUMNS = ("scenario", "seed", "landsim_version")


# --------------------------------------------------------------------------- results


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    replicates : pandas.DataFrame
        One row per replicate: ``replicate`` and every metric of :data:`METRICS`.
    trajectories : pandas.DataFrame
        Long table: ``run`` ("scenario" or "counterfactual"), ``replicate``,
        ``year`` and every column of the yearly tables.
    restoration : pandas.DataFrame
        Per year, the mean over replicates of the restoration indicators of the
        scenario run.
    scenario, counterfactual : Scenario
        The fully resolved scenarios (with the ``years`` override, if any).
    seed : int
        The root seed.
    n_replicates : int
    programmes : list of dict
        The scenario's programmes: name, finance, start_year, end_year, and the
        contract years within the run (start_in_run, end_in_run).
    version : str
        The landsim version.
    landscapes_match : bool
        Whether every replicate pair shared farms, roads and reserve (leakage,
        which matches farms by id, is NaN for the pairs that did not).
    """

    replicates: pd.DataFrame
    trajectories: pd.DataFrame
    restoration: pd.DataFrame
    scenario: Scenario
    counterfactual: Scenario
    seed: int
    n_replicates: int
    programmes: list[dict] = field(default_factory=list)
    version: str = "unknown"
    landscapes_match: bool = True

    @property
    def scenario_name(self) -> str:
        return self.scenario.name

    @property
    def counterfactual_name(self) -> str:
        return self.counterfactual.name

    @property
    def years(self) -> int:
        return self.scenario.years

    @property
    def finance(self) -> list[str]:
        """The finance sources of the scenario's programmes (sorted, unique)."""
        return sorted({p["finance"] for p in self.programmes})

    @property
    def programme_end_year(self) -> int | None:
        """The last contract year of the programmes within the run (None: none)."""
        ends = [p["end_in_run"] for p in self.programmes if p["start_in_run"] <= p["end_in_run"]]
        return max(ends, default=None)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per metric: mean, sd, ci_low, ci_high (t-interval of the mean), p2_5,
        p97_5 (spread across replicates), n, unit."""
        return summarize_replicates(self.replicates, level)

    def format(self) -> str:
        """A readable table: metric, mean and 95 % confidence interval."""
        return format_comparison(self)

    # ---------------------------------------------------------------- outputs

    def manifest(self) -> dict:
        """Everything needed to reproduce the comparison."""
        from landsim.provenance import dependency_versions
        from landsim.simulation import SimulationResult
        from landsim.simulation import manifest as run_manifest

        def describe(sc: Scenario) -> dict:
            result = SimulationResult(
                yearly=pd.DataFrame(),
                rasters={},
                farms=pd.DataFrame(),
                scenario=sc,
                seed=self.seed,
                version=self.version,
            )
            return run_manifest(result, sc.source)

        scen, cf = describe(self.scenario), describe(self.counterfactual)
        deps = {**scen["dependencies"], **dependency_versions(("matplotlib",))}
        return {
            "kind": "comparison",
            "landsim_version": self.version,
            "created": scen["created"],
            "python": scen["python"],
            "platform": scen["platform"],
            "dependencies": deps,
            "command": scen["command"],
            "seed": self.seed,
            "replicates": self.n_replicates,
            "years": self.years,
            "random_numbers": (
                "common random numbers: replicate i runs both scenarios with "
                "numpy.random.SeedSequence(seed).spawn(replicates)[i]"
            ),
            "landscapes_match": self.landscapes_match,
            "programmes": self.programmes,
            "finance": self.finance,
            "programme_end_year": self.programme_end_year,
            "scenario": {
                "name": scen["scenario_name"],
                "file": scen["scenario_file"],
                "resolved": scen["scenario"],
            },
            "counterfactual": {
                "name": cf["scenario_name"],
                "file": cf["scenario_file"],
                "resolved": cf["scenario"],
            },
        }

    def write(self, out_dir: str | Path, *, force: bool = False) -> list[Path]:
        """Write the summary and replicate tables (CSV, Parquet), the trajectories
        (Parquet), the restoration table (CSV), the manifest (JSON) and two figures
        (PNG) to ``out_dir``; see :data:`COMPARISON_FILES`.

        The files are written beside ``out_dir`` and moved in, so an interrupted
        write leaves no partial results unmarked (:func:`landsim.outdir.staged`).

        Raises
        ------
        FileExistsError
            (:class:`landsim.outdir.OutputExistsError`) If ``out_dir`` already holds a
            comparison and not ``force``, or holds other results (a batch, a run, a
            sensitivity analysis).
        NotADirectoryError
            (:class:`landsim.outdir.OutputNotADirectoryError`) If ``out_dir`` exists
            and is not a directory.
        landsim.outdir.OutputDirError
            If ``out_dir`` cannot be created.
        """
        from landsim.outdir import check_out_dir, staged

        out = check_out_dir(out_dir, "comparison", force=force, option="", force_flag="force=True")
        with staged(out, "comparison") as tmp:
            self._write(tmp)
        return [out / name for name in COMPARISON_FILES]

    def _write(self, out: Path) -> None:
        info = self.manifest()
        meta = json.dumps(
            {
                "landsim_version": self.version,
                "scenario": self.scenario_name,
                "counterfactual": self.counterfactual_name,
                "seed": self.seed,
                "replicates": self.n_replicates,
            }
        )
        paths = {name: out / name for name in COMPARISON_FILES}
        summary = self.summary().reset_index()
        summary.to_csv(paths["summary.csv"], index=False)
        _to_parquet(summary, paths["summary.parquet"], meta)
        self.replicates.to_csv(paths["replicates.csv"], index=False)
        _to_parquet(self.replicates, paths["replicates.parquet"], meta)
        _to_parquet(self.trajectories, paths["trajectories.parquet"], meta)
        self.restoration.to_csv(paths["restoration.csv"], index=False)
        paths["manifest.json"].write_text(
            json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8"
        )
        self.plot_trajectories(paths["trajectories.png"])
        self.plot_effects(paths["effects.png"])

    # ---------------------------------------------------------------- figures

    def plot_trajectories(self, path: str | Path) -> Path:
        """Both runs' trajectories (see :mod:`landsim.plot.comparison`)."""
        from landsim.plot.comparison import plot_comparison_trajectories

        return plot_comparison_trajectories(self, path)

    def plot_effects(self, path: str | Path) -> Path:
        """The main effects (:func:`landsim.plot.comparison.plot_comparison_effects`)."""
        from landsim.plot.comparison import plot_comparison_effects

        return plot_comparison_effects(self, path)


def _to_parquet(frame: pd.DataFrame, path: Path, meta: str) -> None:
    table = frame.copy()
    for column in table.columns:
        if table[column].dtype == object:
            # A boolean column one run lacks becomes object (bool and NaN) on
            # concatenation; Parquet needs one type.
            values = table[column].dropna()
            if len(values) and values.map(lambda v: isinstance(v, bool | np.bool_)).all():
                table[column] = table[column].astype("boolean")
    table.attrs = {"landsim": meta}
    table.to_parquet(path, index=False)


def format_comparison(comparison: Comparison) -> str:
    """The header and a table of metric, mean and 95 % confidence interval."""
    c = comparison
    header = (
        f"landsim {c.version} | scenario {c.scenario_name!r} vs counterfactual "
        f"{c.counterfactual_name!r} | {c.n_replicates} replicates | seed {c.seed} | "
        f"{c.years} years"
    )
    if c.programmes:
        progs = ", ".join(
            f"{p['name']} ({p['finance']}, years {p['start_year']}-{p['end_year']})"
            for p in c.programmes
        )
    else:
        progs = "none"
    summary = c.summary()
    labels = [f"{METRICS[m][0]} ({METRICS[m][1]})" for m in summary.index]
    width = max(len(s) for s in [*labels, "metric"])
    means, cis = [], []
    for mean, lo, hi in zip(summary["mean"], summary["ci_low"], summary["ci_high"], strict=True):
        # one number of decimals per row, set by the mean (as in landsim summarize)
        mean_text, lo_text, hi_text = fmt_column([mean, lo, hi], like=[mean])
        means.append(mean_text)
        cis.append(f"[{lo_text}, {hi_text}]" if np.isfinite(lo) else "n/a")
    mw = max(len(s) for s in [*means, "mean"])
    lines = [
        textwrap.fill(header, 100, subsequent_indent="  "),
        textwrap.fill(f"programmes: {progs}", 100, subsequent_indent="  "),
        "",
    ]
    lines.append(f"{'metric':<{width}}  {'mean':>{mw}}  95 % CI")
    for label, mean, ci in zip(labels, means, cis, strict=True):
        lines.append(f"{label:<{width}}  {mean:>{mw}}  {ci}")
    if not c.landscapes_match:
        lines.append(
            "\nnote: the two scenarios' landscapes differ, so farms cannot be matched "
            "and leakage is not computed"
        )
    return "\n".join(lines)
