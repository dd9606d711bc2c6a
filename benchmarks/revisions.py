"""Compare the speed of two source trees of landsim, alternating runs.

For a change that must not slow the model down (a refactoring), this times the
same cases on the old and the new code in alternation, so that both see the same
load on a busy machine: ``rounds`` times, each tree's worker process runs the case
once (default scenario: ``repeats`` warm runs, median; 1000 x 1000: one run). The
time is the process's CPU time (``time.process_time``), which other processes on
the machine disturb less than the wall clock.

    .venv/bin/python benchmarks/revisions.py OLD_SRC NEW_SRC [--rounds 5]

``OLD_SRC`` and ``NEW_SRC`` are ``src`` directories (e.g. of a ``git worktree`` of
the old commit, or ``git archive OLD src | tar -x -C DIR``). It prints a Markdown
table of the medians and ranges over rounds. ``--write LABEL`` also writes it to
the ``revisions`` section of ``docs/performance.md`` (``--section NAME`` for
another section, ``--title`` for its heading, ``--labels OLD NEW`` to name trees
that are not git checkouts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {"default": None, "large": ROOT / "benchmarks" / "large.toml"}


def worker(case: str, repeats: int) -> None:
    from landsim.scenario import load_scenario
    from landsim.simulation import simulate

    scenario = load_scenario(CASES[case])
    simulate(scenario, rng=scenario.seed)  # warm-up (imports, tables)
    times = []
    for _ in range(repeats):
        t = time.process_time()
        simulate(scenario, rng=scenario.seed)
        times.append(time.process_time() - t)
    print(json.dumps({"s": statistics.median(times)}))


def run(src: str, case: str, repeats: int) -> float:
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", case, "--repeats", str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["s"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", nargs="?")
    parser.add_argument("new", nargs="?")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument(
        "--write", metavar="LABEL", help="also write the table to docs/performance.md, as LABEL"
    )
    parser.add_argument("--section", default="revisions", help="section of the page to write")
    parser.add_argument(
        "--title", default="Speed across a refactoring", help="heading of the written section"
    )
    parser.add_argument(
        "--labels", nargs=2, metavar=("OLD", "NEW"), help="names of the trees (default: commits)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=9, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.repeats)
        return 0
    rows = []
    for case in args.cases:
        repeats = 9 if case == "default" else 1
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            for label, src in (("old", args.old), ("new", args.new)):
                times[label].append(run(src, case, repeats))
        old, new = (statistics.median(times[k]) for k in ("old", "new"))
        rows.append(
            f"| {case} | {old:.3f} ({min(times['old']):.3f}-{max(times['old']):.3f}) "
            f"| {new:.3f} ({min(times['new']):.3f}-{max(times['new']):.3f}) "
            f"| {100 * (new / old - 1):+.1f} % |"
        )
    table = "\n".join(
        ["| case | old, s (range) | new, s (range) | change |", "|---|---|---|---|", *rows]
    )
    print(table)
    if args.write:
        write_section(args, table)
    return 0


def commit_of(src: str) -> str:
    out = subprocess.run(
        ["git", "-C", src, "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    return out.stdout.strip() or "?"


def write_section(args, table: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from docsections import replace_section

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    old, new = args.labels or (commit_of(args.old), commit_of(args.new))
    body = (
        f"## {args.title}: {args.write}\n\n"
        f"`benchmarks/revisions.py`: the old tree (commit `{old}`) and the "
        f"new one (commit `{new}`) timed in alternation, {args.rounds} "
        "rounds, each a fresh process per tree, in CPU seconds of the process: `default` "
        "is the median of 9 warm runs of "
        "the embedded default scenario, `large` one run of 1000 x 1000 cells (30 years). "
        "The table gives the median over rounds and the range. "
        f"Load average at the end (1, 5, 15 min): {load}.\n\n{table}\n"
    )
    replace_section(ROOT / "docs" / "performance.md", args.section, body)


if __name__ == "__main__":
    sys.exit(main())
