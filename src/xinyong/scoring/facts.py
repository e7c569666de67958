"""What a scheme reads about one subject, and what a score says: plain values, no IO.

A ``SubjectFacts`` holds only the subject's own current records and list entries; a scheme
kind is handed nothing else, so no score can depend on another subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from xinyong.policy import SubjectKind
from xinyong.records.facts import RecordFact


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
