"""Putting rows into a store the way ``xinyong ingest`` does, for tests that need records."""

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.policy import Pack


def ingest(
    factory: sessionmaker[Session], pack: Pack, folder: Path, rows: Sequence[dict[str, Any]]
) -> IngestSummary:
    """Ingest ``rows`` as one JSON Lines file written to ``folder``, on 1 November 2026."""
    path = folder / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    return IngestJob(factory, pack, today=date(2026, 11, 1)).run_file(
        path, digest=digest, report_dir=folder
    )
