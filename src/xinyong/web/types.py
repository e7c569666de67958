"""What every field a client sends may hold: the shared types of request models and parameters.

A field accepts only what its type means. Text carries no control characters (NUL breaks
PostgreSQL, others hide text in logs and exports), never a lone surrogate (pydantic refuses
those while parsing), and has a length; a line of text has no line breaks. An identifier
number is a positive integer that fits the store's id columns, written in ASCII digits (``²`` is a digit to Python's
``str.isdigit`` but not a number here). An amount is finite and fits the store's
``Numeric(18, 2)``. A free-form JSON object (the ``fields`` of a record) is bounded in depth
and its numbers in size, so no request can make the server recurse or overflow.

The bounds sit in the OpenAPI document too (``pattern``, ``maximum`` ...), so a client can
check its input before sending it. A text's pattern stands there in an ``allOf`` of its own,
beside its ``maxLength`` (``PatternApart``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from xinyong.web.patterns import CODE_PATTERN, DIGITS_PATTERN, LINE_PATTERN, TEXT_PATTERN

MAX_ID = 2**31 - 1
"""The largest row id: ids are INTEGER columns, 32 bits on PostgreSQL."""
MAX_INT64 = 2**63 - 1
"""The largest integer a JSON value may hold (64 bits, as SQLite and PostgreSQL store them)."""
MAX_AMOUNT = 10**16 - 1
"""The largest amount ``Numeric(18, 2)`` holds, in whole units."""
MAX_JSON_DEPTH = 8
"""How deep a free-form JSON object may nest (a record's fields are flat in every pack)."""
MAX_JSON_ITEMS = 1000
"""How many values a free-form JSON object may hold in all."""

MESSAGES = {
    LINE_PATTERN: "control characters (NUL, line breaks, tabs ...) and bidirectional overrides are not allowed here",
    TEXT_PATTERN: "control characters (NUL and the like) and bidirectional overrides are not allowed; line breaks are",
    DIGITS_PATTERN: "only the ASCII digits 0-9",
    CODE_PATTERN: "a code: ASCII letters, digits, '_', '.', ':' and '-'",
}
"""Plain words for each pattern, used in place of the regular expression in error messages."""

MAX_TEXT = 20_000
_TEXT = re.compile(TEXT_PATTERN)


class PatternApart:
    """Writes a string's ``pattern`` in the JSON schema as ``allOf: [{pattern}]``, apart from its
    ``minLength`` and ``maxLength``: the same contract (a value must meet both), which pydantic
    validates as before. Request generators (schemathesis) fold lengths that stand beside a
    pattern into it as a bounded repeat (``^[^...]{0,20000}$``), which a regular expression
    engine compiles into an automaton of that many states: seconds for each schema a client
    or a fuzzer builds, for a bound a length check states for nothing."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        pattern = schema.pop("pattern", None)
        if pattern is not None:
            schema["allOf"] = [*schema.get("allOf", []), {"pattern": pattern}]
        return schema


_APART = PatternApart()

Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=500), _APART]
"""One line of text: a name, a purpose, a reference."""
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN, max_length=MAX_TEXT), _APART]
"""Text that may run over several lines: grounds, reasons, statements."""
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, min_length=1, max_length=100), _APART]
"""A code of the policy pack: a record type, an action, an authority, a list, a section."""
SubjectRef = Annotated[Line, StringConstraints(min_length=1, max_length=64)]
"""A subject as people write it: a USCC or resident identity number (separators and case are
ignored), or a subject number from the portal."""
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""The id of a stored row (case, entry, record ...)."""
Ordinal = Annotated[int, Field(ge=1, le=10_000)]
"""A position counted from 1 within something small (the n-th evidence file of a case)."""
Amount = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
"""A sum of money in yuan."""


def _record_ref(value: str) -> str:
    # A reference made only of digits is a record id; anything else is a document key.
    if value.isdigit() and not (value.isascii() and int(value) <= MAX_ID):
        raise ValueError(f"a record id is at most {MAX_ID} in ASCII digits")
    return value


RecordRef = Annotated[
    Line, StringConstraints(min_length=1, max_length=300), AfterValidator(_record_ref)
]
"""A record of the caller's file: its id (ASCII digits), or its document key
``authority|record type|document number``."""


def _bounded(value: Any, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"at most {MAX_JSON_ITEMS} values in all")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -MAX_INT64 - 1 <= value <= MAX_INT64:
            raise ValueError("integers must fit in 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
    elif isinstance(value, str):
        _clean_text(value)
    elif isinstance(value, dict | list):
        if depth >= MAX_JSON_DEPTH:
            raise ValueError(f"nested at most {MAX_JSON_DEPTH} deep")
        if isinstance(value, dict):
            for key in value:
                _clean_text(key)
        for item in value.values() if isinstance(value, dict) else value:
            _bounded(item, depth + 1, budget)


def _clean_text(value: str) -> None:
    if len(value) > MAX_TEXT or not _TEXT.match(value):
        raise ValueError(f"texts hold at most {MAX_TEXT:,} characters, no control characters")


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _bounded(value, 0, [MAX_JSON_ITEMS])
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
"""A free-form JSON object: nested at most 8 deep, 1,000 values, 64-bit integers, finite
numbers, clean texts."""


def explain(error: dict[str, Any]) -> str:
    """The message of one pydantic error, with a pattern told in words."""
    pattern = (error.get("ctx") or {}).get("pattern")
    if error.get("type") == "string_pattern_mismatch" and pattern in MESSAGES:
        return MESSAGES[pattern]
    return str(error.get("msg", "invalid"))
