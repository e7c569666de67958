"""Names as sequences of sound tokens: one toneless pinyin syllable per Chinese character.

Indexing and querying both go through the same per-character table, so a Chinese query, a
pinyin query and a query with a homophone typo (华伪 for 华为) all meet the name on the same
tokens. Each character takes its most common reading: names are indexed without phrase
context, which keeps the table a lookup that can be applied to 10^7 names at once.
Letters and digits are tokens of their own; punctuation and spaces are dropped.
"""

from __future__ import annotations

import re
import zlib
from functools import cache

import numpy as np
import numpy.typing as npt

CJK = re.compile(r"[\u3400-\u9fff]")
CODE_LIKE = re.compile(r"^[0-9A-Za-z]{15,18}$")
LATIN_WORDS = re.compile(r"[a-z]+")
LONGEST_SYLLABLE = 6
MAX_VARIANTS = 8
UNICODE_SIZE = 0x110000

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
MASK_64 = (1 << 64) - 1
HIGH_BIT = 1 << 63

Tokens = npt.NDArray[np.uint32]
Letters = npt.NDArray[np.uint8]


@cache
def token_of(char: str) -> str:
    """The token of one character: its pinyin, itself lowercased, or '' when it is dropped."""
    if CJK.match(char):
        # pypinyin is imported on first use: its phrase dictionary alone is a fifth of a
        # second of start-up for every process that imports the search (the app does).
        from pypinyin import lazy_pinyin

        return lazy_pinyin(char)[0]
    if char.isascii() and char.isalnum():
        return char.lower()
    return ""


def token_id(token: str) -> int:
    """A stable 32-bit id of a token (0 is reserved for 'no token')."""
    return (zlib.crc32(token.encode()) & 0x7FFFFFFF) | 1 if token else 0


def name_tokens(name: str) -> list[str]:
    return [token for token in map(token_of, name) if token]


@cache
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable a character can be read as."""
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.contrib.tone_convert import to_normal

    return frozenset(
        to_normal(reading) for readings in PINYIN_DICT.values() for reading in readings.split(",")
    )


def segment(word: str) -> tuple[list[str], int]:
    """Split typed pinyin into syllables, longest match first (xian stays one syllable).

    Letters that start no syllable are skipped; the second value counts them.
    """
    known = syllables()
    found: list[str] = []
    skipped = at = 0
    while at < len(word):
        for size in range(min(LONGEST_SYLLABLE, len(word) - at), 0, -1):
            if word[at : at + size] in known:
                found.append(word[at : at + size])
                at += size
                break
        else:
            at += 1
            skipped += 1
    return found, skipped


def readings(text: str) -> list[list[str]]:
    """The syllables a pinyin query most likely means.

    The query itself when it reads as pinyin; otherwise its variants with one letter dropped
    or two adjacent letters swapped (zhnagsan -> zhangsan) that do, so a typo costs nothing.
    """
    word = "".join(LATIN_WORDS.findall(text.lower()))
    syllables_found, skipped = segment(word)
    if not skipped:
        return [syllables_found]
    variants = {word[:at] + word[at + 1 :] for at in range(len(word))} | {
        word[:at] + word[at + 1] + word[at] + word[at + 2 :] for at in range(len(word) - 1)
    }
    clean = [found for found, missed in map(segment, sorted(variants)) if not missed]
    return clean[:MAX_VARIANTS] or [syllables_found]


def token_matrix(names: list[str], width: int) -> tuple[Tokens, Letters]:
    """Token ids and initial letters of many names at once: (n, width) matrices, 0 for none.

    The names become a fixed-width code point matrix; each distinct code point is looked up
    once and the matrix is mapped through a table, so the cost is per distinct character.
    """
    points = np.array(names, dtype=f"<U{width}").view(np.uint32).reshape(len(names), width)
    present = np.zeros(UNICODE_SIZE, dtype=bool)
    present[points.ravel()] = True
    ids = np.zeros(UNICODE_SIZE, dtype=np.uint32)
    letters = np.zeros(UNICODE_SIZE, dtype=np.uint8)
    for point in np.flatnonzero(present[1:]) + 1:
        token = token_of(chr(point))
        ids[point] = token_id(token)
        letters[point] = ord(token[0]) if token else 0
    return ids[points], letters[points]


def bigram_keys(tokens: Tokens) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The (key, row) pairs of every pair of adjacent tokens in each row of a token matrix.

    Dropped characters (0) are squeezed out first, so 北京（朝阳）科技 pairs 京 with 朝.
    """
    packed = _squeeze(tokens)
    left = packed[:, :-1].astype(np.uint64)
    right = packed[:, 1:].astype(np.uint64)
    present = (left != 0) & (right != 0)
    rows = np.nonzero(present)[0]
    keys = (left[present] << np.uint64(32)) | right[present]
    return keys, rows


def _squeeze(tokens: Tokens) -> Tokens:
    """Each row's non-zero tokens moved to the front, keeping their order."""
    order = np.argsort(tokens == 0, axis=1, kind="stable")
    return np.take_along_axis(tokens, order, axis=1)


def pair_key(left: str, right: str) -> int:
    return (token_id(left) << 32) | token_id(right)


def initials_key(letters: str) -> int:
    """The key of a name's initials (张三 -> zs), kept apart from pair keys by its high bit."""
    value = int(FNV_OFFSET)
    for byte in letters.encode("ascii", "ignore"):
        value = ((value ^ byte) * int(FNV_PRIME)) & MASK_64
    return value | HIGH_BIT


def initials_keys(letters: Letters) -> npt.NDArray[np.uint64]:
    """The initials key of each row of a letter matrix (FNV-1a over its non-zero letters)."""
    value = np.full(letters.shape[0], FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in letters.T.astype(np.uint64):
            value = np.where(column != 0, (value ^ column) * FNV_PRIME, value)
    return value | np.uint64(HIGH_BIT)


def code_hash(codes: list[str]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each 18-character code (FNV-1a over its bytes), computed column-wise."""
    raw = np.array([code.upper() for code in codes], dtype="S18")
    columns = raw.view(np.uint8).reshape(len(codes), 18).astype(np.uint64)
    value = np.full(len(codes), FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in columns.T:
            value = (value ^ column) * FNV_PRIME
    return value
