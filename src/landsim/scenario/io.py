"""Reading scenarios: TOML files (regular UTF-8 files, bounded in size and depth),
``extends`` chains, the embedded default, dotted-key overrides, and the
translation of validation errors (:mod:`landsim.errors`).
"""

from __future__ import annotations

import copy
import stat
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from landsim.errors import ScenarioError, keys_at, validate_file_data
from landsim.scenario.distributions import Constant, LogNormal, Normal, Uniform
from landsim.scenario.roads import road_problems
from landsim.scenario.schema import Scenario
from landsim.scenario.types import (
    DEFAULT_NAME,
    MAX_DEPTH,
    MAX_EXTENDS,
    MAX_FILE_BYTES,
    MAX_TEXT_CHARS,
)

# --------------------------------------------------------------------------- loading


def _read_default() -> dict:
    text = resources.files("landsim.data").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _deep_merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_path(data: dict, path: str, value: Any, source: str) -> None:
    """Set a dotted key path; a number steps into a list (``programmes.0.budget_usd``)."""
    keys = path.split(".")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                where = ".".join(keys[:i]) or path
                raise ScenarioError(
                    source,
                    [
                        (
                            ".".join(keys[: i + 1]),
                            f"no item {key} in {where} (items 0-{len(node) - 1})"
                            if len(node)
                            else f"{where} is empty",
                        )
                    ],
                )
            key = int(key)
        elif not isinstance(node, dict):
            where = ".".join(keys[:i])
            allowed = keys_at(Scenario, where.split(".") if where else [])
            if node is None and allowed:
                msg = (
                    f"{where} is not set in this scenario; override {where} with a whole "
                    f"table (keys: {', '.join(allowed)})"
                )
                if key not in allowed:
                    msg = f"unknown key; allowed keys: {', '.join(allowed)} ({msg})"
            else:
                msg = f"unknown key: {where} is a value, not a table"
            raise ScenarioError(source, [(".".join(keys[: i + 1]), msg)])
        elif key not in node:
            allowed = "; allowed keys: " + ", ".join(node) if node else ""
            raise ScenarioError(source, [(".".join(keys[: i + 1]), "unknown key" + allowed)])
        if last:
            node[key] = value
        else:
            node = node[key]


_MISSING = object()


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted key path of plain data (a number steps into a list),
    or ``default`` where a key or table is absent."""
    node: Any = data
    for key in path.split("."):
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return default
    return node


def set_table_path(data: dict, path: str, value: Any) -> None:
    """Set a dotted key path of plain data (a number steps into a list), creating
    absent tables on the way (for building a section; :meth:`Scenario.with_overrides`
    validates)."""
    *tables, last = path.split(".")
    node: Any = data
    for key in tables:
        if isinstance(node, list):
            node = node[int(key)]
            continue
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[last] = value


def has_path(scenario: Scenario, path: str) -> bool:
    """Whether a dotted key path names a value of ``scenario``."""
    return get_path(scenario.to_dict(), path, _MISSING) is not _MISSING


def is_scenario_key(path: str) -> bool:
    """Whether a dotted key path names a key of the scenario schema, in some
    scenario: a number steps into a list (``programmes.0.name``) and a name after
    a list names a key of its items (``programmes.obligations``, as in a TOML
    table header); optional sections count, and a distribution key
    (``farmers.discount_rate.low``) counts if some distribution has it."""
    models: list[Any] = [Scenario]
    for key in path.split("."):
        found: list[Any] = []
        for model in models:
            if isinstance(model, _ListOf):
                if key.isdigit():
                    found.extend(model.items)
                    continue
                candidates = [m for m in model.items if hasattr(m, "model_fields")]
            else:
                candidates = [model]
            for candidate in candidates:
                fields = getattr(candidate, "model_fields", {})
                if key in fields:
                    found.extend(_field_models(fields[key].annotation))
        if not found:
            return False
        models = found
    return True


class _ListOf:
    """A list field's item types, for :func:`is_scenario_key`."""

    def __init__(self, items: list[Any]):
        self.items = items


def _field_models(annotation: Any) -> list[Any]:
    """The models a field may hold (a :class:`_ListOf` for a list, ``None`` for a
    plain value), looking through unions and ``Annotated``."""
    out: list[Any] = []
    stack = [annotation]
    while stack:
        tp = stack.pop()
        if hasattr(tp, "model_fields"):
            out.append(tp)
        elif getattr(tp, "__origin__", None) is list:
            out.append(_ListOf(_field_models(get_args(tp)[0])))
        elif get_origin(tp) is Annotated:
            stack.append(get_args(tp)[0])
        elif get_args(tp):
            stack.extend(get_args(tp))
        else:
            out.append(None)
    return out


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a scenario file, or None. Only regular files
    of at most MAX_FILE_BYTES are read (not devices such as /dev/zero, FIFOs or
    sockets, which could block or never end)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "file not found"
    except PermissionError:
        return "permission denied"
    except (OSError, ValueError) as exc:  # e.g. a NUL byte or a name too long
        return f"cannot read this file: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, expected a .toml file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, FIFO or socket); give a .toml file"
    if info.st_size > MAX_FILE_BYTES:
        return f"is {info.st_size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}"
    return None


