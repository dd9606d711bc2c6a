"""Running a scenario: :func:`simulate` in memory, :func:`write_outputs` to disk."""

from __future__ import annotations

import json
import platform
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.model import LandUseModel, resolve_scenario
from landsim.provenance import DEPENDENCIES, dependency_versions, landsim_version

__all__ = [
    "DEPENDENCIES",
    "OUTPUT_FILES",
    "SimulationResult",
    "format_summary",
    "landsim_version",
    "manifest",
    "simulate",
    "summarize",
    "write_outputs",
]
from landsim.scenario import Scenario


@dataclass
class SimulationResult:
    """What one run produces.

    Attributes
    ----------
    yearly : pandas.DataFrame
        One row per year (0 = the initial state), with the scenario name, seed and
        landsim version as columns.
    rasters : dict of str to ndarray
        The final raster layers.
    farms : pandas.DataFrame
        One row per farm (see :meth:`LandUseModel.farm_table`).
    scenario : Scenario
        The fully resolved scenario.
    seed : int or str
        The seed the run used.
    version : str
        The landsim version.
    """

    yearly: pd.DataFrame
    rasters: dict[str, np.ndarray]
    farms: pd.DataFrame
    scenario: Scenario
    seed: int | str | None
    version: str = field(default_factory=landsim_version)

    def summary(self) -> pd.DataFrame:
        """A short table of the start, the middle and the end of the run (and of
        the programmes' last years)."""
        programmes = list(self.scenario.programmes or [])
        return summarize(self.yearly, bool(programmes), [p.end_year for p in programmes])


def simulate(scenario=None, *, rng=None, years: int | None = None) -> SimulationResult:
    """Run a scenario and return its results without touching the disk.

    Parameters
    ----------
    scenario : Scenario, path or None
        None runs the embedded default scenario.
    rng : int, SeedSequence, Generator or None
        None draws a fresh seed (Mesa's and SPEC 7's meaning), recorded in
        ``result.seed`` and in every output; pass ``rng=scenario.seed`` for the
        scenario's own seed, which is what ``landsim run`` uses by default.
    years : int, optional
        Override the scenario's number of years.
    """
    scenario = resolve_scenario(scenario)
    if years is not None:
        scenario = scenario.with_overrides({"years": years})
    model = LandUseModel(scenario, rng=rng)
    model.run_for(scenario.years)
    yearly = model.yearly_table()
    version = landsim_version()
    yearly.insert(0, "scenario", scenario.name)
    yearly.insert(1, "seed", str(model.seed))
    yearly.insert(2, "landsim_version", version)
    return SimulationResult(
        yearly, model.rasters(), model.farm_table(), scenario, model.seed, version
    )


#: Rows of the run summary: column -> (label, decimals, footnote or None). Indented
#: labels are parts of the row above.
SUMMARY_COLUMNS = {
    "forest_area_ha": ("forest, primary + secondary (ha)", 0, 1),
    "area_primary_forest_ha": ("  primary forest (ha)", 0, None),
    "area_secondary_forest_ha": ("  secondary forest, regrowth (ha)", 0, None),
    "cumulative_deforestation_ha": ("primary forest cleared since year 0 (ha)", 0, 1),
    "area_monocrop_ha": ("annual crops (ha)", 0, None),
    "area_cocoa_agroforestry_ha": ("cocoa agroforestry (ha)", 0, None),
    "area_silvopasture_ha": ("silvopasture (ha)", 0, None),
    "carbon_stock_tc": ("carbon stock (tC)", 0, None),
    "net_emissions_tco2e": ("net emissions (tCO2e/yr)", 0, 2),
    "income_mean_usd": ("mean farm income (USD/farm/yr)", 0, 3),
    "income_gini": ("income Gini (0-1)", 2, 3),
}

#: Rows added when the scenario has programmes (summed over programmes).
PROGRAMME_COLUMNS = {
    "enrolled_farms": ("farms enrolled", 0, None),
    "payments_to_farmers_usd": ("payments to farmers (USD/yr)", 0, None),
    "programme_cost_usd": ("programme cost (USD/yr)", 0, None),
    "budget_remaining_usd": ("budget remaining (USD)", 0, None),
}

