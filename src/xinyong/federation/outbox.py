"""What a link sends: the record events after its cursor, in ledger order, as batch items.

The outbox is the store's record event log itself. Every change (a submission, correction or
withdrawal, a dispute and its resolution, a repair) writes its event and the event's ledger
leaf in the transaction that makes the change, and leaves are appended under the ledger head's
lock, so leaf order is commit order: a link that reads the events after the last leaf it sent
never misses one that committed late, and a new link starts from the first event there is.

An item carries the record version as an authority would submit it (``record``) and where it
was first accepted (``accepted``), or, for a mark (disputed, resolved, repaired), the document
it concerns. ``origin`` is the node where the change was made. Expiry is not sent: every node
applies the same rules to the same records.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from xinyong.clock import as_utc
from xinyong.federation.links import Direction, Link, listed_types
from xinyong.ledger.service import ledger_size
from xinyong.policy import Pack
from xinyong.records.history import canonical_amount
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.store.bulk import among, chunked

OPS = {"submitted": "submit", "corrected": "correct", "withdrawn": "withdraw"}
MARKS = ("disputed", "resolved", "repaired")
SENT_KINDS = (*OPS, *MARKS)


@dataclass(frozen=True)
class Scan:
    """The items for one batch, and the last ledger position read to find them."""

    items: list[dict[str, Any]]
    through: int


def _instant(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds")


def _item(row: RowMapping, here: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "position": row["ledger_leaf"],
        "kind": row["kind"],
        "origin": row["event_origin"] or here,
        "at": _instant(row["occurred_at"]),
    }
    if row["kind"] in MARKS:
        item["document"] = {
            "authority": row["authority"],
            "record_type": row["record_type"],
            "document_no": row["document_no"],
        }
        return item
    item["record"] = {
        "op": OPS[row["kind"]],
        "record_type": row["record_type"],
        "subject_id": row["identifier"],
        "subject_name": row["subject_name"],
        "authority": row["authority"],
        "document_no": row["document_no"],
        "decided_on": row["decided_on"].isoformat(),
        "effective_on": row["effective_on"].isoformat(),
        "severity": row["severity"],
        "amount": canonical_amount(row["amount"]),
        "fields": row["fields"],
    }
    item["accepted"] = {
        "node": row["origin_node"] or here,
        "record": row["origin_record_id"] or row["record_id"],
        "at": _instant(row["origin_received_at"] or row["received_at"]),
    }
    return item


def _held_by(session: Session, child: str, keys: Sequence[str]) -> set[str]:
    """Which of the documents ``keys`` came here from ``child``."""
    held: set[str] = set()
    connection = session.connection()
    for chunk in chunked(sorted(set(keys))):
        held.update(
            session.scalars(
                select(Record.document_key)
                .where(among(connection, Record.document_key, chunk), Record.via_node == child)
                .distinct()
            )
        )
    return held


def scan(session: Session, pack: Pack, here: str, link: Link, after: int, limit: int) -> Scan:
    """The items for ``link`` among the next ``limit`` record events after position ``after``
    that did not come from it; through the end of the log when fewer are there.

    Events that came from the neighbour are passed over in the query (on a node in the middle
    of a network, most of them) rather than read and dropped."""
    # Read before the events: every leaf below the size it gives has committed (leaves are
    # appended under the head's lock, in the transaction that makes their event).
    last = ledger_size(session) - 1
    if last <= after:
        return Scan([], after)
    records = Record.__table__
    rows = (
        session.execute(
            select(
                RecordEvent.ledger_leaf,
                RecordEvent.kind,
                RecordEvent.occurred_at,
                RecordEvent.origin_node.label("event_origin"),
                RecordEvent.record_id,
                records.c.document_key,
                records.c.record_type,
                records.c.authority,
                records.c.document_no,
                records.c.subject_name,
                records.c.decided_on,
                records.c.effective_on,
                records.c.severity,
                records.c.amount,
                records.c.fields,
                records.c.received_at,
                records.c.origin_node,
                records.c.origin_record_id,
                records.c.origin_received_at,
                Subject.identifier,
            )
            .join(records, records.c.id == RecordEvent.record_id)
            .join(Subject, Subject.id == records.c.subject_id)
            .where(
                RecordEvent.ledger_leaf > after,
                RecordEvent.ledger_leaf <= last,
                RecordEvent.kind.in_(SENT_KINDS),
                # Never back where it came from.
                RecordEvent.via_node.is_distinct_from(link.name),
            )
            .order_by(RecordEvent.ledger_leaf)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    through = rows[-1]["ledger_leaf"] if len(rows) == limit else last
    fresh = rows
    if link.direction is Direction.CHILD:
        listed = listed_types(pack)
        held = _held_by(session, link.name, [row["document_key"] for row in fresh])
        fresh = [
            row for row in fresh if row["record_type"] in listed or row["document_key"] in held
        ]
    return Scan([_item(row, here) for row in fresh], through)
