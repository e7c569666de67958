"""Publishing a batch result: entries and the measures index in one transaction, scores as a
new evaluation version switched on at the end.

Entries and the index are written by the same code the reference refresh uses
(``refresh_subjects``, handed the batch engine's entries), so the store ends up exactly as
``rebuild_all`` leaves it, ledger leaves included. All of it happens in one transaction:
readers (SQLite WAL, PostgreSQL MVCC) keep seeing the old entries and index until it
commits, and a failure part-way leaves them untouched.

Records may arrive while the engine works. The snapshot remembers the last record and event
it read; a subject with anything newer is re-derived by the reference rules inside the
publishing transaction, so a batch never writes back stale entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import date

import pyarrow as pa
from sqlalchemy import Connection, select, union
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.refresh import RefreshSummary, refresh_subjects
from xinyong.enforcement.rules import EndReason, Entry
from xinyong.evaluate.facts import Snapshot
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.scoring.facts import Contribution, Score

BATCH = 2_000


def entries_by_subject(entries: pa.Table) -> dict[int, list[Entry]]:
    """The plan's entries as the reference's ``Entry`` values, in the reference's order."""
    found: dict[int, list[tuple[int, int, Entry]]] = defaultdict(list)
    for row in entries.to_pylist():
        found[row["subject_id"]].append(
            (
                row["list_rank"],
                row["record_id"],
                Entry(
                    row["list_code"],
                    row["document_key"],
                    row["record_id"],
                    row["started_on"],
                    row["period_ends_on"],
                    row["ended_on"],
                    EndReason(row["end_reason"]),
                    row["ended_by_record_id"],
                ),
            )
        )
    return {
        subject_id: [entry for *_, entry in sorted(items, key=lambda item: item[:2])]
        for subject_id, items in found.items()
    }


def changed_since(connection: Connection, snapshot: Snapshot) -> set[int]:
    """Subjects with a record or record event newer than the snapshot."""
    newer_records = select(Record.subject_id).where(Record.id > snapshot.last_record_id)
    newer_events = (
        select(Record.subject_id)
        .join(RecordEvent, RecordEvent.record_id == Record.id)
        .where(RecordEvent.id > snapshot.last_event_id)
    )
    return set(connection.execute(union(newer_records, newer_events)).scalars())


def publish_entries(
    factory: sessionmaker[Session],
    pack: Pack,
    entries: pa.Table,
    snapshot: Snapshot,
    *,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> RefreshSummary:
    """Write the batch's entries and the index in one transaction; returns what changed."""
    derived = entries_by_subject(entries)
    total = RefreshSummary()
    with factory.begin() as session:
        connection = session.connection()
        ids = list(connection.execute(select(Subject.id).order_by(Subject.id)).scalars())
        stale = changed_since(connection, snapshot)
        for part in _batches(ids):
            fresh = [subject_id for subject_id in part if subject_id not in stale]
            _add(
                total,
                refresh_subjects(
                    session,
                    pack,
                    fresh,
                    today=today,
                    derived={subject_id: derived.get(subject_id, []) for subject_id in fresh},
                ),
            )
            _add(
                total,
                refresh_subjects(
                    session,
                    pack,
                    [subject_id for subject_id in part if subject_id in stale],
                    today=today,
                ),
            )
            if progress is not None:
                progress(len(part))
    return total


def scores_from_arrow(
    scheme: str, version: str, scores: pa.Table, contributions: pa.Table
) -> Iterator[tuple[int, str, str, Score]]:
    """Score tuples of one scheme from the plan's two result tables."""
    reasons: dict[int, list[Contribution]] = defaultdict(list)
    for row in contributions.to_pylist():
        reasons[row["subject_id"]].append(
            Contribution(
                row["record_id"],
                row["rule"],
                row["points"],
                row["window_start"],
                row["window_end"],
            )
        )
    for row in scores.to_pylist():
        subject_id = row["subject_id"]
        yield (
            subject_id,
            scheme,
            version,
            Score(row["value"], row["grade"], tuple(reasons.get(subject_id, ()))),
        )


def _batches(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _add(total: RefreshSummary, part: RefreshSummary) -> None:
    total.subjects += part.subjects
    total.started += part.started
    total.changed += part.changed
    total.ended += part.ended
    total.index_rows += part.index_rows
