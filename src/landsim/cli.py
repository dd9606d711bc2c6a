"""The ``landsim`` command line.

``landsim run [SCENARIO] [--out DIR] [--seed N]`` runs a scenario (the embedded
default when none is given), prints a summary table and, with ``--out``, writes
the yearly table (CSV, Parquet), the final rasters (.npz) and a manifest.

``landsim batch EXPERIMENT --out DIR [--workers N | --scheduler ADDRESS |
--dask-local N] [--resume]`` runs an experiment through the batch engine
(:mod:`landsim.batch`); ``landsim summarize DIR`` summarises its results.

``landsim sensitivity EXPERIMENT --out DIR`` runs a SALib sensitivity analysis
(:mod:`landsim.sensitivity`) through the batch engine.

``landsim compare SCENARIO --against COUNTERFACTUAL [--replicates N] [--seed N]
[--years N] [--out DIR]`` runs both over replicates with common random numbers,
prints the effects (mean and 95 % confidence interval) and, with ``--out``, writes
the summary, replicate and trajectory tables, figures and a manifest.

Exit codes: 0 success; 1 some runs of a batch failed; 2 a user mistake (bad
scenario or experiment, bad option, output directory already holding results);
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from landsim.errors import UsageError

EXIT_USAGE = 2


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


def check_backend_options(args: argparse.Namespace) -> None:
    for option in ("workers", "dask_local", "chunk_size"):
        value = getattr(args, option, None)
        if value is not None and value < 1:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag} must be at least 1 (got {value})")


def check_out(out: str | None, kind: str, force: bool, **options) -> None:
    """Check --out before anything runs (:func:`landsim.outdir.check_out_dir`)."""
    from landsim.outdir import check_out_dir

    if out:
        check_out_dir(out, kind, force=force, **options)


def run_command(args: argparse.Namespace) -> int:
    from landsim.scenario import load_scenario
    from landsim.simulation import format_summary, simulate, write_outputs

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer (got {args.seed})")
    if args.years is not None and args.years < 1:
        raise UsageError(f"--years must be at least 1 (got {args.years})")
    check_out(args.out, "run", args.force)

    scenario = load_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed  # the CLI's default seed
    result = simulate(scenario, rng=seed, years=args.years)
    if not args.quiet:
        print(format_summary(result))
    if args.out:
        paths = write_outputs(result, args.out, scenario_file=args.scenario, force=args.force)
        if not args.quiet:
            print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def _scenario_argument(text: str) -> str | None:
    """A scenario path from the command line; 'default' (unless such a file exists)
    is the embedded default."""
    if text == "default" and not Path(text).exists():
        return None
    return text


def compare_command(args: argparse.Namespace) -> int:
    from landsim.batch import BatchError
    from landsim.evaluation import compare, format_comparison
    from landsim.scenario import load_scenario

    if args.replicates < 1:
        raise UsageError(f"--replicates must be at least 1 (got {args.replicates})")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer (got {args.seed})")
    if args.years is not None and args.years < 1:
        raise UsageError(f"--years must be at least 1 (got {args.years})")
    check_out(args.out, "comparison", args.force)

    scenario = load_scenario(_scenario_argument(args.scenario))
    counterfactual = load_scenario(_scenario_argument(args.against))

    check_backend_options(args)
    try:
        comparison = compare(
            scenario,
            counterfactual,
            replicates=args.replicates,
            seed=args.seed,
            years=args.years,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        print(format_comparison(comparison))
    if args.out:
        paths = comparison.write(args.out, force=args.force)
        if not args.quiet:
            print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def batch_command(args: argparse.Namespace) -> int:
    from landsim.batch import BatchError, format_report, run_batch
    from landsim.experiment import load_experiment

    check_backend_options(args)
    check_out(args.out, "batch", args.force, same_kind="caller")  # resume: the batch store
    experiment = load_experiment(args.experiment)
    report: list = []
    try:
        batch = run_batch(
            experiment,
            out=args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            chunk_size=args.chunk_size,
            resume=args.resume,
            force=args.force,
            progress=not args.quiet,
            report=report,
        )
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        if report:
            done = report[0].already_done + report[0].ok
            print(
                f"landsim: interrupted; {done} of {report[0].total} runs are saved in "
                f"{args.out}: continue with --resume",
                file=sys.stderr,
            )
        raise
    print(format_report(report[0], batch.runs, args.out))
    return 1 if len(batch.failures) else 0


def summarize_command(args: argparse.Namespace) -> int:
    from landsim.batch import BatchError
    from landsim.report import summarize_batch

    if not 0 < args.level < 1:
        raise UsageError(f"--level must be between 0 and 1 (got {args.level})")
    try:
        summary = summarize_batch(args.directory, level=args.level)
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    paths = summary.write()
    if not args.quiet:
        print(summary.format())
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def sensitivity_command(args: argparse.Namespace) -> int:
    import warnings

    from landsim.batch import BatchError
    from landsim.sensitivity import SensitivityAnalysis, SensitivityError, SensitivityWarning

    check_backend_options(args)
    out = Path(args.out)
    check_out(
        args.out,
        "sensitivity",
        args.force,
        resume=args.resume,
        hint="pass --resume to finish its runs and analyse again, --force to replace it, "
        "or choose another directory",
    )
    analysis = SensitivityAnalysis.from_file(args.experiment)
    try:
        analysis.sample().evaluate(
            out=out,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            resume=args.resume,
            force=args.force,
            progress=not args.quiet,
        )
        with warnings.catch_warnings():  # printed below: in the table, or on stderr
            warnings.simplefilter("ignore", SensitivityWarning)
            analysis.analyze()
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        print(
            f"landsim: interrupted; finished runs are saved in {out}: continue with --resume",
            file=sys.stderr,
        )
        raise
    except SensitivityError as exc:
        print(f"landsim: {exc}", file=sys.stderr)
        print(f"landsim: the runs are kept in {out / 'runs'}", file=sys.stderr)
        return 1
    paths = analysis.write(out)
    if not args.quiet:
        print(analysis.format())
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    else:
        for message in analysis.warnings_:
            print(f"landsim: warning: {message}", file=sys.stderr)
    return 0


def viz_command(args: argparse.Namespace) -> int:
    from landsim.scenario import load_scenario

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535 (got {args.port})")
    scenario_file = _scenario_argument(args.scenario) if args.scenario else None
    load_scenario(scenario_file)  # a bad scenario fails here, not in the browser
    try:
        from landsim.app import launch
    except ImportError as exc:
        raise UsageError(
            f"the browser view needs the 'viz' extra ({exc.name} is missing): "
            "pip install -e '.[viz]'"
        ) from None
    return launch(scenario_file, host=args.host, port=args.port)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings about the user's files as one line each, without the source line."""
    from landsim.batch import BatchWarning

    if issubclass(category, BatchWarning):
        print(f"landsim: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: list[str] | None = None) -> int:
    from landsim.outdir import OutputDirError
    from landsim.scenario import ScenarioError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except (ScenarioError, UsageError, OutputDirError) as exc:
        print(f"landsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("landsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