#: The footnotes of the run summary.
SUMMARY_NOTES = {
    1: "forest counts primary and secondary forest (regrowth on abandoned land); clearing "
    "counts primary forest only, so forest can grow while clearing adds up",
    2: "emissions minus removals: positive, the landscape releases carbon (clearing, soil "
    "loss); negative, regrowth and tree crops take up more than is released",
    3: "n/a in year 0, the initial state: no harvest yet, so no income",
}


def _has_programmes(yearly: pd.DataFrame) -> bool:
    """Whether a run had programmes: a budget or an enrolment at some year."""
    columns = [c for c in ("budget_remaining_usd", "enrolled_farms") if c in yearly.columns]
    return bool(columns) and bool((yearly[columns].fillna(0) != 0).any().any())


def _summary_rows(yearly: pd.DataFrame, programmes: bool) -> dict:
    rows = {c: v for c, v in SUMMARY_COLUMNS.items() if c in yearly.columns}
    if programmes:
        rows |= {c: v for c, v in PROGRAMME_COLUMNS.items() if c in yearly.columns}
    return rows


def summary_years(yearly: pd.DataFrame, end_years=()) -> list[int]:
    """Years 0, 1, the middle and the end of a run, and the given programme end
    years that fall within it."""
    last = int(yearly["year"].max())
    return sorted({0, 1, last // 2, last} | {int(y) for y in end_years if 0 < y < last})


def summarize(yearly: pd.DataFrame, programmes: bool | None = None, end_years=()) -> pd.DataFrame:
    """Key indicators at the start, the middle and the end of a run (rows: indicator,
    labelled with units; columns: :func:`summary_years`). ``programmes`` adds the
    programme rows (default: when the run had a budget or enrolment)."""
    if programmes is None:
        programmes = _has_programmes(yearly)
    years = summary_years(yearly, end_years)
    rows = _summary_rows(yearly, programmes)
    table = yearly.set_index("year").loc[years, list(rows)].astype(float)
    table = table.T.rename(index={c: v[0].strip() for c, v in rows.items()})
    table.columns = [f"year {y}" for y in years]
    return table


def format_summary(result: SimulationResult, width: int = 100) -> str:
    """The run summary for a terminal: the indicators at years 0, 1, T/2 and T
    with their units and footnotes, then what the programmes did."""
    from landsim.display import fmt

    yearly = result.yearly
    header = (
        f"landsim {result.version} | scenario {result.scenario.name!r} | seed {result.seed} | "
        f"{result.scenario.years} years"
    )
    programmes = list(result.scenario.programmes or [])
    years = summary_years(yearly, [p.end_year for p in programmes])
    rows = _summary_rows(yearly, bool(programmes))
    values = yearly.set_index("year").loc[years]
    labels, cells, used = [], [], set()
    for column, (label, digits, note) in rows.items():
        if note:
            used.add(note)
        labels.append(label + (f" [{note}]" if note else ""))
        cells.append([fmt(v, digits) if v != 0 else "0" for v in values[column]])
    titles = [f"year {y}" for y in years]
    label_w = max(len(x) for x in labels)
    col_w = [max(len(c), *(len(r[k]) for r in cells)) for k, c in enumerate(titles)]
    lines = [
        header,
        " " * label_w + "".join(f"  {c:>{w}}" for c, w in zip(titles, col_w, strict=True)),
    ]
    for label, row in zip(labels, cells, strict=True):
        lines.append(
            f"{label:<{label_w}}" + "".join(f"  {v:>{w}}" for v, w in zip(row, col_w, strict=True))
        )
    lines.append("")
    for note in sorted(used):
        lines.append(
            textwrap.fill(f"[{note}] {SUMMARY_NOTES[note]}", width=width, subsequent_indent="    ")
        )
    lines += programme_summary(result, width)
    return "\n".join(lines)


def cap_text(cap: int | list[int]) -> str:
    """An enrolment cap as text: one number, or its growth over the programme years."""
    if isinstance(cap, int):
        return str(cap)
    return f"{cap[0]} rising to {cap[-1]}" if cap[-1] != cap[0] else str(cap[0])


def programme_summary(result: SimulationResult, width: int = 100) -> list[str]:
    """Lines on the scenario's programmes: their terms, enrolment, payments and the
    budget used (from the yearly table; totals over all programmes)."""
    from landsim.display import fmt

    programmes = list(result.scenario.programmes or [])
    yearly = result.yearly
    if not programmes or "enrolled_farms" not in yearly.columns:
        return []
    lines = ["", "programmes:"]
    for p in programmes:
        lines.append(
            textwrap.fill(
                f"- {p.name}: {p.finance.replace('_', ' ')}, years {p.start_year}-{p.end_year}, "
                f"budget {fmt(p.budget_usd)} USD ({fmt(p.budget_usd_per_year)} a year), "
                f"at most {cap_text(p.enrolment_cap)} farms, "
                f"{p.targeting.replace('_', ' ')} targeting",
                width=width,
                subsequent_indent="  ",
            )
        )
    budget = float(sum(p.budget_usd for p in programmes))
    spent = float(yearly["programme_spent_usd"].iloc[-1])
    peak = int(yearly["enrolled_farms"].max())
    peak_year = int(yearly.loc[yearly["enrolled_farms"].idxmax(), "year"])
    parts = [
        f"enrolment peaked at {peak} farms (year {peak_year})",
    ]
    if "newly_enrolled" in yearly.columns:
        parts.append(f"{int(yearly['newly_enrolled'].sum())} enrolments in all")
    if "expelled_farms" in yearly.columns:
        parts.append(f"{int(yearly['expelled_farms'].max())} farms expelled for violations")
    parts.append(f"payments to farmers {fmt(yearly['payments_to_farmers_usd'].sum())} USD")
    share = f" ({spent / budget:.0%})" if budget > 0 else ""
    parts.append(
        f"spent {fmt(spent)} of {fmt(budget)} USD{share}, "
        f"{fmt(yearly['budget_remaining_usd'].iloc[-1])} USD left"
    )
    total = "- in all: " + "; ".join(parts)
    lines.append(textwrap.fill(total, width=width, subsequent_indent="  "))
    return lines


def manifest(result: SimulationResult, scenario_file: str | None) -> dict:
    """Everything needed to reproduce a run."""
    deps = dependency_versions()
    return {
        "kind": "run",
        "landsim_version": result.version,
        "scenario_name": result.scenario.name,
        "scenario_file": scenario_file,
        "seed": result.seed,
        "years": result.scenario.years,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": deps,
        "command": sys.argv,
        "scenario": result.scenario.to_dict(),
    }


OUTPUT_FILES = ("yearly.csv", "yearly.parquet", "rasters.npz", "manifest.json")


def write_outputs(
    result: SimulationResult, out_dir: str | Path, scenario_file=None, *, force: bool = False
) -> list[Path]:
    """Write the yearly table (CSV, Parquet), final rasters (.npz) and a manifest.

    Each file records the scenario, seed and landsim version: as columns of the
    yearly table, as Parquet metadata, as a ``manifest`` entry of the .npz. The
    files are written beside ``out_dir`` and moved in (:func:`landsim.outdir.staged`),
    so an interrupted write leaves no partial results unmarked.

    Raises
    ------
    landsim.outdir.OutputDirError
        If ``out_dir`` cannot be used: not a directory, cannot be created, holds
        other results, or already holds a run and not ``force``.
    """
    from landsim.outdir import check_out_dir, staged

    out = check_out_dir(out_dir, "run", force=force, option="", force_flag="force=True")
    info = manifest(result, scenario_file)
    meta = json.dumps(
        {k: info[k] for k in ("landsim_version", "scenario_name", "scenario_file", "seed")}
    )
    with staged(out, "run") as tmp:
        paths = [tmp / name for name in OUTPUT_FILES]
        result.yearly.to_csv(paths[0], index=False)
        table = result.yearly.copy()
        table.attrs = {"landsim": meta}
        table.to_parquet(paths[1], index=False)
        np.savez_compressed(paths[2], manifest=np.array(meta), **result.rasters)
        paths[3].write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    return [out / name for name in OUTPUT_FILES]
