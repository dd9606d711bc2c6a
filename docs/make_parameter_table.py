"""Generate the parameter table of docs/ODD.md from the default scenario.

Every parameter line of ``src/landsim/data/default.toml`` carries a trailing
comment ``unit | range LOW-HIGH | source``. This script reads the file line by
line, tracks the current ``[section]`` header, and turns each ``key = value  #
comment`` line into a table row: the dotted key path used in scenario files
(``farmers.discount_rate``, ``markets.cocoa.sigma``), the unit, the default as
written (inline tables shown compactly), the sensitivity range and the source.

Usage (standard library only)::

    python docs/make_parameter_table.py            # rewrite the table in docs/ODD.md
    python docs/make_parameter_table.py --print    # print the table instead
    python docs/make_parameter_table.py --check    # exit 1 if docs/ODD.md is stale

Only the text between ``<!-- parameter-table:start -->`` and
``<!-- parameter-table:end -->`` in docs/ODD.md is replaced.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOML = ROOT / "src" / "landsim" / "data" / "default.toml"
ODD_MD = ROOT / "docs" / "ODD.md"
START = "<!-- parameter-table:start -->"
END = "<!-- parameter-table:end -->"

COLUMNS = ("parameter", "unit", "default", "range", "source")
HEADERS = ("parameter", "unit", "default", "sensitivity range", "source")

_SECTION = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=\s*(.*)$")


def split_comment(text: str) -> tuple[str, str | None]:
    """Split ``text`` at the first ``#`` outside a quoted string.

    Returns ``(before, comment)`` with the comment without its ``#`` (or None).
    Handles basic strings (``"..."``, with backslash escapes) and literal strings
    (``'...'``), so a ``#`` inside either does not start the comment.
    """
    quote = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is None:
            if ch in "\"'":
                quote = ch
            elif ch == "#":
                return text[:i].rstrip(), text[i + 1 :].strip()
        elif ch == "\\" and quote == '"':
            i += 1  # skip the escaped character
        elif ch == quote:
            quote = None
        i += 1
    return text.rstrip(), None


def _dotted(path: str) -> list[str]:
    """Split a TOML key or table name into its parts (quotes removed)."""
    parts, current, quote = [], [], None
    for ch in path:
        if quote:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def compact(value: str) -> str:
    """The TOML value as written, with runs of blanks outside strings collapsed and
    inline tables / arrays shown as ``{dist = "uniform", low = 0.08, high = 0.25}``."""
    out, quote, i = [], None, 0
    while i < len(value):
        ch = value[i]
        if quote:
            out.append(ch)
            if ch == "\\" and quote == '"' and i + 1 < len(value):
                out.append(value[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        elif ch.isspace():
            if out and not out[-1].isspace():
                out.append(" ")
        else:
            out.append(ch)
        i += 1
    text = "".join(out).strip()
    text = re.sub(r"([\{\[]) ", r"\1", text)
    return re.sub(r" ([\}\]])", r"\1", text)


def _parse_comment(comment: str | None) -> dict[str, str]:
    """``unit | range LOW-HIGH | source`` as a dict (empty strings when absent)."""
    if comment is None:
        return {"unit": "", "range": "", "source": ""}
    parts = [p.strip() for p in comment.split("|", 2)]
    parts += [""] * (3 - len(parts))
    unit, rng, source = parts
    rng = re.sub(r"^range\s+", "", rng)
    return {"unit": unit, "range": rng, "source": source}


def _leaves(data: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the values of parsed TOML (inline tables with a ``dist`` key
    count as one value, as they are one parameter)."""
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and "dist" not in value:
            out += _leaves(value, path + ".")
        else:
            out.append(path)
    return out


def parameter_rows(toml_path: str | Path = DEFAULT_TOML) -> list[dict]:
    """One dict per ``key = value`` line of ``toml_path``, in file order.

    Keys of each dict: ``parameter`` (dotted key path), ``unit``, ``default`` (the
    value as written, compacted), ``range`` (sensitivity range, without the word
    "range"; ``-`` when none), ``source`` (a reference, or "assumption", as written
    in the comment), ``line`` (1-based line number). A line without a comment gets
    empty ``unit``, ``range`` and ``source``, so callers can flag it.

    Raises
    ------
    ValueError
        If a value spans several lines or the line parse disagrees with ``tomllib``
        (the table would then be wrong), naming the line.
    """
    path = Path(toml_path)
    text = path.read_text(encoding="utf-8")
    section: list[str] = []
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _SECTION.match(raw)
        if match and not stripped.startswith("[["):
            section = _dotted(match.group(1))
            continue
        match = _KEY.match(raw)
        if not match:
            raise ValueError(f"{path}:{number}: cannot parse line: {raw!r}")
        value, comment = split_comment(match.group(2))
        try:
            tomllib.loads(f"x = {value}")
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(
                f"{path}:{number}: value {value!r} is not a complete one-line TOML value ({exc})"
            ) from None
        key = ".".join([*section, *_dotted(match.group(1))])
        rows.append(
            {"parameter": key, "default": compact(value), "line": number} | _parse_comment(comment)
        )

    expected = _leaves(tomllib.loads(text))
    found = [r["parameter"] for r in rows]
    if sorted(expected) != sorted(found):
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        raise ValueError(
            f"{path}: line parse disagrees with tomllib: missing {missing}, unexpected {extra}"
        )
    return rows


def _cell(text: str, code: bool = False) -> str:
    text = text.replace("|", "\\|")
    if code and text:
        return f"`{text}`"
    return text or "-"


def markdown_table(rows: list[dict]) -> str:
    """The rows as a GitHub-flavoured Markdown table."""
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    for row in rows:
        cells = [
            _cell(row["parameter"], code=True),
            _cell(row["unit"]),
            _cell(row["default"], code=True),
            _cell(row["range"]),
            _cell(row["source"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace_between_markers(document: str, table: str) -> str:
    """``document`` with the text between the markers replaced by ``table``."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"markers {START} ... {END} not found (in that order)")
    head = document[: start + len(START)]
    return f"{head}\n{table}\n{document[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toml", type=Path, default=DEFAULT_TOML, help="scenario file")
    parser.add_argument("--odd", type=Path, default=ODD_MD, help="document to update")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--print", action="store_true", help="print the table, change nothing")
    mode.add_argument("--check", action="store_true", help="exit 1 if the document is stale")
    args = parser.parse_args(argv)

    rows = parameter_rows(args.toml)
    undocumented = [r["parameter"] for r in rows if not r["unit"] or not r["source"]]
    if undocumented:
        print(f"warning: no unit or source for {', '.join(undocumented)}", file=sys.stderr)
    table = markdown_table(rows)
    if args.print:
        print(table)
        return 0
    document = args.odd.read_text(encoding="utf-8")
    updated = replace_between_markers(document, table)
    if args.check:
        if updated != document:
            print(
                f"{args.odd} is out of date: run python docs/make_parameter_table.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if updated != document:
        args.odd.write_text(updated, encoding="utf-8")
    print(f"{args.odd}: {len(rows)} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
