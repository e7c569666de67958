"""Puts record events on the ledger, and tells the ledger how to rebuild them from the store.

A record event's leaf commits to the event and to the record version it concerns, rebuilt from
``record_events``, ``records`` and ``subjects`` at verification time: an edit made behind the
application's back (a changed amount, a deleted event) no longer matches the signed tree.
The assembly (``xinyong.assembly``) registers ``rebuild_record_events`` as the ledger's source
of ``record.*`` events.

The payload's members are cut so that each reader can be shown its part (the ledger commits to
every member separately): ``decision`` and ``subject_shown`` (the identifier as public views
mask it) and each ``field.<name>`` are what the portal may show of a public record; ``event``
(with the record version's provenance) and ``subject`` (the full identifier and the name as
submitted) are for the subject and for staff only. Few members keep the commitment cheap.

Only ``event`` needs what the store assigns (ids, instants): the other members, a record
version's content, can be hashed ahead under the event's salt wherever the version is decided
(``seal_content``; ingest's validation workers do), and the leaf finished here from them.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.identifiers import IdentifierKind, mask
from xinyong.ledger import LeafInput, append
from xinyong.ledger.commitment import seal
from xinyong.ledger.events import Sealed
from xinyong.ledger.sources import source_prefix
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.store.bulk import among, chunked

KIND_PREFIX = "record."
PUBLIC_MEMBERS = frozenset({"decision", "subject_shown"})
# The member the store decides (``event_member``): a seal of the others leaves it for later.
EVENT = "event"
FIELD_MEMBER = "field."


@lru_cache(maxsize=64)  # a batch stamps its events and records with one instant
def _instant(value: datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL aware: one canonical form for both.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def canonical_amount(value: Decimal | float | int | str | None) -> str | None:
    """An amount as the ledger writes it: yuan with two decimals. A zero is ``0.00`` whatever
    its sign, as every store hands a negative zero back."""
    if value is None:
        return None
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if amount.is_zero():
        amount = Decimal(0)
    return f"{amount:.2f}"


@lru_cache(maxsize=1 << 16)  # subjects recur across a batch's events
def shown_identifier(identifier: str, subject_kind: str) -> str:
    """The subject's identifier as public views show it (a resident ID masked)."""
    kind = IdentifierKind.RESIDENT_ID if subject_kind == "person" else IdentifierKind.USCC
    return mask(identifier, kind)


def public_members(fields: Collection[str]) -> frozenset[str]:
    """The members of a record event a public view of the record may open: the decision, the
    masked identifier, and the ``fields`` it shows."""
    return PUBLIC_MEMBERS | {FIELD_MEMBER + name for name in fields}


def event_payload(event: Mapping[str, Any], record: Mapping[str, Any], subject_kind: str) -> bytes:
    """The canonical bytes of a record event: the event and the record version it concerns."""
    return orjson.dumps(event_members(event, record, subject_kind), option=orjson.OPT_SORT_KEYS)


def event_members(
    event: Mapping[str, Any], record: Mapping[str, Any], subject_kind: str
) -> dict[str, Any]:
    """The members of a record event, the object whose canonical bytes are ``event_payload``:
    what the ledger commits to, without encoding the whole and reading it back."""
    return {EVENT: event_member(event, record), **content_members(record, subject_kind)}