def read_toml(path: Path) -> dict:
    """Read a TOML file: a regular UTF-8 file (a UTF-8 byte-order mark is allowed)
    of at most MAX_FILE_BYTES, nested at most MAX_DEPTH deep. Anything else (a
    missing file, a directory, a device, another encoding, bad TOML) is a
    ScenarioError naming the file."""
    path = Path(path)
    src = str(path)
    problem = _file_problem(path)
    if problem is None:
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            problem = f"cannot read this file: {exc.strerror or exc}"
        else:
            if len(raw) > MAX_FILE_BYTES:
                problem = f"is larger than the limit of {MAX_FILE_BYTES:,} bytes"
    if problem is not None:
        raise ScenarioError(src, [("", problem)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = ""
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = " (it looks like UTF-16)"
        raise ScenarioError(
            src,
            [
                (
                    "",
                    f"not UTF-8 text{hint}: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                    "cannot be decoded; TOML files must be saved as UTF-8",
                )
            ],
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(src, [("", f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise ScenarioError(
            src, [("", f"tables or arrays nested more than {MAX_DEPTH} deep")]
        ) from None
    _check_depth(data, src)
    return data


def _check_depth(data: dict, source: str) -> None:
    """Refuse tables and arrays nested more than MAX_DEPTH deep (without recursing)."""
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        node, keys = stack.pop()
        if len(keys) > MAX_DEPTH:
            key = ".".join(keys[:MAX_DEPTH]) + ".…"
            raise ScenarioError(
                source, [(key, f"tables or arrays nested more than {MAX_DEPTH} deep")]
            )
        if isinstance(node, dict):
            stack.extend((v, [*keys, str(k)]) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, [*keys, str(i)]) for i, v in enumerate(node))


def _resolve(path: Path, source: str, key: str = "") -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ScenarioError(source, [(key, f"cannot read {str(path)!r}: {exc}")]) from None


def _read_with_extends(path: Path) -> dict:
    """Read a file and the chain of files it ``extends`` (at most MAX_EXTENDS)."""
    chain: list[Path] = []
    layers: list[dict] = []
    current = _resolve(path, str(path))
    while True:
        if current in chain:
            cycle = " -> ".join(str(p) for p in (*chain, current))
            raise ScenarioError(str(current), [("extends", f"circular extends: {cycle}")])
        if len(chain) == MAX_EXTENDS:
            raise ScenarioError(
                str(chain[0]),
                [("extends", f"the extends chain is longer than {MAX_EXTENDS} files")],
            )
        chain.append(current)
        data = read_toml(current)
        _resolve_relative_paths(data, current.parent)
        parent = data.pop("extends", None)
        layers.append(data)
        if parent is None or parent == DEFAULT_NAME:
            break
        if not isinstance(parent, str) or not parent:
            raise ScenarioError(str(current), [("extends", "must be a file name (string)")])
        if "\0" in parent or len(parent) > MAX_TEXT_CHARS:
            raise ScenarioError(str(current), [("extends", "is not a valid file name")])
        current = _resolve(current.parent / parent, str(current), "extends")
    merged = layers.pop()
    while layers:
        merged = _deep_merge(merged, layers.pop())
    return merged


def _resolve_relative_paths(data: dict, base: Path) -> None:
    """Make a landscape file named in a scenario relative to that scenario file."""
    landscape = data.get("landscape")
    if isinstance(landscape, dict):
        source = landscape.get("source")
        if isinstance(source, str) and source != "synthetic" and not Path(source).is_absolute():
            landscape["source"] = str(base / source)


def resolve_scenario(scenario: Scenario | str | Path | None) -> Scenario:
    """A :class:`Scenario` from a scenario object, a TOML path, or None (default)."""
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario)


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario file (``None``: the embedded default).

    Raises
    ------
    ScenarioError
        With the file, the key path and what is allowed, for any invalid input.
    """
    if path is None:
        return _validate(_read_default(), "<embedded default>")
    path = Path(path)
    data = _read_with_extends(path)
    merged = _deep_merge(_read_default(), data)
    scenario = _validate(merged, str(path))
    return scenario


_DISTRIBUTIONS = {
    "constant": Constant,
    "uniform": Uniform,
    "normal": Normal,
    "lognormal": LogNormal,
}
_TAGS = set(_DISTRIBUTIONS)


def _validate(data: dict, source: str) -> Scenario:
    scenario = validate_file_data(Scenario, data, source, quote_after=(), hidden=frozenset(_TAGS))
    scenario._source = source
    params = scenario.landscape  # a file's extent is checked when the model reads it
    shape = (params.height, params.width) if params.source == "synthetic" else None
    problems = road_problems(scenario.roads, scenario.years, shape, params.cell_size_ha)
    if problems:
        raise ScenarioError(source, problems)
    return scenario
