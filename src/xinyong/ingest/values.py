"""What a value inside a submitted row may be, whatever the file format it came in.

Every row passes through :func:`clean_row` before any other check, so that the rest of
validation, the store and the ledger only ever see values every backend keeps exactly:
text without NUL, lone surrogates, noncharacters or control characters, integers that fit in
64 bits, finite numbers within ±2^63, and nesting no deeper than :data:`MAX_DEPTH`. A value that breaks
one of these rules refuses its row, with the path of the value and the rule.

Readers put :data:`UNDECODABLE` (a noncharacter, which text never holds) where a file's bytes
do not decode, so the row that held them is refused here and the rest of the file goes on.
"""

import math
import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

MAX_DEPTH = 16  # a record is an object of columns, ``fields`` one more; 16 leaves room
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
LARGEST = float(2**63)  # numbers are refused from here on, integers or not
UNDECODABLE = "\ufdd0"
SHOWN_CHARS = 40  # how much of a refused value a reason quotes

# Unicode's 66 noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
# Never in any text: NUL and the other C0 and C1 controls but tab, line feed and carriage
# return, DEL, surrogates, noncharacters, and the bidirectional embedding, override and
# isolate controls that make displayed text read differently from what is stored.
_NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
    + _NONCHARACTERS
    + "]"
)
# Names, codes and document numbers are one line of visible characters.
_LINE_BREAKING = re.compile("[\t\n\r\u2028\u2029]")
_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class RowInvalid(Exception):
    """A value no row may hold: ``field`` is its path in the row, ``reason`` says why."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def shown(value: object) -> str:
    """``value`` as a reason may quote it: short, and with everything invisible escaped."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "…"
    return _NOT_TEXT.sub(_escape, _LINE_BREAKING.sub(_escape, text))


def storable(text: str) -> str:
    """``text`` as the store can keep it on every backend (for rows kept as received)."""
    return _NOT_TEXT.sub(_escape, text).replace(UNDECODABLE, "\ufffd")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == UNDECODABLE:
        return "\ufffd"
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def _text_problem(text: str) -> str | None:
    if text.isprintable():  # every character refused below is unprintable; this runs in C
        return None
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    char = found.group()
    if char == UNDECODABLE:
        return "holds bytes that are not valid text in the file's encoding"
    if char == "\x00":
        return "holds a NUL character"
    if "\ud800" <= char <= "\udfff":
        return f"holds a lone surrogate (\\u{ord(char):04x}), which is not a character"
    return f"holds U+{ord(char):04X} ({_kind_of(char)}), which text may not hold"


def _kind_of(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cn":
        return "a noncharacter"
    if category == "Cf":
        return "a bidirectional control"
    return "a control character"


def check_name(field: str, text: str) -> None:
    """Refuse a name, code or document number that is not one line of visible characters."""
    problem = _name_problem(text)
    if problem is not None:
        raise RowInvalid(field, f"{field} {problem}")


def _name_problem(text: str) -> str | None:
    # Private-use and not yet assigned code points pass: rare characters of personal names
    # are written with them in systems older than their encoding.
    if text.isprintable():  # the usual case, in C
        return None
    for char in text:
        category = unicodedata.category(char)
        if category in _NOT_IN_NAMES:
            kind = "a format character" if category == "Cf" else "a control character"
            if category in ("Zl", "Zp") or char in "\t\n\r":
                kind = "a line break"
            return f"holds U+{ord(char):04X} ({kind}); write it on one line"
    return None


def clean_row(row: dict[str, Any], *, path: str = "", level: int = 1) -> None:
    """Refuse a row holding a value the store cannot keep exactly, or normalise it in place.

    ``path`` and ``level`` place ``row`` when it is part of a row (``fields`` read from text).
    Decimal numbers (from JSON arrays and Parquet) become floats, as JSON Lines gives them,
    and a negative zero becomes zero: every format then stores the same content. This runs
    on every value of every row, so the usual case (printable text, small numbers) is decided
    by one test in C and a path is spelt out only for a value that is refused.
    """
    stack: list[tuple[dict[str, Any] | list[Any], str, int]] = [(row, path, level)]
    while stack:
        container, where_from, depth = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        normalised: list[tuple[Any, float]] = []
        for key, value in pairs:
            if isinstance(key, str) and not key.isprintable():
                problem = _text_problem(key) or _name_problem(key)
                if problem is not None:
                    raise RowInvalid(where_from or None, f"the name '{shown(key)}' {problem}")
            kind = type(value)
            if kind is str:
                if not value.isprintable():
                    problem = _text_problem(value)
                    if problem is not None:
                        where = _where(where_from, key)
                        raise RowInvalid(where, f"{where} {problem}")
            elif kind is int:
                if not INT64_MIN <= value <= INT64_MAX:
                    where = _where(where_from, key)
                    raise RowInvalid(where, f"{where} {shown(value)} does not fit in 64 bits")
            elif kind is dict or kind is list:
                where = _where(where_from, key)
                if depth >= MAX_DEPTH:
                    raise RowInvalid(where, f"{where} is nested deeper than {MAX_DEPTH} levels")
                stack.append((value, where, depth + 1))
            elif kind is float or kind is Decimal:
                number = _finite(where_from, key, value)
                if number is not value:
                    normalised.append((key, number))
            elif not (value is None or kind is bool or isinstance(value, date)):
                where = _where(where_from, key)  # a date from a Parquet column passes
                raise RowInvalid(
                    where, f"{where} must be text, a number or a date, not {kind.__name__}"
                )
        for key, number in normalised:
            container[key] = number


def _where(where_from: str, key: object) -> str:
    if isinstance(key, int):
        return f"{where_from}[{key}]"
    return f"{where_from}.{key}" if where_from else str(key)


def _finite(where_from: str, key: object, value: float | Decimal) -> float:
    """``value`` as a float, refused unless finite and within 64 bits either way (a JSON
    integer too long for 64 bits reaches here as a float from some parsers)."""
    try:
        number = float(value)
    except (OverflowError, ValueError):
        number = math.inf
    if not abs(number) < LARGEST:  # also false for NaN
        where = _where(where_from, key)
        raise RowInvalid(where, f"{where} {shown(value)} is out of range (beyond ±2^63)")
    if number == 0 and math.copysign(1.0, number) < 0:
        return 0.0
    return number if isinstance(value, Decimal) else value