def event_member(event: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The member ``event``: the event and the record version's provenance, what the store
    assigns (ids, instants) and the version's content hash."""
    return {
        "id": event["id"],
        "kind": event["kind"],
        "at": _instant(event["occurred_at"]),
        "submission": event["submission_id"],
        "row": event["row_no"],
        "record": {
            "id": record["id"],
            "version": record["version"],
            "submission": record["submission_id"],
            "row": record["row_no"],
            "received_at": _instant(record["received_at"]),
            "content_hash": record["content_hash"],
        },
    }


def content_members(record: Mapping[str, Any], subject_kind: str) -> dict[str, Any]:
    """The members of a record event that the record version's content alone decides (the
    decision, the subject, each field), whichever event concerns it: what a validation worker
    can hash before the store has given the version an id (``seal_content``). Of ``record``,
    only the version's content is read: none of its ids or instants."""
    members = {
        "decision": {
            "document_key": record["document_key"],
            "record_type": record["record_type"],
            "authority": record["authority"],
            "document_no": record["document_no"],
            "decided_on": record["decided_on"],
            "effective_on": record["effective_on"],
            "severity": record["severity"],
            "amount": canonical_amount(record["amount"]),
        },
        "subject": {"identifier": record["subject"], "name": record["subject_name"]},
        "subject_shown": shown_identifier(record["subject"], subject_kind),
    }
    for name, value in record["fields"].items():
        members[FIELD_MEMBER + name] = value
    return members


def seal_content(record: Mapping[str, Any], subject_kind: str, salt: bytes) -> Sealed:
    """The content members of the event that will store ``record`` (a new version) about a
    subject of ``subject_kind``, hashed under that event's ``salt``: the store then hashes only
    the member ``event`` (``record_batch_history``)."""
    return seal(salt, content_members(record, subject_kind), later=(EVENT,))


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
                events.c.submission_id.label("event_submission_id"),
                events.c.row_no.label("event_row_no"),
                records,
                Subject.identifier.label("subject"),
                Subject.kind.label("subject_kind"),
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
                "submission_id": row["event_submission_id"],
                "row_no": row["event_row_no"],
            }
            payloads[str(row["event_id"])] = event_payload(event, dict(row), row["subject_kind"])
    return payloads


def _subject_kinds(session: Session, subject_ids: Collection[int]) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for chunk in chunked(sorted(subject_ids)):
        rows = session.execute(
            select(Subject.id, Subject.kind).where(among(session.connection(), Subject.id, chunk))
        )
        kinds.update((subject_id, kind) for subject_id, kind in rows)
    return kinds


class _BatchLeaves:
    """A batch's record events as leaves, each made as ``append`` reaches it: one event's
    members are alive at a time, where a list of them all would hold a batch's worth of dicts
    for the garbage collector to walk (in ingest, more than their encoding and reading back
    saved)."""

    def __init__(
        self,
        events: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
        sealed: Sequence[tuple[Sealed, str] | None],
        kinds: Mapping[int, str],
    ) -> None:
        self._events, self._sealed, self._kinds = events, sealed, kinds
        # A sealed event's payload is not whole here: the ledger can log it only if it keeps
        # no payload of record events, rebuilding them at verification (as once assembled).
        self._rebuilt = source_prefix(KIND_PREFIX + "submitted") is not None

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[LeafInput]:
        leaf = self._leaf
        for (event, record), sealed in zip(self._events, self._sealed, strict=True):
            yield leaf(event, record, sealed)

    def _leaf(
        self,
        event: Mapping[str, Any],
        record: Mapping[str, Any],
        sealed: tuple[Sealed, str] | None,
    ) -> LeafInput:
        kind, ref = f"{KIND_PREFIX}{event['kind']}", str(event["id"])
        subject_kind = self._kinds[record["subject_id"]]
        # Sealed for a subject of another kind than the store holds, the masked identifier the
        # seal holds is not the one verification rebuilds: the whole event is hashed here.
        if sealed is not None and sealed[1] == subject_kind and self._rebuilt:
            return LeafInput(kind, ref, {EVENT: event_member(event, record)}, sealed[0])
        return LeafInput(kind, ref, event_members(event, record, subject_kind))


def record_batch_history(
    session: Session,
    events: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    sealed: Sequence[tuple[Sealed, str] | None] | None = None,
    kinds: Mapping[int, str] | None = None,
) -> list[int]:
    """Append a batch's record events to the ledger, in the caller's transaction; returns
    each event's leaf index.

    ``sealed``: for each event, None to hash the whole event here, or its record version's
    content members hashed ahead under the event's salt (``seal_content`` over that very
    record) with the kind of subject they were hashed for.

    ``kinds``: the kind the store holds of each subject of the events, if the caller read them
    in this transaction (read here otherwise).
    """
    if kinds is None:
        kinds = _subject_kinds(session, {record["subject_id"] for _, record in events})
    if sealed is None:
        sealed = [None] * len(events)
    return append(session, _BatchLeaves(events, sealed, kinds))
