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
