"""Public statistics: aggregates only, never a row about one subject.

Each section is one entry of ``SECTIONS``: a code (``/v1/stats/{code}``), a title, the query
that computes it and a test of whether the store has what it needs. A new section (a new
feature's tables) is one more entry here; the API and the page pick it up.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    String,
    column,
    func,
    inspect,
    select,
    table,
)
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import UTCDateTime, china_day
from xinyong.enforcement.models import CheckLogRow, EntryRow
from xinyong.policy import Pack
from xinyong.records.models import Subject

MONTHS_SHOWN = 36
FRESH_SECONDS = 60.0
"""How long computed statistics are served before they are computed again."""
Stats = dict[str, Any]


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    """An English message id; pages translate it."""
    query: Callable[[Session, Pack, date], Stats]
    tables: tuple[str, ...]
    """The tables the query reads: the section is shown once they all exist."""

    def available(self, connection: Connection) -> bool:
        present = set(inspect(connection).get_table_names())
        return all(name in present for name in self.tables)


def _month(session: Session, value: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a date or timestamp column, in the store's SQL dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(value, "YYYY-MM")
    return func.strftime("%Y-%m", value)


def _recent(months: set[str], day: date) -> list[str]:
    """Every month from the first with data to ``day``'s, at most the last ``MONTHS_SHOWN``."""
    if not months:
        return []
    first = min(months)
    year, month = int(first[:4]), int(first[5:7])
    upto = f"{day:%Y-%m}"
    shown: list[str] = []
    while f"{year:04d}-{month:02d}" <= upto:
        shown.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return shown[-MONTHS_SHOWN:]


def listings(session: Session, pack: Pack, day: date) -> Stats:
    """Entries started (listings) and ended (delistings) per month, by list kind."""
    listed: Counter[tuple[str, str]] = Counter()
    delisted: Counter[tuple[str, str]] = Counter()
    kinds = {code: str(item.kind) for code, item in pack.lists.items()}
    started = _month(session, EntryRow.started_on)
    ended = _month(session, EntryRow.ended_on)
    for code, month, count in session.execute(
        select(EntryRow.list_code, started, func.count()).group_by(EntryRow.list_code, started)
    ):
        listed[kinds.get(code, "other"), month] += count
    for code, month, count in session.execute(
        select(EntryRow.list_code, ended, func.count())
        .where(EntryRow.ended_on <= day)
        .group_by(EntryRow.list_code, ended)
    ):
        delisted[kinds.get(code, "other"), month] += count
    months = _recent({month for _, month in listed} | {month for _, month in delisted}, day)
    kinds_seen = sorted({kind for kind, _ in listed} | {kind for kind, _ in delisted})
    return {
        "months": months,
        "series": [
            {
                "kind": kind,
                "listed": [listed[kind, month] for month in months],
                "delisted": [delisted[kind, month] for month in months],
            }
            for kind in kinds_seen
        ],
    }


def entries(session: Session, pack: Pack, day: date) -> Stats:
    """Entries in force on ``day``, by list and by the subject's region."""
    active = (EntryRow.started_on <= day) & (EntryRow.ended_on > day)
    by_list = dict(
        session.execute(
            select(EntryRow.list_code, func.count()).where(active).group_by(EntryRow.list_code)
        ).all()
    )
    by_region = session.execute(
        select(Subject.region, func.count())
        .join(EntryRow, EntryRow.subject_id == Subject.id)
        .where(active)
        .group_by(Subject.region)
        .order_by(func.count().desc())
    ).all()
    return {
        "as_of": day.isoformat(),
        "by_list": [
            {
                "list": code,
                "kind": str(item.kind),
                "name": item.name.model_dump(),
                "entries": by_list.get(code, 0),
            }
            for code, item in pack.lists.items()
        ],
        "by_region": [{"region": region, "entries": count} for region, count in by_region],
    }


def checks(session: Session, pack: Pack, day: date) -> Stats:
    """Checks per month by action and effect (e.g. air tickets denied), from the check log."""
    month = _month(session, CheckLogRow.checked_at)
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for action, effect, at, count in session.execute(
        select(CheckLogRow.action, CheckLogRow.effect, month, func.count()).group_by(
            CheckLogRow.action, CheckLogRow.effect, month
        )
    ):
        counts[action, effect][at] += count
    months = _recent({at for series in counts.values() for at in series}, day)
    return {
        "months": months,
        "series": [
            {
                "action": action,
                "name": pack.actions[action].name.model_dump() if action in pack.actions else None,
                "effect": effect,
                "checks": [series[at] for at in months],
                "total": sum(series.values()),
            }
            for (action, effect), series in sorted(counts.items())
        ],
    }


CASES = table(
    "rights_cases",
    column("kind", String),
    column("status", String),
    column("received_on", Date),
    column("decided_at", UTCDateTime),
)


def cases(session: Session, pack: Pack, day: date) -> Stats:
    """Objections and repair applications by outcome, and their median days to a decision."""
    outcomes: Counter[tuple[str, str]] = Counter()
    waits: dict[str, list[int]] = defaultdict(list)
    for kind, status, received_on, decided_at in session.execute(
        select(CASES.c.kind, CASES.c.status, CASES.c.received_on, CASES.c.decided_at)
    ):
        outcomes[kind, status] += 1
        if decided_at is not None:
            decided = china_day(decided_at)
            waits[kind].append((decided - received_on).days)
    kinds = sorted({kind for kind, _ in outcomes})
    return {
        "kinds": [
            {
                "kind": kind,
                "received": sum(n for (k, _), n in outcomes.items() if k == kind),
                "by_status": {s: n for (k, s), n in sorted(outcomes.items()) if k == kind},
                "decided": len(waits[kind]),
                "median_days_to_decision": median(waits[kind]) if waits[kind] else None,
            }
            for kind in kinds
        ]
    }


SECTIONS: dict[str, Section] = {
    section.code: section
    for section in (
        Section("listings", "Listings and delistings per month", listings, ("entries",)),
        Section("entries", "Entries in force by list and by region", entries, ("entries",)),
        Section("checks", "Checks by action and effect", checks, ("check_log",)),
        Section("cases", "Objections and repairs", cases, ("rights_cases",)),
    )
}


class PublishedStats:
    """The sections computed at most once a minute (and again when China's day turns), however
    many visitors ask: the checks section groups the whole check log, and an anonymous route
    that did that per request would let anyone keep the store busy."""

    def __init__(self, fresh_seconds: float = FRESH_SECONDS) -> None:
        self.fresh_seconds = fresh_seconds
        self._lock = threading.Lock()
        self._kept: tuple[float, date, dict[str, Stats]] | None = None

    def sections(self, factory: sessionmaker[Session], pack: Pack, day: date) -> dict[str, Stats]:
        """Every section the store has data for, by code."""
        with self._lock:  # one computation at a time; the others wait for it and share it
            kept = self._kept
            now = time.monotonic()
            if kept is not None and kept[1] == day and now - kept[0] < self.fresh_seconds:
                return kept[2]
            with factory() as session:
                connection = session.connection()
                computed = {
                    code: section.query(session, pack, day)
                    for code, section in SECTIONS.items()
                    if section.available(connection)
                }
            self._kept = (now, day, computed)
            return computed
