"""What a scheme reads about one subject, and what a score says: plain values, no IO.

A ``SubjectFacts`` holds only the subject's own current records and list entries; a scheme
kind is handed nothing else, so no score can depend on another subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from xinyong.enforcement.rules import add_months
from xinyong.policy import Category, Domain, Pack, Severity, SubjectKind

WITHDRAWN = "withdrawn"
REPAIRED = "repaired"


@dataclass(frozen=True, slots=True)
class RecordFact:
    """The current version of one of the subject's decisions, as schemes read it."""

    record_id: int
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
    """``active``, ``withdrawn`` (the decision was revoked) or ``repaired`` (publicity ended
    early by credit repair)."""
    publicity_ends_on: date | None
    """End (exclusive) of the record's maximum publicity period; ``None`` for no end."""


@dataclass(frozen=True, slots=True)
class EntryFact:
    """One of the subject's list entries: on the list on ``started_on <= day < ended_on``."""

    list_code: str
    record_id: int
    started_on: date
    ended_on: date

    def active_on(self, day: date) -> bool:
        return self.started_on <= day < self.ended_on


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """One subject's records and entries: everything a scheme may read about it."""

    subject_id: int
    identifier: str
    kind: SubjectKind
    records: tuple[RecordFact, ...] = ()
    entries: tuple[EntryFact, ...] = ()


@dataclass(frozen=True, slots=True)
class Contribution:
    """One reason behind a score: a record (or a feature) under a rule, and its window.

    The window is ``window_start <= day < window_end``; ``window_end`` ``None`` has no end.
    """

    record_id: int | None
    rule: str
    points: int
    window_start: date | None
    window_end: date | None


@dataclass(frozen=True, slots=True)
class Score:
    """A subject's value (``None`` for tiers, which give only a grade), grade and reasons."""

    value: int | None
    grade: str
    contributions: tuple[Contribution, ...] = field(default=())


def record_fact(
    pack: Pack,
    *,
    record_id: int,
    document_no: str,
    record_type: str,
    severity: str,
    amount: float | None,
    fields: Mapping[str, Any],
    decided_on: date,
    effective_on: date,
    status: str,
) -> RecordFact | None:
    """The record as the schemes of ``pack`` read it; ``None`` if its type is not in the pack."""
    item = pack.record_types.get(record_type)
    if item is None:
        return None
    period = item.severities.get(Severity(severity))
    ends = (
        add_months(decided_on, period.max_months)
        if period is not None and period.max_months is not None
        else None
    )
    return RecordFact(
        record_id,
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
        ends,
    )
