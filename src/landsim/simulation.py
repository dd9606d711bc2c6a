"""Running a scenario: :func:`simulate` in memory, :func:`write_outputs` to disk."""

from __future__ import annotations

import functools
import json
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from landsim.model import LandUseModel, resolve_scenario
from landsim.scenario import Scenario

#: Packages whose versions every manifest records.
DEPENDENCIES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "SALib")


@functools.cache
def landsim_version() -> str:
    try:
        return metadata.version("landsim")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


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
        """A short table of the start, the middle and the end of the run."""
        return summarize(self.yearly)


def simulate(scenario=None, *, rng=None, years: int | None = None) -> SimulationResult:
    """Run a scenario and return its results without touching the disk.

    Parameters
    ----------
    scenario : Scenario, path or None
        None runs the embedded default scenario.
    rng : int, SeedSequence, Generator or None
        None uses the scenario's seed.
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


SUMMARY_COLUMNS = {
    "forest_area_ha": "forest (ha)",
    "cumulative_deforestation_ha": "cumulative deforestation (ha)",
    "area_monocrop_ha": "monocrop (ha)",
    "area_cocoa_agroforestry_ha": "cocoa agroforestry (ha)",
    "area_silvopasture_ha": "silvopasture (ha)",
    "carbon_stock_tc": "carbon stock (tC)",
    "net_emissions_tco2e": "net emissions (tCO2e/yr)",
    "income_mean_usd": "mean farm income (USD/yr)",
    "income_gini": "income Gini",
}


def summarize(yearly: pd.DataFrame) -> pd.DataFrame:
    """Key indicators at the start, the middle and the end of a run (rows: indicator)."""
    last = int(yearly["year"].max())
    years = sorted({0, 1, last // 2, last})
    rows = yearly.set_index("year").loc[years, list(SUMMARY_COLUMNS)]
    table = rows.T.rename(index=SUMMARY_COLUMNS)
    table.columns = [f"year {y}" for y in years]
    return table


def format_summary(result: SimulationResult) -> str:
    table = result.summary()
    header = (
        f"landsim {result.version} | scenario {result.scenario.name!r} | seed {result.seed} | "
        f"{result.scenario.years} years"
    )
    body = table.to_string(float_format=lambda v: f"{v:,.2f}" if abs(v) < 10 else f"{v:,.0f}")
    return f"{header}\n{body}"


def manifest(result: SimulationResult, scenario_file: str | None) -> dict:
    """Everything needed to reproduce a run."""
    deps = {}
    for name in DEPENDENCIES:
        try:
            deps[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            deps[name] = None
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
