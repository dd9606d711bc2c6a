"""What each ``landsim`` subcommand does, after checking its options: each
handler takes the parsed arguments and returns the exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from landsim.errors import UsageError


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
