"""Stores for tests: new ones at the newest schema without migrating each, and their content
without ids or timestamps, so two runs can be held equal."""

import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import Settings, get_settings
from xinyong.ingest.models import QuarantinedRow
from xinyong.ledger.models import LedgerLeaf
from xinyong.records.models import Record, RecordEvent, RecordHead, Subject
from xinyong.store.db import migrate
from xinyong.store.runtime import init_store, open_store


def migrated_sqlite(path: Path) -> str:
    """The URL of a new SQLite store at ``path``, at the newest schema: a copy of a store this
    process migrated once (copying the file takes a thousandth of the migrations' time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_newest_schema(), path)
    return f"sqlite:///{path}"


def migrated_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """The configured store, opened as ``init_store`` opens it for a command; a new SQLite
    store is a copy of the migrated one (``xinyong init`` itself is tested in its own tests)."""
    url = make_url((settings or get_settings()).resolved_database_url())
    if url.get_backend_name() != "sqlite" or not url.database or Path(url.database).exists():
        return init_store(settings)
    migrated_sqlite(Path(url.database))
    return open_store(settings)


@cache
def _newest_schema() -> Path:
    template = Path(tempfile.mkdtemp(prefix="xinyong-schema-")) / "store.db"
    migrate(f"sqlite:///{template}")
    return template


def snapshot(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        return {
            "subjects": sorted(
                session.execute(
                    select(
                        Subject.identifier,
                        Subject.kind,
                        Subject.name,
                        Subject.confirmed,
                        Subject.suspect_identifier,
                    )
                ).all()
            ),
            "records": sorted(
                (
                    r.document_key,
                    r.version,
                    r.severity,
                    str(r.amount),
                    orjson.dumps(r.fields, option=orjson.OPT_SORT_KEYS),
                )
                for r in session.scalars(select(Record))
            ),
            "events": sorted(
                session.execute(
                    select(
                        Record.document_key, Record.version, RecordEvent.kind, RecordEvent.row_no
                    ).join(Record, Record.id == RecordEvent.record_id)
                ).all()
            ),
            "heads": sorted(
                session.execute(
                    select(RecordHead.document_key, RecordHead.version, RecordHead.status)
                ).all()
            ),
            "quarantine": sorted(
                session.execute(
                    select(QuarantinedRow.row_no, QuarantinedRow.field, QuarantinedRow.reason)
                ).all()
            ),
            "ledger_leaves": session.scalar(select(func.count()).select_from(LedgerLeaf)),
        }
