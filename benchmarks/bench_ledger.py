"""The ledger: batched appends into SQLite, and proof generation from a tree of 10^7 leaves.

``ledger.append`` stands beside the floor of committing the same events in memory (salts drawn,
member digests and leaf hashes computed, nothing stored); proof latencies stand beside the floor
of reading the same tiles with ``sqlite3`` and folding their hashes with ``hashlib``, with no
ORM and no ledger code in between.
"""

import hashlib
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xinyong.ledger import LeafInput, append, merkle, service, tiles
from xinyong.ledger.commitment import leaf_of, new_salt
from xinyong.store.base import Base
from xinyong.store.db import make_engine

# Events a transaction (an ingest commits more rows at once: Settings.ingest_batch_size).
BATCH = 5_000
BUILD_BATCH = 100_000
SAMPLES = 2_000


def _store(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    return engine


def _events(start: int, count: int) -> list[LeafInput]:
    # A record event's members (xinyong.records.history), under a kind without a source, so the
    # payload is kept in the ledger too: the heavier case to write.
    return [
        LeafInput(
            "evaluation.published",
            str(i),
            orjson.dumps(
                {
                    "event": {
                        "id": i,
                        "kind": "submitted",
                        "at": "2026-11-01T08:00:00.000000",
                        "record": {"id": i, "version": 1},
                    },
                    "decision": {
                        "document_key": f"court.110105|court.defaulter_listing|(2024)京0105执{i}号",
                        "decided_on": "2024-03-01",
                        "severity": "serious",
                        "amount": "120000.00",
                    },
                    "subject": {"identifier": "11010519491231002X", "name": "张三"},
                    "subject_shown": "110105********002X",
                    "field.case_no": f"(2024)京0105执{i}号",
                    "field.ground": "able_but_refuses",
                },
                option=orjson.OPT_SORT_KEYS,
            ),
        )
        for i in range(start, start + count)
    ]


def _append_rate(folder: Path, count: int) -> dict[str, object]:
    engine = _store(folder / "append.db")
    events = _events(0, count)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        with Session(engine) as session, session.begin():
            append(session, events[start : start + BATCH])
    rate = count / (time.perf_counter() - started)
    engine.dispose()

    started = time.perf_counter()
    for event in events:
        leaf_of(new_salt(), event.kind, event.ref, event.payload)
    floor = count / (time.perf_counter() - started)
    return {
        "name": "ledger.append",
        "value": round(rate),
        "unit": "events/s",
        "floor": round(floor),
        "ratio": round(rate / floor, 3),
        "target": "ratio >= 0.5 / >= 20000 events/s",
        "notes": f"{count:,} events of ~400 bytes and 7 members in transactions of {BATCH:,}, "
        "salts, leaves, hash tiles and head written to SQLite (WAL); floor: committing the "
        "same events in memory (salted member digests and leaf hashes, nothing stored)",
    }


def _build(path: Path, leaves: int) -> tuple[Engine, float]:
    engine = _store(path)
    started = time.perf_counter()
    for start in range(0, leaves, BUILD_BATCH):
        count = min(BUILD_BATCH, leaves - start)
        with Session(engine) as session, session.begin():
            append(
                session,
                [
                    LeafInput("evaluation.published", str(i), b'{"n":%d}' % i)
                    for i in range(start, start + count)
                ],
            )
    return engine, leaves / (time.perf_counter() - started)


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[int(len(ordered) * 0.99) - 1] * 1000


def _bare(cursor: sqlite3.Cursor, spans: list[list[tuple[int, int, int, int]]]) -> None:
    """Each span's hash from its subtrees' tile entries, with bare sqlite3 and hashlib."""
    for pieces in spans:
        hashes = []
        for tile_level, tile_index, offset, count in pieces:
            tile = cursor.execute(
                "SELECT hashes FROM ledger_tiles WHERE level = ? AND tile_index = ?",
                (tile_level, tile_index),
            ).fetchone()[0]
            layer = [tile[i : i + 32] for i in range(offset * 32, (offset + count) * 32, 32)]
            while len(layer) > 1:
                layer = [
                    hashlib.sha256(b"\x01" + layer[i] + layer[i + 1]).digest()
                    for i in range(0, len(layer), 2)
                ]
            hashes.append(layer[0])
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = hashlib.sha256(b"\x01" + left + root).digest()


def _proof_latency(folder: Path, leaves: int) -> list[dict[str, object]]:
    path = folder / "proofs.db"
    engine, build_rate = _build(path, leaves)
    rng = random.Random(9162)
    inclusions = [(rng.randrange(leaves), leaves) for _ in range(SAMPLES)]
    consistencies = [(rng.randrange(1, leaves), leaves) for _ in range(SAMPLES)]
    timings: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    with Session(engine) as session:
        for kind, cases, prove in [
            ("inclusion", inclusions, service.inclusion_proof),
            ("consistency", consistencies, service.consistency_proof),
        ]:
            for first, size in cases:
                started = time.perf_counter()
                prove(session, first, size)
                timings[kind].append(time.perf_counter() - started)
    engine.dispose()

    floors: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    connection = sqlite3.connect(path)
    cursor = connection.cursor()
    for kind, cases, spans in [
        ("inclusion", inclusions, merkle.inclusion_spans),
        ("consistency", consistencies, merkle.consistency_spans),
    ]:
        for first, size in cases:
            pieces = [
                [
                    (*key, offset, count)
                    for key, offset, count in (
                        tiles.entries_under(*piece) for piece in merkle.span_subtrees(span)
                    )
                ]
                for span in spans(first, size)
            ]
            started = time.perf_counter()
            _bare(cursor, pieces)
            floors[kind].append(time.perf_counter() - started)
    connection.close()

    size_mb = path.stat().st_size / 1e6
    results: list[dict[str, object]] = []
    for kind in ("inclusion", "consistency"):
        value, floor = _p99(timings[kind]), _p99(floors[kind])
        results.append(
            {
                "name": f"ledger.proof.{kind}.p99",
                "value": round(value, 3),
                "unit": "ms",
                "floor": round(floor, 3),
                "ratio": round(floor / value, 3),
                "target": "p99 <= 5 ms at 10^7 leaves",
                "notes": f"{leaves:,} leaves, {SAMPLES:,} random proofs; store {size_mb:,.0f} MB "
                f"built at {build_rate:,.0f} events/s; floor: the same tile reads and hashing with bare sqlite3 and hashlib",
            }
        )
    return results


def run(quick: bool) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as folder:
        results = [_append_rate(Path(folder), 50_000 if quick else 500_000)]
        results += _proof_latency(Path(folder), 10**5 if quick else 10**7)
    return results
