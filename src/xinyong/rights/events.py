"""Record events a subject's case causes: disputed, resolved, repaired; each on the ledger.

A record is disputed from its ``disputed`` event until a later ``resolved`` event (the case
was decided). ``repaired`` ends its publicity early. Like ingest's events, each one becomes a
ledger leaf in the same transaction, so the verifiable history shows every mark.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.records.history import record_batch_history
from xinyong.records.models import Record, RecordEvent, Subject

DISPUTED = "disputed"
RESOLVED = "resolved"
REPAIRED = "repaired"


def append_record_event(session: Session, record_id: int, kind: str, now: datetime) -> RecordEvent:
    """Add one event to ``record_id``'s life and its leaf to the ledger."""
    record = (
        session.execute(
            select(Record.__table__, Subject.identifier.label("subject"))
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.id == record_id)
        )
        .mappings()
        .one()
    )
    event = RecordEvent(record_id=record_id, kind=kind, occurred_at=now)
    session.add(event)
    session.flush()
    payload = {
        "id": event.id,
        "kind": kind,
        "occurred_at": now,
        "submission_id": None,
        "row_no": None,
    }
    [event.ledger_leaf] = record_batch_history(session, [(payload, dict(record))])
    return event


def disputed_records(session: Session, record_ids: list[int]) -> set[int]:
    """Which of ``record_ids`` are disputed now: their last dispute event is ``disputed``."""
    last: dict[int, tuple[int, str]] = {}
    for event_id, record_id, kind in session.execute(
        select(RecordEvent.id, RecordEvent.record_id, RecordEvent.kind).where(
            RecordEvent.record_id.in_(record_ids), RecordEvent.kind.in_((DISPUTED, RESOLVED))
        )
    ):
        if record_id not in last or last[record_id][0] < event_id:
            last[record_id] = (event_id, kind)
    return {record_id for record_id, (_, kind) in last.items() if kind == DISPUTED}
