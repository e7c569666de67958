"""Expiry: what policy ends by the calendar, carried out on the day.

A record's publicity ends at its maximum period: its current version gets an ``expired`` event
(on the ledger, like every record event) and its head the status ``expired``, so it is no
longer shown; from then on it grounds no entry (the rules already cap every entry at the
record's maximum period) and no score. An entry ends at its end date: a subject who was told
of a listing is told of the delisting. The affected subjects' change is announced
(``records_changed``), on which their entries and measures are refreshed.

Every step is conditional on what is already done (an active head, a listing told but not its
end), so a second run on the same day changes nothing and an interrupted run resumes.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    String,
    Table,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased, sessionmaker

from xinyong.clock import china_day, utc_now
from xinyong.enforcement.models import EntryRow
from xinyong.enforcement.rules import EndReason, RecordFacts, add_months, record_end
from xinyong.policy import Pack
from xinyong.records.changes import RecordsChanged, records_changed
from xinyong.records.history import record_batch_history
from xinyong.records.models import Record, RecordEvent, RecordHead, Subject
from xinyong.rights.notices import DELISTING, LISTING, enqueue_notices
from xinyong.rights.notices_models import NoticeRow
from xinyong.rights.triggers import ENTRY_PREFIX, delisting_notice, expiry_notice
from xinyong.store.bulk import BulkTable, allocate_ids, among, chunked

EXPIRED = "expired"
EXPIRY_LOCK = 0x78696E79  # an arbitrary application-wide advisory lock key ("xiny")
EVENTS: Table = RecordEvent.__table__  # type: ignore[assignment]
BATCH = 2_000
# ``add_months`` clips to the month's end (Jan 31 + 1 month = Feb 28), so a decision up to this
# many days after the exact cutoff may still have ended; the candidates are checked exactly.
CLIP_SLACK = timedelta(days=3)


@dataclass
class ExpirySummary:
    as_of: date
    records_expired: int = 0
    entries_ended: int = 0
    subjects_refreshed: int = 0
    notices: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "records_expired": self.records_expired,
            "entries_ended": self.entries_ended,
            "subjects_refreshed": self.subjects_refreshed,
            "notices": self.notices,
        }


def expire(
    factory: sessionmaker[Session],
    pack: Pack,
    as_of: date,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> ExpirySummary:
    """End what has run out by ``as_of``, ``batch`` records or entries per transaction."""
    summary = ExpirySummary(as_of)
    with factory() as session:
        records = _records_due(session.connection(), pack, as_of)
    for part in chunked(records, batch):
        with factory.begin() as session:
            _expire_records(session, pack, part, as_of, summary)
        if progress is not None:
            progress(len(part))
    with factory() as session:
        entries = _entries_due(session.connection(), as_of)
    for part in chunked(entries, batch):
        with factory.begin() as session:
            _end_entries(session, pack, part, as_of, summary)
        if progress is not None:
            progress(len(part))
    return summary


def count_due(factory: sessionmaker[Session], pack: Pack, as_of: date) -> int:
    """How many records and entries a run on ``as_of`` would end (for a progress bar)."""
    with factory() as session:
        connection = session.connection()
        return len(_records_due(connection, pack, as_of)) + len(_entries_due(connection, as_of))


def _records_due(connection: Connection, pack: Pack, as_of: date) -> list[int]:
    """The current versions, still active, whose maximum publicity period ended by ``as_of``."""
    bounds = [
        and_(
            Record.record_type == code,
            Record.severity == severity.value,
            Record.decided_on <= add_months(as_of, -period.max_months) + CLIP_SLACK,
        )
        for code, record_type in pack.record_types.items()
        for severity, period in record_type.severities.items()
        if period.max_months is not None
    ]
    if not bounds:
        return []
    rows = connection.execute(
        select(Record.id, Record.record_type, Record.severity, Record.decided_on)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(RecordHead.status == "active", or_(*bounds))
        .order_by(Record.id)
    )
    return [
        row.id
        for row in rows
        if (end := _end(pack, row.record_type, row.severity, row.decided_on)) is not None
        and end <= as_of
    ]


def _end(pack: Pack, record_type: str, severity: str, decided_on: date) -> date | None:
    facts = RecordFacts(0, "", record_type, decided_on, decided_on, severity, None, {})
    return record_end(pack, facts)


def _expire_records(
    session: Session, pack: Pack, record_ids: Sequence[int], as_of: date, summary: ExpirySummary
) -> None:
    connection = session.connection()
    _one_run_at_a_time(connection)
    # The head's status is the claim: a concurrent run that got there first leaves no row here.
    claimed = list(
        connection.execute(
            update(RecordHead)
            .where(
                among(connection, RecordHead.record_id, record_ids), RecordHead.status == "active"
            )
            .values(status=EXPIRED)
            .returning(RecordHead.record_id)
        ).scalars()
    )
    if not claimed:
        return
    records = [
        dict(row)
        for row in connection.execute(
            select(Record.__table__, Subject.identifier.label("subject"))
            .join(Subject, Subject.id == Record.subject_id)
            .where(among(connection, Record.id, claimed))
            .order_by(Record.id)
        ).mappings()
    ]
    now = utc_now()
    events = [
        (
            {
                "id": event_id,
                "record_id": record["id"],
                "kind": EXPIRED,
                "occurred_at": now,
                "submission_id": None,
                "row_no": None,
            },
            record,
        )
        for event_id, record in zip(
            allocate_ids(connection, EVENTS, len(records)), records, strict=True
        )
    ]
    for (event, _), leaf in zip(events, record_batch_history(session, events), strict=True):
        event["ledger_leaf"] = leaf
    BulkTable(connection, EVENTS).insert(event for event, _ in events)
    # A record that arrived already past its maximum period was never published here: its
    # expiry is no news (the subject was told of the record when it arrived).
    ends = [
        (record, _end(pack, record["record_type"], record["severity"], record["decided_on"]))
        for record in records
    ]
    drafts = [
        expiry_notice(pack, record, end)
        for record, end in ends
        if end is not None and end >= china_day(record["received_at"])
    ]
    enqueue_notices(connection, drafts)
    subjects = {record["subject_id"] for record in records}
    records_changed.send(RecordsChanged(session, pack, subjects, as_of))
    summary.records_expired += len(records)
    summary.subjects_refreshed += len(subjects)
    summary.notices += len(drafts)


def _one_run_at_a_time(connection: Connection) -> None:
    """Serialise the batches of concurrent runs (the serving process's daily run and a manual
    one), so each reads only after the other committed: a lock held to the end of the batch."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(EXPIRY_LOCK)))
        return
    # SQLite: reads before a transaction's first write run outside it, so take the write lock
    # first, with a write that changes nothing.
    connection.execute(update(NoticeRow).where(false()).values(attempts=NoticeRow.attempts))


