"""Puts access-log rows on the ledger, and tells the ledger how to rebuild them from the store.

The leaf of a row is the canonical JSON of the row, rebuilt from ``access_log`` at verification
time; the assembly (``xinyong.assembly``) registers ``rebuild_accesses`` as the source of
``access.read`` events, so every process that can see the table can also verify its leaves.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.audit.models import AccessLogRow
from xinyong.records.models import Subject
from xinyong.store.bulk import among, chunked

KIND = "access.read"


def _instant(value: datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL aware: one canonical form for both.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def access_payload(row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an access-log row, as logged on the ledger."""
    return orjson.dumps(
        {
            "ref": row["ref"],
            "at": _instant(row["accessed_at"]),
            "account": row["account_id"],
            "username": row["username"],
            "role": row["role"],
            "authority": row["authority_code"],
            "subject": row["subject"],
            "purpose": row["purpose"],
            "what": row["what"],
        },
        option=orjson.OPT_SORT_KEYS,
    )


def rebuild_accesses(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    """The canonical bytes of each access-log row named by ``refs``, as stored now."""
    table = AccessLogRow.__table__
    payloads: dict[str, bytes] = {}
    for chunk in chunked(list(refs)):
        rows = session.execute(
            select(table, Subject.identifier.label("subject"))
            .join(Subject, Subject.id == table.c.subject_id)
            .where(among(session.connection(), table.c.ref, chunk))
        ).mappings()
        for row in rows:
            payloads[row["ref"]] = access_payload(dict(row))
    return payloads
