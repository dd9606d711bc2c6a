"""Scaling of landsim with the size of the landscape, and the vectorised model
against the per-agent reference implementation (``landsim.reference``).

Usage::

    python benchmarks/scaling.py            # full run (about 6 minutes on 2 cores)
    python benchmarks/scaling.py --quick    # grids up to 1000 x 1000, fewer years
    python benchmarks/scaling.py --no-write # print the tables only

Cases:

- *scaled landscapes*: ``benchmarks/large.toml`` (reserve 3 % of the rows, lots of
  38 ha) on square grids of 100 to 2000 cells a side, with farms in proportion to
  the area (25,000 farms per 1,000,000 cells, as in ``large.toml``), 30 years; the
  reference model on the grids where it is feasible (a Mesa grid holds one Python
  object per cell: 1000 x 1000 needs about 1.4 GB before any layer), for fewer
  years, normalised per year;
- *default*: the embedded default scenario (200 x 200 cells, 350 farms) run by both
  implementations for the same number of years: the speed-up of the vectorised
  model.

Every case runs in a fresh subprocess (this script with ``--worker``), which first
runs a tiny model for a year (so that one-off lazy initialisation is not timed),
then times the model's construction (``build``), its ``run_for(years)``
(``steps``) and the collection of its outputs (yearly table, rasters, farm
table), and reports its peak resident set size (``getrusage``; Python, numpy,
scipy, pandas and Mesa imported, about 165 MB, included). A profile of the yearly
step's phases (cProfile, inclusive time of each call ``step`` makes) is taken in
separate processes for the default scenario and the largest grid.

Targets (issue 7): the vectorised model at least 100 times faster than the
reference on the default scenario; cost linear in the number of cells; 2000 x
2000 cells (about 100,000 farms) for 30 years in under 2 minutes and under 6 GB.

The report goes into the ``scaling`` section of ``docs/performance.md`` (see
``benchmarks/docsections.py``; ``benchmarks/run.py`` carries it over) and the
plot into ``docs/scaling.png``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import math
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
PLOT = ROOT / "docs" / "scaling.png"
LARGE = HERE / "large.toml"
MARKER = "@@landsim-scaling@@"
MB = 1e6  # decimal megabytes, as the targets (6 GB = 6,000 MB)
FARMS_PER_CELL = 25_000 / 1_000_000  # as benchmarks/large.toml
TARGET_SPEEDUP = 100.0
TARGET_SECONDS = 120.0
TARGET_MB = 6000.0
TARGET_SIDE = 2000


@dataclass(frozen=True)
class Case:
    implementation: str  # "vectorised" or "reference"
    landscape: str  # "default" or "scaled"
    side: int  # cells along each edge
    years: int

    @property
    def cells(self) -> int:
        return self.side * self.side

    @property
    def farms(self) -> int | None:
        return round(FARMS_PER_CELL * self.cells) if self.landscape == "scaled" else None

    def args(self) -> list[str]:
        return [self.implementation, self.landscape, str(self.side), str(self.years)]


def plan(quick: bool, sizes: list[int] | None, reference_sizes: list[int] | None) -> list[Case]:
    """The cases of a run, smallest first."""
    if quick:
        sizes = sizes or [100, 200, 500, 1000]
        years, ref = 10, {100: 3, 200: 3}
        default_years = 5
    else:
        sizes = sizes or [100, 200, 500, 1000, 2000]
        years, ref = 30, {100: 10, 200: 10, 500: 3}
        default_years = 30
    if reference_sizes is not None:
        ref = {s: ref.get(s, 3) for s in reference_sizes}
    cases = [Case("vectorised", "default", 200, default_years)]
    cases.append(Case("reference", "default", 200, default_years))
    for side in sizes:
        cases.append(Case("vectorised", "scaled", side, years))
        if side in ref:
            cases.append(Case("reference", "scaled", side, ref[side]))
    return cases


# =============================================================================== worker


def scenario_for(landscape: str, side: int, years: int):
    from landsim.scenario import load_scenario

    if landscape == "default":
        return load_scenario(None).with_overrides({"years": years})
    overrides = {
        "landscape.width": side,
        "landscape.height": side,
        "landscape.n_farms": round(FARMS_PER_CELL * side * side),
        "years": years,
    }
    return load_scenario(LARGE).with_overrides(overrides)


def model_class(implementation: str):
    if implementation == "reference":
        from landsim.reference import ReferenceModel

        return ReferenceModel
    from landsim.model import LandUseModel

    return LandUseModel


def worker(implementation: str, landscape: str, side: int, years: int) -> None:
    """Time one case in this (fresh) process; print the result as JSON."""
    t = time.perf_counter()
    cls = model_class(implementation)
    from landsim.scenario import load_scenario

    import_s = time.perf_counter() - t
    # Warm-up: a tiny model for a year pays one-off lazy initialisation.
    tiny = load_scenario(None).with_overrides(
        {
            "landscape.width": 40,
            "landscape.height": 40,
            "landscape.n_farms": 10,
            "landscape.lot_depth_km": 0.5,
            "landscape.reserve_fraction": 0.2,
            "years": 1,
        }
    )
    cls(tiny, rng=1).run_for(1)
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    scenario = scenario_for(landscape, side, years)
    t = time.perf_counter()
    model = cls(scenario, rng=0)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    model.run_for(years)
    steps_s = time.perf_counter() - t
    t = time.perf_counter()
    yearly = model.yearly_table()
    model.rasters()
    farms = model.farm_table()
    outputs_s = time.perf_counter() - t
    last = yearly.iloc[-1]
    result = {
        "implementation": implementation,
        "landscape": landscape,
        "side": side,
        "years": years,
        "cells": side * side,
        "farms": len(farms),
        "import_s": import_s,
        "build_s": build_s,
        "steps_s": steps_s,
        "outputs_s": outputs_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB,
        "warm_mb": rss_before_kb * 1024 / MB,
        "cumulative_deforestation_ha": float(last["cumulative_deforestation_ha"]),
        "forest_area_ha": float(last["forest_area_ha"]),
    }
    print(MARKER + json.dumps(result))


def profile_worker(landscape: str, side: int, years: int) -> None:
    """Inclusive time of each phase of ``LandUseModel.step`` (cProfile)."""
    from landsim.model import LandUseModel

    model = LandUseModel(scenario_for(landscape, side, years), rng=0)
    prof = cProfile.Profile()
    prof.enable()
    model.run_for(years)
    prof.disable()
    stats = pstats.Stats(prof).stats  # {func: (cc, nc, tt, ct, callers)}
    step = next(k for k in stats if k[2] == "step" and k[0].endswith("landsim/model/model.py"))
    total = stats[step][3]
    phases = {}
    for func, (_, _, _, _, callers) in stats.items():
        if step in callers:
            name = func[2] if func[0] != "~" else func[2].strip("<>")
            phases[name] = phases.get(name, 0.0) + callers[step][3]
    print(MARKER + json.dumps({"side": side, "years": years, "step_s": total, "phases": phases}))


# =============================================================================== parent


def run_child(args: list[str], timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"worker failed ({proc.returncode}): {' '.join(args)}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith(MARKER))
    return json.loads(line[len(MARKER) :])


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def environment() -> dict:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": cpus,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "mesa": version("mesa"),
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": len(dirty.splitlines()) if dirty else 0,
        "load_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def per_year(r: dict) -> float:
    return r["steps_s"] / r["years"]


def total_s(r: dict) -> float:
    return r["build_s"] + r["steps_s"] + r["outputs_s"]


def exponent(rows: list[dict], min_cells: int) -> float | None:
    """Least-squares slope of log(seconds per year) against log(cells)."""
    pts = [(math.log(r["cells"]), math.log(per_year(r))) for r in rows if r["cells"] >= min_cells]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def evaluate(results: list[dict]) -> dict:
    """The targets, from the measurements."""
    default = {r["implementation"]: r for r in results if r["landscape"] == "default"}
    scaled = sorted(
        (r for r in results if r["landscape"] == "scaled" and r["implementation"] == "vectorised"),
        key=lambda r: r["cells"],
    )
    out: dict = {"speedup": None, "exponent": exponent(scaled, 200 * 200), "largest": None}
    if {"vectorised", "reference"} <= default.keys():
        out["speedup"] = per_year(default["reference"]) / per_year(default["vectorised"])
    big = [r for r in scaled if r["side"] == TARGET_SIDE and r["years"] == 30]
    if big:
        out["largest"] = big[0]
    ref = {r["side"]: r for r in results if r["landscape"] == "scaled"}
    out["scaled_speedups"] = {
        side: per_year(ref_row) / per_year(vec)
        for vec in scaled
        for side, ref_row in ref.items()
        if ref_row["implementation"] == "reference" and vec["side"] == side
    }
    return out


def table(results: list[dict]) -> str:
    head = (
        "| implementation | landscape | grid | cells | farms | years | build (s) | s per year "
        "| cell-years/s | ns per cell-year | outputs (s) | total (s) | peak RSS (MB) |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    )
    rows = []
    for r in results:
        py = per_year(r)
        rows.append(
            f"| {r['implementation']} | {r['landscape']} | {r['side']} x {r['side']} "
            f"| {r['cells']:,} | {r['farms']:,} | {r['years']} | {r['build_s']:.2f} "
            f"| {py:.4g} | {r['cells'] / py:,.0f} | {1e9 * py / r['cells']:,.0f} "
            f"| {r['outputs_s']:.2f} | {total_s(r):.1f} | {r['peak_mb']:,.0f} |"
        )
    return head + "\n".join(rows) + "\n"


def targets_text(ev: dict, quick: bool) -> str:
    lines = ["| target | measured | met |", "|---|---|---|"]
    s = ev["speedup"]
    lines.append(
        f"| vectorised >= {TARGET_SPEEDUP:g} x faster than the reference, default scenario "
        f"| {'n/a' if s is None else f'{s:,.0f} x'} "
        f"| {'n/a' if s is None else ('yes' if s >= TARGET_SPEEDUP else 'NO')} |"
    )
    b = ev["exponent"]
    lines.append(
        "| cost linear in the number of cells (fitted exponent of seconds per year "
        "against cells, grids of 200 x 200 and up) "
        f"| {'n/a' if b is None else f'{b:.2f}'} "
        f"| {'n/a' if b is None else ('yes' if b <= 1.1 else 'NO')} |"
    )
    big = ev["largest"]
    if big is None:
        lines.append(
            f"| {TARGET_SIDE} x {TARGET_SIDE}, 30 years: < {TARGET_SECONDS:g} s and "
            f"< {TARGET_MB / 1000:g} GB | not run{' (quick mode)' if quick else ''} | n/a |"
        )
    else:
        ok = total_s(big) < TARGET_SECONDS and big["peak_mb"] < TARGET_MB
        lines.append(
            f"| {TARGET_SIDE} x {TARGET_SIDE} ({big['farms']:,} farms), 30 years: "
            f"< {TARGET_SECONDS:g} s and < {TARGET_MB / 1000:g} GB "
            f"| {total_s(big):.1f} s (build {big['build_s']:.1f} s, 30 years "
            f"{big['steps_s']:.1f} s, outputs {big['outputs_s']:.1f} s), "
            f"{big['peak_mb']:,.0f} MB | {'yes' if ok else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def profile_text(profiles: list[dict]) -> str:
    if not profiles:
        return ""
    names: list[str] = []
    for p in profiles:
        for name, _ in sorted(p["phases"].items(), key=lambda kv: -kv[1]):
            if name not in names:
                names.append(name)
    heads = [f"{p['side']} x {p['side']}, {p['years']} years" for p in profiles]
    out = [
        "| phase of `LandUseModel.step` | " + " | ".join(heads) + " |",
        "|---|" + "--:|" * len(profiles),
    ]
    for name in names:
        shares = [p["phases"].get(name, 0.0) / p["step_s"] for p in profiles]
        if max(shares) < 0.02:
            continue
        cells = " | ".join(f"{100 * s:.0f} %" for s in shares)
        out.append(f"| `{name}` | {cells} |")
    steps = " | ".join(f"{1000 * p['step_s'] / p['years']:,.1f} ms" for p in profiles)
    out.append(f"| *step, per year (under cProfile)* | {steps} |")
    return "\n".join(out) + "\n"


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.8), dpi=120)
    styles = {"vectorised": ("o-", "tab:blue"), "reference": ("s-", "tab:red")}
    for impl, (marker, color) in styles.items():
        rows = sorted(
            (r for r in results if r["implementation"] == impl and r["landscape"] == "scaled"),
            key=lambda r: r["cells"],
        )
        if rows:
            ax.plot(
                [r["cells"] for r in rows],
                [per_year(r) for r in rows],
                marker,
                color=color,
                label=f"{impl} (scaled landscapes)",
            )
        for r in results:
            if r["implementation"] == impl and r["landscape"] == "default":
                ax.plot(
                    r["cells"], per_year(r), "*", color=color, ms=12, label=f"{impl} (default)"
                )
    vec = [
        r for r in results if r["implementation"] == "vectorised" and r["landscape"] == "scaled"
    ]
    if vec:
        anchor = max(vec, key=lambda r: r["cells"])
        xs = [min(r["cells"] for r in results), anchor["cells"]]
        ax.plot(
            xs,
            [per_year(anchor) * x / anchor["cells"] for x in xs],
            ":",
            color="grey",
            label="linear in cells",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cells (1 ha each)")
    ax.set_ylabel("wall time per simulated year (s)")
    ax.set_title("landsim: time per simulated year against landscape size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(env: dict, results, profiles, ev, quick: bool) -> str:
    load = env["load_start"]
    load_end = env.get("load_end")
    fmt = ", ".join(f"{x:.2f}" for x in load) if load else "n/a"
    fmt_end = ", ".join(f"{x:.2f}" for x in load_end) if load_end else "n/a"
    busy = load and load[0] > 0.5 * env["cpus"]
    dirty = (
        f", with uncommitted changes to {env['dirty']} file(s) under src/" if env["dirty"] else ""
    )
    parts = [
        "## Scaling",
        "",
        "<!-- Generated by benchmarks/scaling.py; rerun it rather than editing by hand. -->",
        "",
        f"Measured {env['date']} on commit `{env['commit']}`{dirty}"
        f"{' (quick mode)' if quick else ''}; {env['cpus']} CPUs, Python {env['python']}, "
        f"numpy {env['numpy']}, mesa {env['mesa']}; load average (1, 5, 15 min) {fmt} at "
        f"the start and {fmt_end} at the end"
        + (
            ": **the machine was busy with other work, so wall times are inflated**."
            if busy
            else "."
        ),
        "",
        targets_text(ev, quick),
        table(results),
        "- `scaled`: `benchmarks/large.toml` on a square grid of the given side, with "
        f"{FARMS_PER_CELL * 1e6:,.0f} farms per 1,000,000 cells; `default`: the embedded "
        "default scenario. Each row is one fresh process (`--worker`); `s per year` is "
        "the wall time of `run_for(years)` over the years; `total` adds model construction "
        "and collecting the outputs (yearly table, rasters, farm table). `peak RSS` is the "
        "process's maximum resident set size, imports included.",
        "- The reference (`landsim.reference.ReferenceModel`, one Mesa cell object per cell "
        "and Python loops per farmer and per cell) runs only where feasible and for fewer "
        "years; the speed-up on the default scenario compares both for the same years.",
    ]
    if ev["scaled_speedups"]:
        sp = ", ".join(f"{s} x {s}: {v:,.0f} x" for s, v in sorted(ev["scaled_speedups"].items()))
        parts.append(
            f"- Speed-up on the scaled landscapes, per year (not like for like: the reference "
            f"runs fewer years than the vectorised model): {sp}."
        )
    parts += ["", "![Time per simulated year against cells](scaling.png)", ""]
    if profiles:
        parts += [
            "**What dominates the yearly step** (cProfile, share of `step` time spent in "
            "each call it makes; phases under 2 % omitted):",
            "",
            profile_text(profiles),
        ]
    parts += [
        "```sh",
        ".venv/bin/python benchmarks/scaling.py          # full run, rewrites this section",
        ".venv/bin/python benchmarks/scaling.py --quick  # up to 1000 x 1000, fewer years",
        "```",
    ]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="grids up to 1000, fewer years")
    parser.add_argument("--sizes", help="comma-separated grid sides for the vectorised model")
    parser.add_argument("--reference-sizes", help="comma-separated grid sides for the reference")
    parser.add_argument("--no-profile", action="store_true", help="skip the phase profile")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        impl, landscape, side, years = args.worker
        worker(impl, landscape, int(side), int(years))
        return
    if args.profile_worker:
        landscape, side, years = args.profile_worker
        profile_worker(landscape, int(side), int(years))
        return

    def ints(text):
        return None if text is None else [int(x) for x in text.split(",") if x.strip()]

    env = environment()
    cases = plan(args.quick, ints(args.sizes), ints(args.reference_sizes))
    results = []
    for case in cases:
        print(
            f"{case.implementation:10s} {case.landscape:7s} {case.side} x {case.side}, "
            f"{case.years} years ...",
            end=" ",
            flush=True,
        )
        r = run_child(["--worker", *case.args()], args.timeout)
        results.append(r)
        print(
            f"{per_year(r):.4g} s/year, total {total_s(r):.1f} s, {r['peak_mb']:,.0f} MB",
            flush=True,
        )
    profiles = []
    if not args.no_profile:
        largest = max(c.side for c in cases if c.landscape == "scaled")
        for landscape, side, years in (("default", 200, 30), ("scaled", largest, 5)):
            print(f"profiling {landscape} {side} x {side}, {years} years ...", flush=True)
            profiles.append(
                run_child(["--profile-worker", landscape, str(side), str(years)], args.timeout)
            )
    env["load_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    ev = evaluate(results)
    text = report(env, results, profiles, ev, args.quick)
    print()
    print(text)
    if not args.no_write:
        plot(results, PLOT)
        from docsections import replace_section

        replace_section(DOC, "scaling", text)
        print(f"wrote {DOC} (section 'scaling') and {PLOT}")


if __name__ == "__main__":
    main()
