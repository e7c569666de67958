"""Record events against the ledger, and record heads against the record events.

The ledger proves each logged record event; this module holds the store's other record tables
to it. Every event row must be the ledger leaf it names (an event row added behind the
application's back, a ``withdrawn`` that no authority sent, is on no leaf), every record version
must have the event that created it, and ``record_heads`` must be what the events say: each
document's newest version, its subject, and the status of the last event that changed it
(``withdrawn``, ``repaired`` or ``expired``; ``active`` when none did). Each is one set-wise
query that returns only the rows that differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, String, Table, and_, cast, exists, func, literal, or_, select

from xinyong.integrity.report import Difference, Findings
from xinyong.ledger.models import LedgerLeaf
from xinyong.records.facts import ENDED_STATUSES
from xinyong.records.history import KIND_PREFIX
from xinyong.records.models import Record, RecordEvent, RecordHead, Subject
from xinyong.rights.expiry import EXPIRED
from xinyong.store.bulk import among, chunked

RECORDS: Table = Record.__table__  # type: ignore[assignment]
EVENTS: Table = RecordEvent.__table__  # type: ignore[assignment]
HEADS: Table = RecordHead.__table__  # type: ignore[assignment]
LEAVES: Table = LedgerLeaf.__table__  # type: ignore[assignment]

ACTIVE = "active"
STATUS_EVENTS = (*ENDED_STATUSES, EXPIRED)
"""Event kinds that change a head's status; the last one on any version of a document wins
(a repaired or expired record may still be withdrawn, nothing follows a withdrawal)."""
CREATING_EVENTS = ("submitted", "corrected")
HEAD_COLUMNS = ("record_id", "subject_id", "version", "status")


def identifiers_of(connection: Connection, subject_ids: Iterable[int]) -> dict[int, str]:
    """Subject id -> identifier, for the ids that have a subject row."""
    found: dict[int, str] = {}
    for chunk in chunked(sorted(set(subject_ids))):
        for subject_id, identifier in connection.execute(
            select(Subject.id, Subject.identifier).where(among(connection, Subject.id, chunk))
        ):
            found[subject_id] = identifier
    return found


def subject_label(identifiers: Mapping[int, str], subject_id: int | None) -> str | None:
    if subject_id is None:
        return None
    return identifiers.get(subject_id, f"#{subject_id}")


def check_record_events(connection: Connection, findings: Findings) -> None:
    """Every record event is on the ledger leaf it names; every record version was created by
    a logged event."""
    leaf = LEAVES.alias("leaf")
    unlogged = connection.execute(
        select(
            EVENTS.c.id,
            EVENTS.c.kind,
            EVENTS.c.ledger_leaf,
            RECORDS.c.document_key,
            RECORDS.c.subject_id,
            leaf.c.kind.label("leaf_kind"),
            leaf.c.ref.label("leaf_ref"),
        )
        .select_from(
            EVENTS.outerjoin(RECORDS, RECORDS.c.id == EVENTS.c.record_id).outerjoin(
                leaf, leaf.c.leaf_index == EVENTS.c.ledger_leaf
            )
        )
        .where(
            or_(
                leaf.c.leaf_index.is_(None),
                leaf.c.kind != literal(KIND_PREFIX, String) + EVENTS.c.kind,
                leaf.c.ref != cast(EVENTS.c.id, String),
            )
        )
        .order_by(EVENTS.c.id)
    ).all()
    creating = EVENTS.alias("creating")
    uncreated = connection.execute(
        select(RECORDS.c.id, RECORDS.c.document_key, RECORDS.c.version, RECORDS.c.subject_id)
        .where(
            ~exists().where(
                creating.c.record_id == RECORDS.c.id, creating.c.kind.in_(CREATING_EVENTS)
            )
        )
        .order_by(RECORDS.c.id)
    ).all()
    identifiers = identifiers_of(
        connection,
        [row.subject_id for row in unlogged if row.subject_id is not None]
        + [row.subject_id for row in uncreated],
    )
    for row in unlogged:
        logged = None if row.leaf_kind is None else f"{row.leaf_kind} {row.leaf_ref}"
        findings.add(
            Difference(
                "record_events",
                subject_label(identifiers, row.subject_id),
                f"event {row.id} ({row.kind}) of {row.document_key}",
                f"ledger leaf {row.ledger_leaf}",
                logged,
                f"{KIND_PREFIX}{row.kind} {row.id}",
                "an event the ledger does not hold: it was written behind the application's back",
            )
        )
    for version in uncreated:
        findings.add(
            Difference(
                "record_events",
                subject_label(identifiers, version.subject_id),
                f"record {version.id} ({version.document_key} version {version.version})",
                "creating event",
                None,
                "submitted or corrected",
                "a record version no logged submission or correction created",
            )
        )
    findings.checked["record_events"] += _count(connection, EVENTS)


def _count(connection: Connection, table: Table) -> int:
    return connection.scalar(select(func.count()).select_from(table)) or 0


def _derived_heads() -> Any:
    """Per document: its newest version, that version's subject, and the status the events give."""
    latest = (
        select(RECORDS.c.document_key, func.max(RECORDS.c.version).label("version"))
        .group_by(RECORDS.c.document_key)
        .subquery("latest")
    )
    last_mark = (
        select(RECORDS.c.document_key, func.max(EVENTS.c.id).label("event_id"))
        .select_from(EVENTS.join(RECORDS, RECORDS.c.id == EVENTS.c.record_id))
        .where(EVENTS.c.kind.in_(STATUS_EVENTS))
        .group_by(RECORDS.c.document_key)
        .subquery("last_mark")
    )
    mark = EVENTS.alias("mark")
    return (
        select(
            RECORDS.c.document_key,
            RECORDS.c.id.label("record_id"),
            RECORDS.c.subject_id,
            RECORDS.c.version,
            func.coalesce(mark.c.kind, ACTIVE).label("status"),
        )
        .select_from(
            RECORDS.join(
                latest,
                and_(
                    latest.c.document_key == RECORDS.c.document_key,
                    latest.c.version == RECORDS.c.version,
                ),
            )
            .outerjoin(last_mark, last_mark.c.document_key == RECORDS.c.document_key)
            .outerjoin(mark, mark.c.id == last_mark.c.event_id)
        )
        .subquery("derived")
    )


