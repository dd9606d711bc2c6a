"""Benchmarks of landsim against the performance targets of the issue.

Usage::

    python benchmarks/run.py            # full run (a few minutes), rewrites docs/performance.md
    python benchmarks/run.py --quick    # fewer repeats, shorter profile
    python benchmarks/run.py --no-write # print the table only

Cases (``CASES`` below):

- ``default``: ``landsim.simulation.simulate()`` on the embedded default scenario
  (200 x 200 cells, 350 farms, 30 years); target under 1 s.
- ``large``: ``simulate("benchmarks/large.toml")`` (1000 x 1000 cells, 25,000 farms,
  30 years); targets under 30 s and under 2 GB.

Every measurement runs in a fresh subprocess (this script, called with ``--worker``),
so the parent's own imports and allocations never count. Wall times are taken
inside the worker around the ``simulate`` call only (Python start-up and imports
excluded); ``simulate``'s model construction and its ``run_for`` of all years are
timed within that same call by a thin subclass of ``LandUseModel``. Peak memory is
the worker's maximum resident set size over its whole life, imports included, from
GNU ``/usr/bin/time -v`` when available and ``getrusage`` otherwise.

The profile (``--profile`` worker) runs the large case's yearly steps twice in
one process: once under a line timer (``sys.settrace`` on landsim's own code:
self time of each source line, numpy/scipy calls included in the line that makes
them) and once under ``cProfile`` (inclusive time of each phase of the step).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import json
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src" / "landsim"
DOC = ROOT / "docs" / "performance.md"
MARKER = "@@landsim-benchmark@@"
NOTES_START = "<!-- notes:start -->"
NOTES_END = "<!-- notes:end -->"
MB = 1e6  # report memory in decimal megabytes (the target says 2 GB = 2,000 MB)


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str | None  # path relative to benchmarks/, or None for the default
    target_s: float
    target_mb: float | None
    fresh_processes: int  # single-run processes (peak memory, first-call time)
    warm_repeats: int  # extra runs in one process after a first, discarded call
    quick_fresh_processes: int
    quick_warm_repeats: int

    def scenario_path(self) -> str | None:
        return None if self.scenario is None else str(HERE / self.scenario)

    def target_text(self) -> str:
        text = f"< {self.target_s:g} s"
        if self.target_mb is not None:
            text += f", < {self.target_mb / 1000:g} GB"
        return text


CASES = {
    "default": Case("default", None, 1.0, None, 1, 9, 1, 3),
    "large": Case("large", "large.toml", 30.0, 2000.0, 3, 0, 1, 0),
}
PROFILE_CASE = "large"


# =============================================================================== worker


def worker(case_name: str, runs: int) -> None:
    """Run one case ``runs`` times in this process and print the timings as JSON."""
    t0 = time.perf_counter()
    import landsim.simulation as simulation
    from landsim.model import LandUseModel

    import_s = time.perf_counter() - t0
    case = CASES[case_name]
    phases: dict[str, float] = {}

    class TimedModel(LandUseModel):
        """The model ``simulate`` builds, with its construction and run timed."""

        def __init__(self, *args, **kwargs):
            t = time.perf_counter()
            super().__init__(*args, **kwargs)
            phases["build_s"] = time.perf_counter() - t

        def run_for(self, duration):
            t = time.perf_counter()
            super().run_for(duration)
            phases["steps_s"] = time.perf_counter() - t

    simulation.LandUseModel = TimedModel
    results = []
    for _ in range(runs):
        phases.clear()
        t = time.perf_counter()
        scenario = simulation.resolve_scenario(case.scenario_path())
        result = simulation.simulate(scenario, rng=scenario.seed)  # as `landsim run`
        total = time.perf_counter() - t
        last = result.yearly.iloc[-1]
        results.append(
            {
                "total_s": total,
                "build_s": phases.get("build_s", float("nan")),
                "steps_s": phases.get("steps_s", float("nan")),
                "cells": int(result.rasters["cover"].size),
                "farms": int(result.rasters["owner"].max()) + 1,
                "years": int(result.scenario.years),
                "forest_area_ha": float(last["forest_area_ha"]),
                "cumulative_deforestation_ha": float(last["cumulative_deforestation_ha"]),
            }
        )
        del result
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(MARKER + json.dumps({"import_s": import_s, "runs": results, "self_maxrss_kb": self_kb}))


# ------------------------------------------------------------------------- line timer


class LineTimer:
    """Self time of each source line of the code under ``prefix`` (sys.settrace).

    The time between two trace events in landsim code is charged to the line that
    was running, so a line's time includes the numpy/scipy/Mesa calls it makes but
    not the landsim functions it calls (they get their own lines).
    """

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.times: dict[tuple[str, int, str], float] = defaultdict(float)
        self.current: tuple[str, int, str] | None = None
        self.since = 0.0

    def _charge(self) -> None:
        now = time.perf_counter()
        if self.current is not None:
            self.times[self.current] += now - self.since
        self.since = now

    def _ours(self, frame) -> bool:
        return frame.f_code.co_filename.startswith(self.prefix)

    def _global(self, frame, event, arg):
        if not self._ours(frame):
            return None
        self._charge()
        self.current = None
        return self._local

    def _local(self, frame, event, arg):
        self._charge()
        if event == "line":
            self.current = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_qualname)
        elif event == "return":
            # Back to the nearest landsim caller's line (which may be waiting in Mesa).
            up = frame.f_back
            while up is not None and not self._ours(up):
                up = up.f_back
            self.current = (
                None if up is None else (up.f_code.co_filename, up.f_lineno, up.f_code.co_qualname)
            )
        return self._local

    def __enter__(self):
        self.since = time.perf_counter()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        self._charge()


def _short(filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return filename


def profile_worker(case_name: str, years: int) -> None:
    """Profile the yearly step of a case; print the summary as JSON."""
    from landsim.model import LandUseModel
    from landsim.scenario import load_scenario

    # Snapshot the source now: src/ may be edited while the profile runs, and the
    # line numbers must be matched with the code that was imported.
    source = {
        m.__file__: Path(m.__file__).read_text(encoding="utf-8").splitlines()
        for name, m in list(sys.modules.items())
        if name.startswith("landsim") and getattr(m, "__file__", None)
    }

    def line_text(filename: str, lineno: int) -> str:
        lines = source.get(filename, [])
        return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""

    case = CASES[case_name]
    scenario = load_scenario(case.scenario_path())
    scenario = scenario.with_overrides({"years": years})

    # Pass 1: unprofiled steps (for the profilers' overhead), then the line timer.
    model = LandUseModel(scenario, rng=scenario.seed)
    t = time.perf_counter()
    model.run_for(years)
    plain_s = time.perf_counter() - t
    del model
    model = LandUseModel(scenario, rng=scenario.seed)
    t = time.perf_counter()
    with LineTimer(str(SRC)) as timer:
        model.run_for(years)
    traced_s = time.perf_counter() - t
    del model
    lines = sorted(timer.times.items(), key=lambda kv: -kv[1])
    top_lines = [
        {
            "where": f"{_short(f)}:{n}",
            "function": q,
            "source": line_text(f, n),
            "s": s,
        }
        for (f, n, q), s in lines[:15]
    ]
    by_function: dict[str, float] = defaultdict(float)
    for (f, _, q), s in timer.times.items():
        by_function[f"{_short(f)} {q}"] += s

    # Pass 2: cProfile, for the inclusive time of each phase of the step.
    model = LandUseModel(scenario, rng=scenario.seed)
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    model.run_for(years)
    prof.disable()
    cprofile_s = time.perf_counter() - t
    stats = pstats.Stats(prof).stats  # {func: (cc, nc, tt, ct, callers)}
    step_key = next(
        k for k in stats if k[2] == "step" and Path(k[0]).resolve() == (SRC / "model" / "model.py")
    )
    step_total = stats[step_key][3]
    phases = []
    for func, (_, _, _, _, callers) in stats.items():
        if step_key in callers:
            _, nc, _, ct = callers[step_key]
            phases.append(
                {
                    "where": f"{_short(func[0])}:{func[1]}",
                    "function": func[2],
                    "calls": nc,
                    "s": ct,
                }
            )
    phases.sort(key=lambda p: -p["s"])
    # Compiled functions (numpy, scipy) by own time, wherever called from.
    builtins = sorted(
        (
            {"function": func[2], "calls": v[1], "s": v[2]}
            for func, v in stats.items()
            if func[0] == "~"
        ),
        key=lambda b: -b["s"],
    )[:8]
    print(
        MARKER
        + json.dumps(
            {
                "case": case_name,
                "years": years,
                "cells": int(model.landscape.cover.size),
                "farms": int(model.farmers.n),
                "plain_steps_s": plain_s,
                "line_timer_steps_s": traced_s,
                "line_timer_attributed_s": sum(timer.times.values()),
                "cprofile_steps_s": cprofile_s,
                "step_total_s": step_total,
                "phases": phases,
                "top_lines": top_lines,
                "by_function": sorted(by_function.items(), key=lambda kv: -kv[1])[:12],
                "builtins": builtins,
            }
        )
    )


# =============================================================================== parent


def _run_child(args: list[str], timeout: float = 1800) -> tuple[dict, float | None, float]:
    """Run this script as a worker; return its JSON, peak RSS (MB) and wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    gnu_time = "/usr/bin/time" if Path("/usr/bin/time").exists() else shutil.which("time")
    with tempfile.TemporaryDirectory() as tmp:
        time_file = Path(tmp) / "time.txt"
        if gnu_time:
            cmd = [gnu_time, "-v", "-o", str(time_file), *cmd]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"worker failed ({proc.returncode}): {' '.join(args)}")
        peak_mb = None
        if gnu_time and time_file.exists():
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_file.read_text())
            if m:
                peak_mb = int(m.group(1)) * 1024 / MB
    line = next(x for x in proc.stdout.splitlines() if x.startswith(MARKER))
    data = json.loads(line[len(MARKER) :])
    if peak_mb is None and "self_maxrss_kb" in data:
        peak_mb = data["self_maxrss_kb"] * 1024 / MB
    return data, peak_mb, wall


