"""The ``landsim`` command line.

``landsim run [SCENARIO] [--out DIR] [--seed N]`` runs a scenario (the embedded
default when none is given), prints a summary table and, with ``--out``, writes
the yearly table (CSV, Parquet), the final rasters (.npz) and a manifest.

Exit codes: 0 success; 2 a user mistake (bad scenario, bad option, output
directory already holding results); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    return parser


class UsageError(Exception):
    """A user mistake, reported without a traceback (exit code 2)."""


def run_command(args: argparse.Namespace) -> int:
    from landsim.scenario import load_scenario
    from landsim.simulation import OUTPUT_FILES, format_summary, simulate, write_outputs

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer (got {args.seed})")
    if args.years is not None and args.years < 1:
        raise UsageError(f"--years must be at least 1 (got {args.years})")
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a directory")
        existing = [name for name in OUTPUT_FILES if (out / name).exists()]
        if existing and not args.force:
            raise UsageError(
                f"--out {out}: already holds results ({', '.join(existing)}); "
                "choose another directory or pass --force to overwrite them"
            )

    scenario = load_scenario(args.scenario)
    result = simulate(scenario, rng=args.seed, years=args.years)
    if not args.quiet:
        print(format_summary(result))
    if args.out:
        paths = write_outputs(result, args.out, scenario_file=args.scenario)
        if not args.quiet:
            print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from landsim.scenario import ScenarioError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ScenarioError, UsageError) as exc:
        print(f"landsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("landsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
