"""Helpers for joint enforcement tests: ingest rows into a store and decide from its index."""

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.index import MeasuresIndex
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.policy import Pack

Ingest = Callable[..., IngestSummary]
Decide = Callable[[str, str, date], Decision]


@pytest.fixture
def ingest(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> Ingest:
    """Ingest rows as one file (each call a new file), as the ingest job does."""
    calls = iter(range(1_000_000))

    def run(*rows: dict[str, Any], today: date = date(2026, 11, 1)) -> IngestSummary:
        path = tmp_path / f"rows-{next(calls)}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
        digest, _ = scan_file(path)
        job = IngestJob(factory, national, today=today, batch_size=50)
        summary = job.run_file(path, digest=digest, report_dir=tmp_path / "reports")
        assert summary.rejected == 0, (tmp_path / "reports").glob("*")
        return summary

    return run


@pytest.fixture
def decide(factory: sessionmaker[Session], national: Pack) -> Decide:
    """A decision from a snapshot of the index loaded fresh from the store."""

    def run(subject: str, action: str, day: date) -> Decision:
        index = MeasuresIndex(national)
        with factory() as session:
            index.load(session)
        return index.decide(subject, action, day)

    return run
