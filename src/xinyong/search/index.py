"""The public search index: exact code lookup by hash, then name candidates scored by rapidfuzz.

Layout (one folder per build, numpy arrays and one Arrow file, all memory-mapped on load):

- ``subjects.arrow``: ref, kind, name, shown_id (masked for persons), region, one row per subject;
- ``code_hash.npy`` / ``code_row.npy``: FNV-1a hashes of the full codes, sorted, and their rows.
  Full resident identity numbers are hashed, never stored: the index cannot leak them;
- ``gram_key.npy`` / ``gram_start.npy`` / ``gram_row.npy``: an inverted index from keys (pairs of
  adjacent pinyin tokens, and each name's initials) to the rows that have them (CSR layout).

A name query collects the rows of its rarest keys up to a budget, keeps the rows sharing most
keys, and ranks those by rapidfuzz against the name (Chinese query) or its pinyin (Latin query).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
from rapidfuzz import fuzz, process

from xinyong.search.tokens import (
    CJK,
    CODE_LIKE,
    bigram_keys,
    code_hash,
    initials_key,
    initials_keys,
    name_tokens,
    pair_key,
    readings,
    token_matrix,
)

NAME_WIDTH = 40
"""Characters of a name that are indexed (longer names are cut; scoring sees them whole)."""
POSTINGS_BUDGET = 40_000
"""Rows read from the inverted index per query, rarest keys first: bounds the query's cost."""
CANDIDATES = 300
"""Rows scored by rapidfuzz per query."""
MIN_SCORE = 55.0
BUILD_BLOCK = 1_000_000
COLUMNS = ("ref", "kind", "name", "shown_id", "region")


@dataclass(frozen=True)
class Searchable:
    """The subjects to index, column by column (``identifiers`` are only hashed)."""

    refs: list[str]
    kinds: list[str]
    names: list[str]
    identifiers: list[str]
    shown_ids: list[str]
    regions: list[str | None]


@dataclass(frozen=True)
class Hit:
    ref: str
    kind: str
    name: str
    shown_id: str
    region: str | None
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "id": self.shown_id,
            "region": self.region,
            "score": round(self.score, 1),
        }


class SearchIndex:
    def __init__(self, arrays: dict[str, npt.NDArray[Any]], table: pa.Table) -> None:
        self.code_hash = arrays["code_hash"]
        self.code_row = arrays["code_row"]
        self.gram_key = arrays["gram_key"]
        self.gram_start = arrays["gram_start"]
        self.gram_row = arrays["gram_row"]
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @cached_property
    def counts(self) -> dict[str, int]:
        """Subjects in the index by kind (organisation, person)."""
        tally = self.table.column("kind").value_counts().to_pylist()
        return {item["values"]: item["counts"] for item in tally}

    @classmethod
    def build(cls, subjects: Searchable) -> SearchIndex:
        hashes = code_hash(subjects.identifiers)
        code_order = np.argsort(hashes, kind="stable")
        keys, rows = _name_keys(subjects.names)
        # Stable sort by key keeps each key's rows ascending, so a posting list is sorted.
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        # Already sorted: a key's postings start where it differs from the key before.
        boundary = np.ones(len(sorted_keys), dtype=bool)
        boundary[1:] = sorted_keys[1:] != sorted_keys[:-1]
        starts = np.flatnonzero(boundary)
        distinct = sorted_keys[starts]
        arrays: dict[str, npt.NDArray[Any]] = {
            "code_hash": hashes[code_order],
            "code_row": code_order.astype(np.int32),
            "gram_key": distinct,
            "gram_start": np.append(starts, len(sorted_keys)).astype(np.int64),
            "gram_row": rows[order],
        }
        table = pa.table(
            {
                "ref": subjects.refs,
                "kind": subjects.kinds,
                "name": subjects.names,
                "shown_id": subjects.shown_ids,
                "region": pa.array(subjects.regions, type=pa.string()),
            }
        )
        return cls(arrays, table)

    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("code_hash", "code_row", "gram_key", "gram_start", "gram_row"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        with (
            pa.OSFile(str(folder / "subjects.arrow"), "wb") as sink,
            pa.ipc.new_file(sink, self.table.schema) as writer,
        ):
            writer.write_table(self.table)
        (folder / "meta.json").write_bytes(orjson.dumps({**meta, "subjects": len(self)}))

    @classmethod
    def load(cls, folder: Path) -> SearchIndex:
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r")
            for name in ("code_hash", "code_row", "gram_key", "gram_start", "gram_row")
        }
        table = pa.ipc.open_file(pa.memory_map(str(folder / "subjects.arrow"))).read_all()
        return cls(arrays, table)

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        text = query.strip()
        if not text:
            return []
        if CODE_LIKE.match(text):
            return self._by_code(text.upper())[:limit]
        return self._by_name(text, limit)

    def _by_code(self, code: str) -> list[Hit]:
        wanted = code_hash([code])[0]
        low = int(np.searchsorted(self.code_hash, wanted, side="left"))
        high = int(np.searchsorted(self.code_hash, wanted, side="right"))
        rows = [int(row) for row in self.code_row[low:high]]
        return self._hits(rows, [100.0] * len(rows))

    def candidates(self, text: str) -> npt.NDArray[np.int32]:
        """The rows a name query scores: those sharing most keys with it, rarest keys first."""
        return self._rows_of(_query_keys(text, CJK.search(text) is None))

    def _by_name(self, text: str, limit: int) -> list[Hit]:
        latin = CJK.search(text) is None
        rows = self.candidates(text)
        if rows.size == 0:
            return []
        names = self.table.column("name").take(pa.array(rows)).to_pylist()
        scores = _scores(text, names, latin)
        lengths = np.fromiter(map(len, names), dtype=np.int32, count=len(names))
        # Best score first; among equals the shorter (closer) name, then the older subject.
        order = np.lexsort((rows, lengths, -scores))[:limit]
        order = order[scores[order] >= MIN_SCORE]
        return self._hits(rows[order].tolist(), scores[order].tolist())

    def _rows_of(self, keys: list[int]) -> npt.NDArray[np.int32]:
        wanted = np.unique(np.array(keys, dtype=np.uint64))
        at = np.searchsorted(self.gram_key, wanted)
        inside = at < len(self.gram_key)
        at = at[inside]
        found = at[self.gram_key[at] == wanted[inside]].tolist()
        spans = sorted(
            (int(self.gram_start[i + 1] - self.gram_start[i]), int(self.gram_start[i]))
            for i in found
        )
        # Whole posting lists, rarest first, while they fit the budget: a key shared by half
        # the names (有限, 公司) says little and would cost the most.
        parts: list[npt.NDArray[np.int32]] = []
        budget = POSTINGS_BUDGET
        for size, start in spans:
            if size <= budget:
                parts.append(np.asarray(self.gram_row[start : start + size]))
                budget -= size
        if not parts and spans:
            size, start = spans[0]
            parts.append(np.asarray(self.gram_row[start : start + POSTINGS_BUDGET]))
        if not parts:
            return np.empty(0, dtype=np.int32)
        if len(parts) == 1 and parts[0].size <= CANDIDATES:
            return parts[0]
        rows, counts = np.unique(np.concatenate(parts), return_counts=True)
        if rows.size > CANDIDATES:
            best = np.argpartition(-counts, CANDIDATES)[:CANDIDATES]
            rows = rows[best]
        return rows

    def _hits(self, rows: list[int], scores: list[float]) -> list[Hit]:
        found = self.table.select(list(COLUMNS)).take(pa.array(rows, type=pa.int64())).to_pylist()
        return [Hit(score=score, **values) for values, score in zip(found, scores, strict=True)]


