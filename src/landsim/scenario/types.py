"""The value types of scenario keys and the limits on files and values.

Numbers are finite and are numbers (not booleans or strings); names and texts
have bounded length.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

DEFAULT_NAME = "default"

#: Largest scenario (or experiment) file read, in bytes.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Deepest nesting of tables and arrays in a file (the schema needs 4).
MAX_DEPTH = 16
#: Longest ``extends`` chain, counting the file itself.
MAX_EXTENDS = 32
#: Longest scenario or programme name (characters).
MAX_NAME_CHARS = 100
#: Longest description and file path (characters).
MAX_TEXT_CHARS = 4096
#: Largest landscape side (cells), for the generator and landscape files alike.
MAX_GRID_SIDE = 20000
#: Largest seed (seeds are 0 to 2**63 - 1, so that they fit a 64-bit integer).
MAX_SEED = 2**63 - 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- value types


def _numeric(kind: str):
    """Refuse booleans and strings where a number is expected (pydantic would
    otherwise read ``true`` as 1 and ``"2"`` as 2)."""

    def check(value: Any) -> Any:
        if type(value) is float or type(value) is int:  # the common case, first
            return value
        if isinstance(value, bool | np.bool_):
            raise ValueError(f"must be {kind}, not a boolean")
        if isinstance(value, str | bytes):
            raise ValueError(f"must be {kind}, not a string")
        return value

    return BeforeValidator(check)


def _text(limit: int, what: str):
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"{what} is {len(value)} characters long; the limit is {limit}")
        bad = next((c for c in value if not c.isprintable() and c not in "\n\t"), None)
        if bad is not None:
            raise ValueError(
                f"{what} contains the control character U+{ord(bad):04X}; "
                "only printable characters are allowed"
            )
        return value

    return AfterValidator(check)


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if "\n" in value or "\t" in value:
        raise ValueError("must be one line (no newline or tab)")
    return value


Real = Annotated[float, _numeric("a number")]
Integer = Annotated[int, _numeric("an integer")]
Share = Annotated[Real, Field(ge=0, le=1)]
Positive = Annotated[Real, Field(gt=0)]
NonNegative = Annotated[Real, Field(ge=0)]
Name = Annotated[str, _text(MAX_NAME_CHARS, "name"), AfterValidator(_name)]
Text = Annotated[str, _text(MAX_TEXT_CHARS, "text")]
Flag = Annotated[bool, Field(strict=True)]  # true or false, not 1 or "yes"