def check_record_heads(connection: Connection, findings: Findings) -> None:
    """``record_heads`` against the heads the record events give, both ways."""
    derived = _derived_heads()
    differs = or_(
        HEADS.c.document_key.is_(None),
        *(HEADS.c[name].is_distinct_from(derived.c[name]) for name in HEAD_COLUMNS),
    )
    changed = connection.execute(
        select(
            derived.c.document_key,
            *(derived.c[name] for name in HEAD_COLUMNS),
            HEADS.c.document_key.label("stored_key"),
            *(HEADS.c[name].label(f"stored_{name}") for name in HEAD_COLUMNS),
        )
        .select_from(derived.outerjoin(HEADS, HEADS.c.document_key == derived.c.document_key))
        .where(differs)
        .order_by(derived.c.document_key)
    ).all()
    extra = connection.execute(
        select(HEADS)
        .select_from(HEADS.outerjoin(derived, derived.c.document_key == HEADS.c.document_key))
        .where(derived.c.document_key.is_(None))
        .order_by(HEADS.c.document_key)
    ).all()
    identifiers = identifiers_of(
        connection,
        [row.subject_id for row in changed]
        + [row.stored_subject_id for row in changed if row.stored_subject_id is not None]
        + [row.subject_id for row in extra],
    )
    for row in changed:
        subject = subject_label(identifiers, row.subject_id)
        if row.stored_key is None:
            findings.add(
                Difference(
                    "record_heads",
                    subject,
                    row.document_key,
                    "row",
                    None,
                    {name: getattr(row, name) for name in HEAD_COLUMNS},
                    "the decision has no current version: it is neither shown nor grounds anything",
                )
            )
            continue
        for name in HEAD_COLUMNS:
            stored, recomputed = getattr(row, f"stored_{name}"), getattr(row, name)
            if stored != recomputed:
                if name == "subject_id":
                    stored = subject_label(identifiers, stored)
                    recomputed = subject_label(identifiers, recomputed)
                findings.add(
                    Difference(
                        "record_heads", subject, row.document_key, name, stored, recomputed,
                        _HEAD_NOTES[name],
                    )
                )  # fmt: skip
    for row in extra:
        findings.add(
            Difference(
                "record_heads",
                subject_label(identifiers, row.subject_id),
                row.document_key,
                "row",
                {name: getattr(row, name) for name in HEAD_COLUMNS},
                None,
                "a head for a document no logged record has",
            )
        )
    findings.checked["record_heads"] += _count(connection, HEADS)


_HEAD_NOTES = {
    "record_id": "another version than the newest is read as current",
    "subject_id": "the decision is read as concerning another subject",
    "version": "another version number than the newest",
    "status": "the status decides whether the decision grounds entries and is published",
}
