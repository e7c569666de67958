"""Fixtures for the rights tests: ingest rows as an authority's file would bring them."""

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker

Ingest = Callable[..., IngestSummary]
T = TypeVar("T")


def concurrently(
    store_url: str, workers: int, work: Callable[[sessionmaker[Session]], T]
) -> list[T]:
    """What ``work`` returns when ``workers`` threads run it at once, each with an engine (and
    so a connection pool) of its own, as separate worker processes would."""
    engines = [make_engine(store_url) for _ in range(workers)]
    results: list[T] = []

    def run(engine: Engine) -> None:
        results.append(work(make_sessionmaker(engine)))

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    return results


def ingest_rows(
    factory: sessionmaker[Session],
    pack: Pack,
    folder: Path,
    rows: list[dict[str, Any]],
    today: date,
) -> IngestSummary:
    """Ingest ``rows`` as one new file in ``folder``; every row must be accepted."""
    path = folder / f"rows-{len(list(folder.glob('rows-*.jsonl')))}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=today, batch_size=50)
    summary = job.run_file(path, digest=digest, report_dir=folder / "reports")
    assert summary.rejected == 0, list((folder / "reports").glob("*"))
    return summary


@pytest.fixture
def ingest(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> Ingest:
    def run(*rows: dict[str, Any], today: date = date(2026, 11, 1)) -> IngestSummary:
        return ingest_rows(factory, national, tmp_path, list(rows), today)

    return run
