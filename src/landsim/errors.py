"""User-facing errors, and the one translator of pydantic's validation errors into
them.

Every file a user writes (scenario, experiment, sensitivity definition) is
validated by a pydantic model; :func:`problems_from` turns what pydantic reports
into ``(key path, message)`` pairs in the file's own vocabulary (dotted keys,
quoted where a key itself holds dots), with the allowed keys for an unknown key
(:func:`keys_at`, from the schema) and the value given for a wrong one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

if TYPE_CHECKING:  # pydantic is imported where errors are translated, not at start-up
    from pydantic import BaseModel, ValidationError

#: How long a value given may be when a message repeats it (characters).
MAX_GOT_CHARS = 80


class ScenarioError(ValueError):
    """A scenario (or landscape, experiment or sensitivity) file a user gave is not
    valid.

    Parameters
    ----------
    source : str
        The file (or ``"<dict>"``) the problem is in.
    problems : list of (str, str)
        ``(key path, message)`` pairs.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {key}: {msg}" if key else f"{source}: {msg}" for key, msg in problems]
        super().__init__("\n".join(lines))


def _candidates(annotation: Any) -> list[Any]:
    """What a field may hold: models, ``("list", item)`` and ``("dict", value)``
    markers, looking through unions, ``Optional`` and ``Annotated``."""
    from pydantic import BaseModel

    out: list[Any] = []
    stack = [annotation]
    while stack:
        tp = stack.pop()
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out.append(tp)
        elif origin is list:
            out.append(("list", get_args(tp)[0]))
        elif origin is dict:
            out.append(("dict", get_args(tp)[1]))
        elif origin is Annotated:
            stack.append(get_args(tp)[0])
        elif get_args(tp):
            stack.extend(get_args(tp))
    return out


def _tags(model: type[BaseModel]) -> tuple:
    """The values of a model's discriminator field ``dist`` (a Literal), if any."""
    field = model.model_fields.get("dist")
    return get_args(field.annotation) if field is not None else ()


def keys_at(root: type[BaseModel], loc) -> list[str]:
    """The keys the schema ``root`` allows in the table at ``loc`` (a sequence of
    keys as pydantic or a dotted path gives them: a number or digit string steps
    into a list, any key into a dict, a distribution tag selects its model).
    Empty where ``loc`` names no table."""
    models: list[Any] = [root]
    for key in loc:
        found: list[Any] = []
        for model in models:
            if isinstance(model, tuple):
                kind, inner = model
                if kind == "dict" or (isinstance(key, int) or str(key).isdigit()):
                    found.extend(_candidates(inner))
            elif key in model.model_fields:
                found.extend(_candidates(model.model_fields[key].annotation))
            elif key in _tags(model):
                found.append(model)
        models = found
    keys: dict[str, None] = {}
    for model in models:
        if not isinstance(model, tuple):
            keys |= dict.fromkeys(model.model_fields)
    return list(keys)


def problems_from(
    exc: ValidationError,
    root: type[BaseModel],
    *,
    quote_after: tuple[str, ...] = ("grid", "factors"),
    hidden: frozenset = frozenset(),
) -> list[tuple[str, str]]:
    """``(key path, message)`` pairs for what pydantic found wrong in data
    validated by ``root``.

    Parameters
    ----------
    quote_after : tuple of str
        Tables whose keys are dotted scenario keys: the key after one of them is
        quoted (``grid."markets.cocoa.mean"``).
    hidden : set of str
        Path elements that are not keys of the file (distribution tags such as
        ``"uniform"``): left out of the printed path, used to find allowed keys.
    """
    from pydantic import BaseModel

    problems = []
    for err in exc.errors():
        # Leave out pydantic's own labels of union members ("function-after[...]").
        raw = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        if raw[-2:] == ["constant", "value"]:
            raw = raw[:-1]  # a plain number: name the key, not its ".value"
        parts = [str(p) for p in raw if p not in hidden]
        for i, part in enumerate(parts[:-1]):
            if part in quote_after:
                parts[i + 1] = f'"{parts[i + 1]}"'
                break
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = keys_at(root, raw[:-1])
            msg = "unknown key" + ("; allowed keys: " + ", ".join(allowed) if allowed else "")
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "out_of_range":
            pass  # the message says what was given
        elif "input" in err and not isinstance(err["input"], dict | BaseModel):
            got = repr(err["input"])
            if len(got) > MAX_GOT_CHARS:
                got = got[: MAX_GOT_CHARS - 3] + "..."
            msg += f" (got {got})"
        problems.append((".".join(parts), msg))
    return problems


class UsageError(Exception):
    """A mistake in how a command was called (a flag's value, a port in use),
    reported without a traceback (exit code 2)."""


def validate_file_data(model: type[BaseModel], data: dict, source: str, **options):
    """``model.model_validate(data)``, with a validation error translated into a
    :class:`ScenarioError` naming ``source``, the key and what is allowed
    (``options`` go to :func:`problems_from`)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from(exc, model, **options)) from None