def _told(kind: str) -> Any:
    """The notices of ``kind`` about the entry in the enclosing query."""
    reference = literal(ENTRY_PREFIX, String) + cast(EntryRow.id, String)
    notice = aliased(NoticeRow)
    return exists().where(notice.kind == kind, notice.reference == reference)


def _entries_due(connection: Connection, as_of: date) -> list[int]:
    """Entries that ended by ``as_of`` whose subject was told of the listing but not its end."""
    return list(
        connection.execute(
            select(EntryRow.id)
            .where(
                EntryRow.ended_on <= as_of,
                EntryRow.ended_on > EntryRow.started_on,
                _told(LISTING),
                ~_told(DELISTING),
            )
            .order_by(EntryRow.id)
        ).scalars()
    )


def _end_entries(
    session: Session, pack: Pack, entry_ids: Sequence[int], as_of: date, summary: ExpirySummary
) -> None:
    connection = session.connection()
    _one_run_at_a_time(connection)
    # Checked again inside the transaction: another run may have told them meanwhile.
    rows = connection.execute(
        select(EntryRow).where(among(connection, EntryRow.id, entry_ids), ~_told(DELISTING))
    ).all()
    drafts = [
        delisting_notice(
            pack, row.id, row.subject_id, row.list_code, row.ended_on, EndReason(row.end_reason)
        )
        for row in rows
    ]
    enqueue_notices(connection, drafts)
    subjects = {row.subject_id for row in rows}
    records_changed.send(RecordsChanged(session, pack, subjects, as_of))
    summary.entries_ended += len(rows)
    summary.subjects_refreshed += len(subjects)
    summary.notices += len(drafts)
