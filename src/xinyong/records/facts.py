"""What the list rules and the scoring schemes read of a record, and the one loader of it.

A ``RecordFact`` is the current version of one decision as plain values (no IO): the entry
rules (``xinyong.enforcement.rules``) and every scheme kind (``xinyong.scoring``) read the same
type, so a withdrawal, a repair or the maximum publicity period mean the same thing to both.
``read_records`` reads the current versions of some subjects' records once; ``facts`` makes
them facts for any pack (the pack gives each type's category, domain and publicity period).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.orm import aliased

from xinyong.clock import china_day
from xinyong.policy import Category, Domain, Pack, Severity
from xinyong.records.models import Record, RecordEvent, RecordHead
from xinyong.store.bulk import among, chunked

ACTIVE = "active"
WITHDRAWN = "withdrawn"
REPAIRED = "repaired"
ENDED_STATUSES = (WITHDRAWN, REPAIRED)
"""Head statuses (and event kinds) after which a record grounds nothing: a revoked decision, or
one whose publicity a credit repair ended. Both end its consequences from the event's day."""


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day if it is shorter (Jan 31 + 1)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def publicity_end(pack: Pack, record_type: str, severity: str, decided_on: date) -> date | None:
    """The end (exclusive) of a record's maximum publicity period: after it the record grounds
    nothing; ``None`` for no end."""
    period = pack.record_type(record_type).severities.get(Severity(severity))
    if period is None or period.max_months is None:
        return None
    return add_months(decided_on, period.max_months)


@dataclass(frozen=True, slots=True)
class RecordFact:
    """The current version of one of the subject's decisions, as rules and schemes read it."""

    record_id: int
    document_key: str
    document_no: str
    record_type: str
    category: Category
    domain: Domain
    severity: str
    amount: float | None
    fields: Mapping[str, Any]
    decided_on: date
    effective_on: date
    status: str
    """``active``, ``withdrawn`` (the decision was revoked), ``repaired`` (publicity ended
    early by credit repair) or ``expired``."""
    publicity_ends_on: date | None
    """End (exclusive) of the record's maximum publicity period; ``None`` for no end."""
    withdrawn_on: date | None = None
    """The day in China the decision was withdrawn or repaired; ``None`` while it stands."""

    @property
    def repaired(self) -> bool:
        """Whether ``withdrawn_on`` is a credit repair rather than a revocation."""
        return self.status == REPAIRED


def record_fact(
    pack: Pack,
    *,
    record_id: int,
    document_key: str,
    document_no: str,
    record_type: str,
    severity: str,
    amount: float | None,
    fields: Mapping[str, Any],
    decided_on: date,
    effective_on: date,
    status: str,
    withdrawn_on: date | None = None,
) -> RecordFact | None:
    """The record as ``pack`` reads it; ``None`` if its type is not in the pack."""
    item = pack.record_types.get(record_type)
    if item is None:
        return None
    return RecordFact(
        record_id,
        document_key,
        document_no,
        record_type,
        item.category,
        item.domain,
        severity,
        amount,
        fields,
        decided_on,
        effective_on,
        status,
        publicity_end(pack, record_type, severity, decided_on),
        withdrawn_on if status in ENDED_STATUSES else None,
    )


@dataclass
class CurrentRecords:
    """The current record versions of some subjects, read once, as facts for any pack."""

    rows: dict[int, list[Row[Any]]] = field(default_factory=lambda: defaultdict(list))
    withdrawn_on: dict[int, date] = field(default_factory=dict)

    def facts(self, pack: Pack, subject_id: int) -> list[RecordFact]:
        """The subject's records of types in ``pack``, by record id."""
        made = (
            record_fact(
                pack,
                record_id=row.id,
                document_key=row.document_key,
                document_no=row.document_no,
                record_type=row.record_type,
                severity=row.severity,
                amount=None if row.amount is None else float(row.amount),
                fields=row.fields,
                decided_on=row.decided_on,
                effective_on=row.effective_on,
                status=row.status,
                withdrawn_on=self.withdrawn_on.get(row.id),
            )
            for row in self.rows.get(subject_id, ())
        )
        return [fact for fact in made if fact is not None]


def read_records(
    connection: Connection,
    subject_ids: Sequence[int],
    record_types: Collection[str] | None = None,
) -> CurrentRecords:
    """The current versions of the records of ``subject_ids`` (of ``record_types`` only, when
    given), with the day each withdrawn or repaired one stopped grounding anything."""
    current = CurrentRecords()
    for chunk in chunked(subject_ids):
        query = (
            select(
                Record.id,
                Record.subject_id,
                Record.document_key,
                Record.document_no,
                Record.record_type,
                Record.severity,
                Record.amount,
                Record.fields,
                Record.decided_on,
                Record.effective_on,
                RecordHead.status,
            )
            .join(RecordHead, RecordHead.record_id == Record.id)
            .where(among(connection, Record.subject_id, chunk))
            .order_by(Record.id)
        )
        if record_types is not None:
            # Both keys of the index on (subject_id, record_type): a subject's records of the
            # types asked for, not all its records (one organisation may hold thousands of
            # penalties that no list's rule reads).
            query = query.where(Record.record_type.in_(sorted(record_types)))
        ended: list[int] = []
        for row in connection.execute(query):
            current.rows[row.subject_id].append(row)
            if row.status in ENDED_STATUSES:
                ended.append(row.id)
        current.withdrawn_on.update(_withdrawal_days(connection, ended))
    return current


def _withdrawal_days(connection: Connection, record_ids: Sequence[int]) -> dict[int, date]:
    """The day each record stopped grounding anything: its first withdrawal or repair event,
    on any version of its document (a repaired record may be corrected afterwards)."""
    days: dict[int, date] = {}
    current, version = aliased(Record), aliased(Record)
    for chunk in chunked(record_ids):
        for record_id, occurred_at in connection.execute(
            select(current.id, func.min(RecordEvent.occurred_at))
            .join(version, version.document_key == current.document_key)
            .join(RecordEvent, RecordEvent.record_id == version.id)
            .where(among(connection, current.id, chunk), RecordEvent.kind.in_(ENDED_STATUSES))
            .group_by(current.id)
        ):
            days[record_id] = china_day(occurred_at)
    return days