def measure(case: Case, quick: bool) -> dict:
    fresh = case.quick_fresh_processes if quick else case.fresh_processes
    warm = case.quick_warm_repeats if quick else case.warm_repeats
    first_runs, peaks, imports, walls = [], [], [], []
    for i in range(fresh):
        print(f"  {case.name}: fresh process {i + 1}/{fresh} ...", flush=True)
        data, peak, wall = _run_child(["--worker", case.name, "--runs", "1"])
        first_runs.append(data["runs"][0])
        peaks.append(peak)
        imports.append(data["import_s"])
        walls.append(wall)
    warm_runs = []
    if warm:
        print(f"  {case.name}: 1 + {warm} runs in one process ...", flush=True)
        data, _, _ = _run_child(["--worker", case.name, "--runs", str(warm + 1)])
        warm_runs = data["runs"][1:]
    timed = warm_runs or first_runs

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    info = first_runs[0]
    total = med(timed, "total_s")
    steps = med(timed, "steps_s")
    peak = max(p for p in peaks if p is not None) if any(p is not None for p in peaks) else None
    met_time = total < case.target_s
    met_mem = case.target_mb is None or (peak is not None and peak < case.target_mb)
    return {
        "case": case.name,
        "cells": info["cells"],
        "farms": info["farms"],
        "years": info["years"],
        "build_s": med(timed, "build_s"),
        "steps_s": steps,
        "total_s": total,
        "total_min_s": min(r["total_s"] for r in timed),
        "total_max_s": max(r["total_s"] for r in timed),
        "n_timed": len(timed),
        "warm": bool(warm_runs),
        "first_call_s": med(first_runs, "total_s"),
        "import_s": statistics.median(imports),
        "process_wall_s": statistics.median(walls),
        "peak_mb": peak,
        "target": case.target_text(),
        "met": met_time and met_mem,
        "cell_years_per_s": info["cells"] * info["years"] / steps,
        "farm_years_per_s": info["farms"] * info["years"] / steps,
        "forest_area_ha": info["forest_area_ha"],
        "cumulative_deforestation_ha": info["cumulative_deforestation_ha"],
    }


