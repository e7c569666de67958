"""Resident identity number (公民身份号码), GB 11643-1999.

Eighteen characters: a 6-digit address (region) code, the birth date as YYYYMMDD, a 3-digit
sequence code (odd for men, even for women) and a check character per ISO 7064 MOD 11-2:
weights 2^(18-i) mod 11 (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2), remainder 0-10 of the weighted
sum written as ``1 0 X 9 8 7 6 5 4 3 2``.

Every weight is nonzero mod the prime 11, so any single-digit substitution is detected, and
neighbouring weights differ (w_i = 2 w_(i+1)), so every transposition of two different
adjacent characters is detected (the check character counts with weight 1). 2 has order 10
mod 11: positions ten apart share a weight (position 8 and the check character too), and
swapping them goes unnoticed.
"""

import calendar
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any, Literal, NamedTuple

__all__ = [
    "CHECK_CHARACTERS",
    "EARLIEST_BIRTH_YEAR",
    "Findings",
    "Sex",
    "check_character",
    "examine",
    "has_shape",
    "invalid_positions",
    "is_valid",
    "make",
    "mask",
]

Sex = Literal["male", "female"]

# Indexed by the weighted sum mod 11.
CHECK_CHARACTERS = "10X98765432"
# No holder of a GB 11643-1999 number was born before 1800: an earlier year is a typing error.
EARLIEST_BIRTH_YEAR = 1800
_CHECK_SET = frozenset(CHECK_CHARACTERS)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class Findings(NamedTuple):
    """What examining a normalised resident identity number found, with its decoded parts."""

    errors: tuple[str, ...]
    suspect: bool
    region_code: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None


def _check(body17: str) -> str:
    # The weights are 2^(18-i) mod 11 and 13 = 2 (mod 11), so the base-13 reading of the 17
    # digits is the sum of d_i * 2^(17-i) mod 11, and twice it is the weighted sum mod 11.
    return CHECK_CHARACTERS[2 * int(body17, 13) % 11]


def _is_digits(text: str) -> bool:
    # str.isdigit alone would accept other scripts' digits, which int() would then read.
    return text.isascii() and text.isdigit()


def check_character(body17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    if len(body17) != 17 or not _is_digits(body17):
        raise ValueError(f"a resident identity number body is 17 digits, got {body17!r}")
    return _check(body17)


def has_shape(code: str) -> bool:
    """Whether ``code`` is 17 digits and a digit or X, the shape of a resident identity number."""
    return len(code) == 18 and _is_digits(code[:17]) and code[17] in _CHECK_SET


def is_valid(code: str, today: date) -> bool:
    """``not examine(code, today).errors``, without building the findings: for hot paths
    (the decision service, a relying party's mirror) where almost every number is valid."""
    if len(code) != 18 or not code.isascii():
        return False
    body = code[:17]
    if not body.isdigit() or _check(body) != code[17]:
        return False
    # The birth date compared as text (YYYYMMDD sorts as the days do), without a date object.
    month_day = code[10:14]
    if month_day not in _MONTH_DAYS:
        return False
    year = code[6:10]
    if month_day == "0229" and not calendar.isleap(int(year)):
        return False
    return year >= _EARLIEST_YEAR and code[6:14] <= _day_text(today)


_ONE_BY_ONE = 32
"""Below this many numbers, setting up the arrays costs more than it saves."""


def invalid_positions(codes: Sequence[str], today: date) -> list[int]:
    """The positions in ``codes`` where ``is_valid(code, today)`` is false, in order.

    For a batch of checks (a flight's passengers, a relying party's nightly run): the check
    character and the birth date of every number are computed over one array at once, so the
    cost per number is a small fraction of ``is_valid``'s. numpy is imported on the first
    call, not with this module, which the light mirror library imports.
    """
    count = len(codes)
    # One line per number: every number is 18 characters without a line break exactly when
    # there are as many breaks as numbers and each ends a line of 19.
    lines = "\n".join(codes) + "\n"
    if (
        count < _ONE_BY_ONE
        or len(lines) != 19 * count
        or not lines.isascii()
        or lines.count("\n") != count
    ):
        return [n for n, code in enumerate(codes) if not is_valid(code, today)]
    import numpy as np

    weights, places, check_bytes, month_days = _tables()
    characters = np.frombuffer(lines.encode("ascii"), np.uint8).reshape(count, 19)
    if not (characters[:, 18] == 10).all():
        return [n for n, code in enumerate(codes) if not is_valid(code, today)]
    # Below "0" wraps around to more than 9 in uint8: one comparison finds every non-digit,
    # over the whole array first since nearly every number is all digits.
    body = characters[:, :17] - np.uint8(48)
    good = np.full(count, True) if body.max() <= 9 else (body <= 9).all(axis=1)
    # Sums of at most 17 products of small integers: exact in float64, whose products
    # numpy computes much faster than integer ones.
    numbers = body.astype(np.float64)
    remainders = (numbers @ weights % 11).astype(np.intp)
    good &= check_bytes[remainders] == characters[:, 17]
    year = (numbers[:, 6:10] @ places).astype(np.int64)
    month_day = np.where(good, numbers[:, 10:14] @ places, 0).astype(np.intp)
    good &= month_days[month_day]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    good &= (month_day != 229) | leap
    good &= year >= EARLIEST_BIRTH_YEAR
    good &= year * 10_000 + month_day <= int(_day_text(today))
    return [int(n) for n in np.flatnonzero(~good)]


_MONTH_DAYS = frozenset(
    f"{month:02d}{day:02d}"
    for month in range(1, 13)
    for day in range(1, _DAYS_IN_MONTH[month] + (2 if month == 2 else 1))
)
"""Every month and day a year can have (29 February included) as MMDD."""
_EARLIEST_YEAR = f"{EARLIEST_BIRTH_YEAR:04d}"


@cache
def _tables() -> tuple[Any, Any, Any, Any]:
    """The weights, the decimal places of four digits, the check character (as a byte) by
    remainder, and which MMDD numbers a year can have, as numpy arrays."""
    import numpy as np

    weights = np.array([pow(2, 17 - position, 11) for position in range(17)], np.float64)
    places = np.array([1000, 100, 10, 1], np.float64)
    check_bytes = np.frombuffer(CHECK_CHARACTERS.encode("ascii"), np.uint8)
    month_days = np.zeros(10_000, np.bool_)
    month_days[[int(text) for text in _MONTH_DAYS]] = True
    return weights, places, check_bytes, month_days


_today: tuple[date | None, str] = (None, "")


def _day_text(today: date) -> str:
    global _today
    day, text = _today
    if day != today:
        text = f"{today.year:04d}{today.month:02d}{today.day:02d}"
        _today = (today, text)
    return text


def _birth_date(yyyymmdd: str) -> date | None:
    """The calendar date spelt by 8 digits, or None when there is none (19990229, 19911301)."""
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    # Checked by hand rather than by catching date()'s ValueError: this runs once per number
    # on the ingest hot path.
    if year < 1 or not 1 <= month <= 12:
        return None
    days = 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month]
    if not 1 <= day <= days:
        return None
    return date(year, month, day)


