"""Named sections of docs/performance.md that several benchmark scripts share.

Each script owns the text between ``<!-- section:NAME:start -->`` and
``<!-- section:NAME:end -->`` and rewrites only that; ``benchmarks/run.py``, which
regenerates the whole page, carries every such section over unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

PATTERN = re.compile(
    r"<!-- section:(?P<name>[\w-]+):start -->\n.*?<!-- section:(?P=name):end -->\n?", re.S
)


def block(name: str, body: str) -> str:
    return f"<!-- section:{name}:start -->\n{body.rstrip()}\n<!-- section:{name}:end -->\n"


def replace_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` into section ``name`` of ``path`` (appended if it is new)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new = block(name, body)
    for match in PATTERN.finditer(text):
        if match.group("name") == name:
            text = text[: match.start()] + new + text[match.end() :]
            break
    else:
        text = text.rstrip("\n") + "\n\n" + new
    path.write_text(text, encoding="utf-8")


def carry_sections(old_text: str, new_text: str) -> str:
    """Append to ``new_text`` the named sections of ``old_text`` it lacks."""
    have = {m.group("name") for m in PATTERN.finditer(new_text)}
    kept = [m.group(0) for m in PATTERN.finditer(old_text) if m.group("name") not in have]
    if not kept:
        return new_text
    return new_text.rstrip("\n") + "\n\n" + "\n".join(k.rstrip("\n") + "\n" for k in kept)


def run_section_script(
    script: str,
    doc: Path,
    section: str,
    default_seeds: int,
    quick_seeds: int,
    measure,
    render,
    description: str,
    argv: list[str] | None = None,
) -> None:
    """The command line of a script that measures settings over replicates and
    writes one section of ``doc``: ``--seeds``, ``--quick``, ``--no-write`` and
    ``--output``; ``measure(seeds)`` gives the rows and ``render(rows, seeds,
    seconds, command)`` the section's text, which is printed and written."""
    import argparse
    import sys
    import time

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--seeds", type=int, default=None, help=f"replicates (default {default_seeds})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{quick_seeds} replicates")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--output", type=Path, default=doc, help="file to write the section to")
    args = parser.parse_args(argv)
    seeds = args.seeds or (quick_seeds if args.quick else default_seeds)
    given = argv if argv is not None else sys.argv[1:]
    command = f"python benchmarks/{script}" + "".join(f" {a}" for a in given)
    started = time.perf_counter()
    rows = measure(seeds)
    text = render(rows, seeds, time.perf_counter() - started, command)
    print(text)
    if not args.no_write:
        replace_section(args.output, section, text)
        print(f"wrote {args.output}")
