"""Organisation code (组织机构代码), GB 11714-1997.

Eight body characters from ``0-9A-Z`` (valued 0-35) and one check character, often written
``XXXXXXXX-X``. The check is C9 = 11 - (sum of value x weight mod 11) with the weights
3, 7, 9, 10, 5, 8, 4, 2 (2^(9-i) mod 11); 10 is written ``X`` and 11 is written ``0``.
Positions 9-17 of a unified social credit code (GB 32100) are an organisation code.

A modulus-11 check over 36 symbols cannot see every substitution: two body characters whose
values differ by 11 or 22 (``1`` and ``C``, ``0``, ``B`` and ``M``) weigh the same mod 11.
Inside a USCC the modulus-31 check of GB 32100 still catches them.
"""

from typing import NamedTuple

__all__ = [
    "ALPHABET",
    "CHECK_CHARACTERS",
    "WEIGHTS",
    "Findings",
    "check_character",
    "examine",
    "is_valid",
]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "0123456789X"

# value x weight of every character at every body position, so a check is 8 dict lookups.
_TERMS = tuple({ch: value * weight for value, ch in enumerate(ALPHABET)} for weight in WEIGHTS)
# Indexed by (sum mod 11): C9 = 11 - remainder, with 11 -> "0" and 10 -> "X".
_CHECK_BY_REMAINDER = "0X987654321"
_ALPHABET_SET = frozenset(ALPHABET)


class Findings(NamedTuple):
    """What examining a normalised organisation code found."""

    errors: tuple[str, ...]
    suspect: bool


def _check(body8: str) -> str:
    return _CHECK_BY_REMAINDER[sum(map(dict.__getitem__, _TERMS, body8)) % 11]


def check_character(body8: str) -> str:
    """The GB 11714 check character for the 8 body characters ``body8`` (upper case)."""
    if len(body8) != 8 or not _ALPHABET_SET.issuperset(body8):
        raise ValueError(f"an organisation-code body is 8 characters from 0-9A-Z, got {body8!r}")
    return _check(body8)


def is_valid(code: str) -> bool:
    """Whether the normalised 9-character ``code`` is a GB 11714 organisation code."""
    return (
        len(code) == 9
        and _ALPHABET_SET.issuperset(code[:8])
        and code[8] in CHECK_CHARACTERS
        and _check(code[:8]) == code[8]
    )


def examine(code: str) -> Findings:
    """Check a normalised organisation code; only a wrong check character makes it suspect."""
    if len(code) != 9:
        return Findings((f"has {len(code)} characters; an organisation code has 9",), False)
    errors = [
        f"position {position} is {ch!r}; the body of an organisation code is 0-9 and A-Z"
        for position, ch in enumerate(code[:8], 1)
        if ch not in _ALPHABET_SET
    ]
    check = code[8]
    if check not in CHECK_CHARACTERS:
        errors.append(f"position 9 is {check!r}; a check character is a digit or X")
    if errors:
        return Findings(tuple(errors), False)
    expected = _check(code[:8])
    if check != expected:
        return Findings((f"check character is {check!r}, expected {expected!r}",), True)
    return Findings((), False)