def make(region_code: str, birth_date: date, sequence: int) -> str:
    """Assemble a valid resident identity number; ``sequence`` is 0-999 (odd: male)."""
    if len(region_code) != 6 or not _is_digits(region_code):
        raise ValueError(f"a region code is 6 digits, got {region_code!r}")
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        raise ValueError(f"birth year {birth_date.year} is before {EARLIEST_BIRTH_YEAR}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"a sequence code is 0-999, got {sequence}")
    body = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return body + _check(body)


def mask(code: str) -> str:
    """Hide the birth date for public display: ``110105********002X``.

    Anything that is not 18 characters long is hidden entirely, since its parts cannot be told
    apart.
    """
    if len(code) != 18:
        return "*" * len(code)
    return code[:6] + "********" + code[14:]


def _character_errors(code: str) -> list[str]:
    errors = [
        f"position {position} is {ch!r}; positions 1-17 are digits"
        for position, ch in enumerate(code[:17], 1)
        if not ("0" <= ch <= "9")
    ]
    if code[17] not in _CHECK_SET:
        errors.append(f"position 18 is {code[17]!r}; the check character is a digit or X")
    return errors


def examine(code: str, today: date) -> Findings:
    """Check a normalised resident identity number and decode it.

    Malformed (an error, never suspect): wrong length, a non-digit, a birth date that is not
    a calendar date, before EARLIEST_BIRTH_YEAR or after ``today``. Suspect: only the check
    character is wrong.
    """
    if len(code) != 18:
        if len(code) == 15 and _is_digits(code):
            reason = (
                "has 15 digits: a first-generation (1989) number; the 18-character "
                "GB 11643-1999 number is required"
            )
        else:
            reason = f"has {len(code)} characters; a resident identity number has 18"
        return Findings((reason,), False)
    if not has_shape(code):
        return Findings(tuple(_character_errors(code)), False)

    errors = []
    birth_date = _birth_date(code[6:14])
    if birth_date is None:
        errors.append(f"birth date {code[6:14]} (positions 7-14) is not a calendar date")
    elif birth_date.year < EARLIEST_BIRTH_YEAR:
        errors.append(
            f"birth date {birth_date.isoformat()} (positions 7-14) is before {EARLIEST_BIRTH_YEAR}"
        )
    elif birth_date > today:
        errors.append(
            f"birth date {birth_date.isoformat()} (positions 7-14) is after today, "
            f"{today.isoformat()}"
        )
    expected = _check(code[:17])
    suspect = False
    if code[17] != expected:
        suspect = not errors
        errors.append(f"check character (position 18) is {code[17]!r}, expected {expected!r}")
    return Findings(
        errors=tuple(errors),
        suspect=suspect,
        region_code=code[:6],
        birth_date=birth_date,
        sex="male" if int(code[16]) % 2 else "female",
    )
