"""The ``landsim`` command's arguments: one subcommand per job, each with its
handler in :mod:`landsim.cli.commands`."""

from __future__ import annotations

import argparse

from landsim.cli.commands import (
    batch_command,
    compare_command,
    run_command,
    sensitivity_command,
    summarize_command,
    viz_command,
)


def build_parser() -> argparse.ArgumentParser:
    from landsim import __version__

    parser = argparse.ArgumentParser(
        prog="landsim",
        description="Smallholder land-use decisions at tropical forest frontiers.",
    )
    parser.add_argument("--version", action="version", version=f"landsim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run one scenario and print a summary",
        description="Run one scenario (the embedded default if none is given).",
    )
    run.add_argument("scenario", nargs="?", help="scenario TOML file (default: embedded)")
    run.add_argument("--out", metavar="DIR", help="write the outputs to DIR")
    run.add_argument("--seed", type=int, metavar="N", help="seed (default: the scenario's)")
    run.add_argument("--years", type=int, metavar="N", help="years to simulate")
    run.add_argument("--force", action="store_true", help="overwrite results already in --out DIR")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    run.set_defaults(handler=run_command)

    compare = commands.add_parser(
        "compare",
        help="evaluate a scenario against a counterfactual over replicates",
        description=(
            "Run SCENARIO and COUNTERFACTUAL over replicates with common random numbers "
            "(replicate i runs both with the same seed) and print the effects: avoided "
            "deforestation, additional carbon, leakage, permanence, cost per tCO2e, "
            "income effects, enrolment and compliance (see docs/evaluation.md). "
            "'default' names the embedded default scenario."
        ),
    )
    compare.add_argument("scenario", help="scenario TOML file (or 'default')")
    compare.add_argument(
        "--against",
        required=True,
        metavar="COUNTERFACTUAL",
        help="counterfactual scenario TOML file (or 'default')",
    )
    compare.add_argument(
        "--replicates", type=int, default=30, metavar="N", help="replicate pairs (default: 30)"
    )
    compare.add_argument("--seed", type=int, default=0, metavar="N", help="root seed (default: 0)")
    compare.add_argument("--years", type=int, metavar="N", help="years to simulate (both runs)")
    compare.add_argument("--out", metavar="DIR", help="write the tables, figures and manifest")
    add_backend_options(compare)
    compare.add_argument(
        "--force", action="store_true", help="overwrite results already in --out DIR"
    )
    compare.add_argument("--quiet", action="store_true", help="print nothing on success")
    compare.set_defaults(handler=compare_command)

    batch = commands.add_parser(
        "batch",
        help="run an experiment: many runs, in parallel, streamed to disk",
        description=(
            "Run the runs of EXPERIMENT (scenarios x design points x replicates) on the "
            "cores of this machine (default), a Dask LocalCluster (--dask-local N) or a "
            "Dask cluster (--scheduler ADDRESS), writing each chunk of results to "
            "--out DIR as it finishes. An interrupted batch continues with --resume. "
            "Exit codes: 0 all runs succeeded, 1 some failed (recorded in DIR/runs), "
            "2 a bad experiment or option, 130 interrupted."
        ),
    )
    batch.add_argument("experiment", help="experiment TOML file (see experiments/)")
    batch.add_argument("--out", required=True, metavar="DIR", help="the results directory")
    add_backend_options(batch)
    batch.add_argument(
        "--chunk-size", type=int, metavar="N", help="runs per task (default: automatic)"
    )
    batch.add_argument(
        "--resume",
        action="store_true",
        help="run only what is missing or failed in --out DIR (starts it if empty)",
    )
    batch.add_argument("--force", action="store_true", help="replace a batch already in DIR")
    batch.add_argument(
        "--quiet", action="store_true", help="no progress bar (for logs); only the final report"
    )
    batch.set_defaults(handler=batch_command)

    summarize = commands.add_parser(
        "summarize",
        help="summarise a batch directory: tables and trajectory plots",
        description=(
            "Read the batch in DIR and print the end-of-run outputs (mean and 95 % "
            "interval over replicates, per scenario and design point). Writes "
            "DIR/summary/: yearly and end-of-run summary tables (CSV, Parquet) and "
            "trajectory plots with bands."
        ),
    )
    summarize.add_argument("directory", metavar="DIR", help="a directory made by landsim batch")
    summarize.add_argument(
        "--level", type=float, default=0.95, metavar="P", help="interval level (default 0.95)"
    )
    summarize.add_argument("--quiet", action="store_true", help="write the files, print nothing")
    summarize.set_defaults(handler=summarize_command)

    sensitivity = commands.add_parser(
        "sensitivity",
        help="global sensitivity analysis (SALib: Morris, Sobol', eFAST, delta, PAWN)",
        description=(
            "Sample the factors of EXPERIMENT with SALib, evaluate every point (x "
            "replicates) through the batch engine, analyse, print the factors ranked "
            "per output and write the indices (CSV, Parquet), figures and the runs "
            "(DIR/runs, resumable) to --out DIR. See docs/sensitivity.md. Exit codes: 0 "
            "done, 1 some runs failed or an output cannot be analysed, 2 a bad experiment "
            "or option, 130 interrupted."
        ),
    )
    sensitivity.add_argument("experiment", help="sensitivity experiment TOML file")
    sensitivity.add_argument("--out", required=True, metavar="DIR", help="results directory")
    add_backend_options(sensitivity)
    sensitivity.add_argument(
        "--resume", action="store_true", help="continue the runs already in DIR/runs"
    )
    sensitivity.add_argument("--force", action="store_true", help="replace results already in DIR")
    sensitivity.add_argument("--quiet", action="store_true", help="no progress bar; no table")
    sensitivity.set_defaults(handler=sensitivity_command)

    viz = commands.add_parser(
        "viz",
        help="explore a scenario in the browser (Mesa and Solara)",
        description=(
            "Launch the browser view on localhost (Solara, with Mesa's model controller): a "
            "land-cover map, trajectories, "
            "sliders, a scenario picker and a seed field. Needs the 'viz' extra: "
            "pip install -e '.[viz]'."
        ),
    )
    viz.add_argument("scenario", nargs="?", help="scenario TOML file (default: embedded)")
    viz.add_argument("--port", type=int, default=8765, metavar="N", help="port (default: 8765)")
    viz.add_argument(
        "--host", default="127.0.0.1", metavar="HOST", help="interface (default: 127.0.0.1)"
    )
    viz.set_defaults(handler=viz_command)
    return parser


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """Where the runs of a multi-run command go (the batch engine's backends)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: all cores)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786"
    )
    where.add_argument(
        "--dask-local", type=int, metavar="N", help="start a Dask LocalCluster of N workers"
    )
