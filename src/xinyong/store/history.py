"""Puts record events on the ledger, and tells the ledger how to rebuild them from the store.

A record event's leaf is the canonical JSON of the event and of the record version it concerns,
rebuilt from ``record_events`` and ``records`` at verification time: an edit made behind the
application's back (a changed amount, a deleted event) no longer matches the signed tree.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ledger import Checkpoint, LeafInput, append, checkpoint, register_source
from xinyong.ledger.checkpoint import read_signing_key
from xinyong.store.bulk import among, chunked
from xinyong.store.models import Record, RecordEvent, Subject

KIND_PREFIX = "record."


def _instant(value: datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL aware: one canonical form for both.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def event_payload(event: Mapping[str, Any], record: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a record event: the event and the record version it concerns."""
    amount = record["amount"]
    return orjson.dumps(
        {
            "event": event["id"],
            "kind": event["kind"],
            "at": _instant(event["occurred_at"]),
            "submission": event["submission_id"],
            "record": {
                "id": record["id"],
                "document_key": record["document_key"],
                "version": record["version"],
                "subject": record["subject"],
                "subject_name": record["subject_name"],
                "decided_on": record["decided_on"],
                "effective_on": record["effective_on"],
                "severity": record["severity"],
                "amount": None if amount is None else f"{amount:.2f}",
                "fields": record["fields"],
            },
        },
        option=orjson.OPT_SORT_KEYS,
    )


def rebuild_record_events(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    """The canonical bytes of each record event named by ``refs`` (event ids), as stored now."""
    events, records = RecordEvent.__table__, Record.__table__
    payloads: dict[str, bytes] = {}
    connection = session.connection()
    for chunk in chunked([int(ref) for ref in refs]):
        rows = session.execute(
            select(
                events.c.id.label("event_id"),
                events.c.kind,
                events.c.occurred_at,
                events.c.submission_id,
                records,
                Subject.identifier.label("subject"),
            )
            .join(records, records.c.id == events.c.record_id)
            .join(Subject, Subject.id == records.c.subject_id)
            .where(among(connection, events.c.id, chunk))
        ).mappings()
        for row in rows:
            event = {
                "id": row["event_id"],
                "kind": row["kind"],
                "occurred_at": row["occurred_at"],
                "submission_id": row["submission_id"],
            }
            payloads[str(row["event_id"])] = event_payload(event, dict(row))
    return payloads


register_source(KIND_PREFIX, rebuild_record_events)


def record_batch_history(
    session: Session, events: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> list[int]:
    """Append a batch's record events to the ledger, in the caller's transaction; returns
    each event's leaf index."""
    return append(
        session,
        [
            LeafInput(
                f"{KIND_PREFIX}{event['kind']}", str(event["id"]), event_payload(event, record)
            )
            for event, record in events
        ],
    )


def sign_checkpoint_if_keyed(factory: sessionmaker[Session], key_path: Path) -> Checkpoint | None:
    """Sign the ledger's head after a job, when this installation has a signing key."""
    if not key_path.exists():
        return None
    with factory.begin() as session:
        return checkpoint(session, read_signing_key(key_path))