# ------------------------------------------------------------------------ environment


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def src_digest() -> str:
    """A digest of the package sources, to detect edits made during the run."""
    h = hashlib.sha256()
    for path in sorted(SRC.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            h.update(path.relative_to(SRC).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def environment() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": usable,
        "cpu": _cpu_model(),
        "mem_gib": _mem_total_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "mesa": _version("mesa"),
        "pandas": _version("pandas"),
        "landsim": _version("landsim"),
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "src_dirty": len(dirty.splitlines()) if dirty else 0,
        "src_digest": src_digest(),
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


# ---------------------------------------------------------------------------- report


def _fmt_s(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def table(rows: list[dict]) -> str:
    head = (
        "| case | cells | farms | years | build (s) | steps (s) | total (s) | first call (s) "
        "| peak RSS (MB) | target | met |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n"
    )
    body = ""
    for r in rows:
        peak = _mb(r["peak_mb"])
        body += (
            f"| {r['case']} | {r['cells']:,} | {r['farms']:,} | {r['years']} "
            f"| {_fmt_s(r['build_s'])} | {_fmt_s(r['steps_s'])} | {_fmt_s(r['total_s'])} "
            f"| {_fmt_s(r['first_call_s'])} | {peak} | {r['target']} "
            f"| {'yes' if r['met'] else 'NO'} |\n"
        )
    return head + body


def throughput_table(rows: list[dict]) -> str:
    out = (
        "| case | cell-years/s (steps) | farm-years/s (steps) | ms per year | "
        "total range (s) | runs timed | import (s) | process wall (s) |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|\n"
    )
    for r in rows:
        out += (
            f"| {r['case']} | {r['cell_years_per_s']:,.0f} | {r['farm_years_per_s']:,.0f} "
            f"| {1000 * r['steps_s'] / r['years']:,.1f} "
            f"| {_fmt_s(r['total_min_s'])}-{_fmt_s(r['total_max_s'])} "
            f"| {r['n_timed']}{' (warm)' if r['warm'] else ' (fresh)'} "
            f"| {r['import_s']:.2f} | {r['process_wall_s']:.2f} |\n"
        )
    return out


def profile_section(p: dict) -> str:
    step = p["step_total_s"]
    out = [
        f"Case `{p['case']}` ({p['cells']:,} cells, {p['farms']:,} farms), {p['years']} "
        f"yearly steps. Unprofiled: {p['plain_steps_s']:.2f} s; under the line timer "
        f"{p['line_timer_steps_s']:.2f} s ({p['line_timer_attributed_s']:.2f} s charged to "
        f"landsim lines); under cProfile {p['cprofile_steps_s']:.2f} s.",
        "",
        "**Phases of `LandUseModel.step`** (cProfile, inclusive time of each call made "
        "directly by `step`, all years):",
        "",
        "| phase | where | calls | time (s) | share of step |",
        "|---|---|--:|--:|--:|",
    ]
    for ph in p["phases"][:12]:
        out.append(
            f"| `{ph['function']}` | {ph['where']} | {ph['calls']} | {ph['s']:.2f} "
            f"| {100 * ph['s'] / step:.0f} % |"
        )
    total_lines = p["line_timer_attributed_s"]
    out += [
        "",
        "**Hot lines** (line timer: self time of each landsim source line, including the "
        "numpy/scipy calls it makes, all years):",
        "",
        "| where | function | time (s) | share | source |",
        "|---|---|--:|--:|---|",
    ]
    for ln in p["top_lines"][:12]:
        src = ln["source"].replace("|", "\\|")
        if len(src) > 90:
            src = src[:87] + "..."
        out.append(
            f"| {ln['where']} | `{ln['function']}` | {ln['s']:.2f} "
            f"| {100 * ln['s'] / total_lines:.0f} % | `{src}` |"
        )
    out += [
        "",
        "**Compiled functions by own time** (cProfile; numpy functions dispatched "
        "from C, such as `np.lexsort`, are charged to their Python caller instead):",
        "",
        "| function | calls | time (s) |",
        "|---|--:|--:|",
    ]
    for b in p["builtins"][:8]:
        name = b["function"].replace("|", "\\|")
        out.append(f"| `{name}` | {b['calls']} | {b['s']:.2f} |")
    return "\n".join(out)


def dominant_summary(p: dict) -> str:
    """One sentence naming what dominates the step (derived from the numbers)."""
    step = p["step_total_s"]
    top = p["phases"][:3]
    parts = [f"`{ph['function']}` {100 * ph['s'] / step:.0f} %" for ph in top]
    line = p["top_lines"][0]
    return (
        f"The yearly step is dominated by {', '.join(parts)} of step time; the single "
        f"hottest line is {line['where']} in `{line['function']}` "
        f"({100 * line['s'] / p['line_timer_attributed_s']:.0f} % of traced time): "
        f"`{line['source']}`."
    )


def _old_notes(path: Path) -> str | None:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    if NOTES_START in text and NOTES_END in text:
        return text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0].strip("\n")
    return None


def render(env: dict, rows: list[dict], prof: dict | None, quick: bool, notes_from: Path) -> str:
    mem = f"{env['mem_gib']:.1f} GiB RAM" if env["mem_gib"] else "RAM unknown"
    load = env["loadavg"]
    load_text = "n/a" if load is None else ", ".join(f"{x:.2f}" for x in load)
    all_met = all(r["met"] for r in rows)
    verdict = "All targets are met." if all_met else "**Some targets are missed** (see `met`)."
    notes = _old_notes(notes_from) or "(No notes yet: edit this block; `run.py` keeps it.)"
    dirty = (
        f", with uncommitted changes to {env['src_dirty']} file(s) under src/"
        if env["src_dirty"]
        else ""
    )
    changed = ""
    if env.get("src_digest_end") and env["src_digest_end"] != env["src_digest"]:
        how = (
            f"commit `{env['commit']}` to `{env.get('commit_end')}`"
            if env.get("commit_end") != env["commit"]
            else "uncommitted edits"
        )
        changed = (
            f" **Warning: src/ changed during the run** ({how}; source digest "
            f"`{env['src_digest']}` to `{env['src_digest_end']}`): the cases may have run "
            "different code; rerun."
        )
    parts = [
        "# Performance",
        "",
        "<!-- Generated by benchmarks/run.py; rerun it rather than editing by hand, except",
        "     the notes block, which it carries over. -->",
        "",
        f"Measured {env['date']} on commit `{env['commit']}`{dirty}"
        f"{' (quick mode: fewer repeats)' if quick else ''} (source digest "
        f"`{env['src_digest']}`). {verdict}{changed}",
        "",
        "## Machine",
        "",
        f"- CPUs usable (nproc): {env['nproc']}; CPU: {env['cpu']}; {mem}",
        f"- {env['platform']}",
        f"- Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, "
        f"mesa {env['mesa']}, pandas {env['pandas']}, landsim {env['landsim']}",
        f"- Load average at the start of the run (1, 5, 15 min): {load_text}",
        "",
        "## Results",
        "",
        table(rows),
        "- `total` is the wall time of the `landsim.simulation.simulate(...)` call "
        "(scenario loading, model construction, all years, yearly table and raster "
        "copies), Python start-up and imports excluded: the median over the runs "
        "counted in `runs timed` below. `build` is `LandUseModel(...)` and `steps` the "
        "`run_for(years)` inside that same call; the remainder is scenario loading and "
        "collecting the outputs.",
        "- `default` is timed on warm repeats in one process (its first call, in a fresh "
        "process, is shown as `first call`: it pays one-off lazy initialisation); "
        "`large` is timed on single runs, each in a fresh process.",
        "- `peak RSS` is the maximum resident set size of a fresh process running the "
        "case once, Python start-up and imports included (GNU `time -v`; decimal MB). "
        f"A process that only imports landsim peaks at {_mb(env.get('baseline_mb'))} MB.",
        "",
        throughput_table(rows),
        "Throughput counts the cells (or farms) times the years simulated per second of `steps`.",
        "",
        "Final state, as a check that the runs did the work: "
        + "; ".join(
            f"`{r['case']}` forest {r['forest_area_ha']:,.0f} ha, cumulative deforestation "
            f"{r['cumulative_deforestation_ha']:,.0f} ha"
            for r in rows
        )
        + ".",
        "",
        "## Profile of the yearly step",
        "",
    ]
    if prof is None:
        parts.append("Not profiled in this run.")
    else:
        parts += [dominant_summary(prof), "", profile_section(prof)]
    parts += [
        "",
        "## Notes",
        "",
        NOTES_START,
        notes,
        NOTES_END,
        "",
        "## Reproducing",
        "",
        "```sh",
        ".venv/bin/python benchmarks/run.py          # full run, rewrites this file",
        ".venv/bin/python benchmarks/run.py --quick  # fewer repeats, shorter profile",
        "```",
        "",
        "The large case is `benchmarks/large.toml`. See `benchmarks/README.md`.",
        "",
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter profile")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite the report")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile")
    parser.add_argument("--output", type=Path, default=DOC, help="report path")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    parser.add_argument("--years", type=int, default=30, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker(args.worker, args.runs)
        return
    if args.profile:
        profile_worker(args.profile, args.years)
        return

    env = environment()
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")
    print("baseline: Python + imports only ...", flush=True)
    base, base_mb, _ = _run_child(["--worker", "default", "--runs", "0"])
    env["baseline_mb"], env["baseline_import_s"] = base_mb, base["import_s"]
    rows = []
    for name in names:
        print(f"case {name}", flush=True)
        rows.append(measure(CASES[name], args.quick))
    prof = None
    if not args.no_profile:
        years = 10 if args.quick else 30
        print(f"profiling {PROFILE_CASE} ({years} years) ...", flush=True)
        prof, _, _ = _run_child(["--profile", PROFILE_CASE, "--years", str(years)])

    env["commit_end"] = _git("rev-parse", "--short", "HEAD") or "unknown"
    env["src_digest_end"] = src_digest()
    if env["src_digest_end"] != env["src_digest"]:
        print("WARNING: src/ changed during the run; the cases may have run different code")
    print()
    print(table(rows))
    print(throughput_table(rows))
    if prof is not None:
        print(dominant_summary(prof))
        print()
        print(profile_section(prof))
    if not args.no_write:
        out = args.output
        out.parent.mkdir(parents=True, exist_ok=True)
        text = render(env, rows, prof, args.quick, out)
        if out.exists():  # keep the sections other benchmark scripts own
            from docsections import carry_sections

            text = carry_sections(out.read_text(encoding="utf-8"), text)
        out.write_text(text, encoding="utf-8")
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
