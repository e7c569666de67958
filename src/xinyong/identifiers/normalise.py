"""The normal form of identifier input.

GB 32100, GB 11714 and GB 11643 codes are spelt in upper-case ASCII letters and digits.
Input arrives as people and files wrote it: with spaces (including the ideographic space
U+3000), hyphens and other dashes (``60003734-1``), full-width forms from Chinese input
methods and lower-case letters. ``normalise`` maps all of these to the spelling the standards
use, and is idempotent.
"""

import unicodedata

__all__ = ["normalise"]


def _is_separator(ch: str) -> bool:
    # Whitespace, dashes (Unicode category Pd, plus the minus sign typed for a hyphen) and
    # invisible format characters (zero-width space, byte-order mark, soft hyphen) that
    # copying out of web pages and spreadsheets leaves inside codes.
    return ch.isspace() or ch == "\u2212" or unicodedata.category(ch) in ("Pd", "Cf")


_ASCII_SEPARATORS = str.maketrans("", "", "".join(filter(_is_separator, map(chr, range(128)))))

# NFKC, upper-casing and dropping separators do not commute on arbitrary text (upper-casing can
# produce a compatibility character, dropping a dash can let a combining mark join its base),
# so non-ASCII input is passed through them until nothing changes. Real input settles after
# one or two passes; the bound only guards against pathological text.
_MAX_PASSES = 8


def normalise(raw: str) -> str:
    """Return ``raw`` without separators, in upper case, with full-width forms folded to ASCII.

    >>> normalise("９１１１ ００００-6000 3734 1l")
    '91110000600037341L'
    """
    if raw.isascii():
        # Hot path: ASCII stays ASCII under every step, so one pass is already the fixed point.
        if raw.isalnum():
            return raw.upper()
        return raw.translate(_ASCII_SEPARATORS).upper()
    text = raw
    for _ in range(_MAX_PASSES):
        folded = unicodedata.normalize("NFKC", text).upper()
        cleaned = "".join(ch for ch in folded if not _is_separator(ch))
        if cleaned == text:
            break
        text = cleaned
    return text