def _name_keys(names: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Every (key, row) of the names, a block of names at a time to bound the memory used."""
    keys: list[npt.NDArray[np.uint64]] = []
    rows: list[npt.NDArray[np.int32]] = []
    for start in range(0, len(names), BUILD_BLOCK):
        block = names[start : start + BUILD_BLOCK]
        width = min(NAME_WIDTH, max(1, *map(len, block)))
        tokens, letters = token_matrix(block, width)
        pair_keys, pair_rows = bigram_keys(tokens)
        keys += [pair_keys, initials_keys(letters)]
        offset = np.int32(start)
        rows += [
            pair_rows.astype(np.int32) + offset,
            np.arange(len(block), dtype=np.int32) + offset,
        ]
    if not keys:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32)
    return np.concatenate(keys), np.concatenate(rows)


def _query_keys(text: str, latin: bool) -> list[int]:
    if not latin:
        return _keys(name_tokens(text))
    letters = "".join(text.lower().split())
    # Letters as tokens of their own (names with Latin letters), typed initials (hwjs), and
    # the syllables of the query or, when it does not read as pinyin, of its one-typo variants.
    keys = _keys(list(letters))
    keys.append(initials_key(letters))
    for variant in readings(text):
        keys.extend(_keys(variant))
    return keys


def _keys(tokens: list[str]) -> list[int]:
    keys = [pair_key(left, right) for left, right in pairwise(tokens)]
    keys.append(initials_key("".join(token[0] for token in tokens)))
    return keys


def _scores(text: str, names: list[str], latin: bool) -> npt.NDArray[np.float64]:
    """rapidfuzz scores of the query against each name, or against its pinyin and initials."""
    if not latin:
        scores: npt.NDArray[np.float64] = process.cdist([text], names, scorer=fuzz.WRatio)[0]
        return scores.astype(np.float64)
    typed = "".join(text.lower().split())
    tokens = [name_tokens(name) for name in names]
    spelled = ["".join(each) for each in tokens]
    letters = ["".join(token[0] for token in each) for each in tokens]
    by_sound = process.cdist([typed], spelled, scorer=fuzz.WRatio)[0]
    by_initials = process.cdist([typed], letters, scorer=fuzz.ratio)[0]
    best: npt.NDArray[np.float64] = np.maximum(by_sound, by_initials)
    return best.astype(np.float64)
