"""What the public may see: the one rule every public page, API and the search index apply.

A record version is public on a day when its type's disclosure is ``public``, its grade is
marked ``published`` in the catalogue, its decision stands (not withdrawn or repaired) and the
day is inside the grade's maximum publicity period. An entry is public when the record that
grounds it is, or when its list is one its owner publishes (then without the record). A person is findable by name only while on a black list by a public record
(a *published defaulter*); organisations are public registrations and always findable.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from xinyong.policy import Pack
from xinyong.policy.catalogue import Disclosure, Severity
from xinyong.policy.lists import ListKind
from xinyong.records.facts import add_months

STANDING = "active"
"""The head status of a decision that still stands."""


def publication_ends(pack: Pack, record_type: str, severity: str, decided_on: date) -> date | None:
    """The first day the record is no longer shown (None: shown while it stands)."""
    period = pack.record_types[record_type].severities.get(Severity(severity))
    if period is None or period.max_months is None:
        return None
    return add_months(decided_on, period.max_months)


def is_public(
    pack: Pack, record_type: str, severity: str, decided_on: date, status: str, day: date
) -> bool:
    kind = pack.record_types.get(record_type)
    if kind is None or kind.disclosure != Disclosure.PUBLIC or status != STANDING:
        return False
    period = kind.severities.get(Severity(severity))
    if period is None or not period.published:
        return False
    ends = publication_ends(pack, record_type, severity, decided_on)
    return ends is None or day < ends


def list_published(pack: Pack, list_code: str, status: str) -> bool:
    """Whether an entry on ``list_code`` is public whatever its record's disclosure: the list's
    owner publishes the list itself, and the decision that grounds the entry still stands."""
    credit_list = pack.lists.get(list_code)
    return credit_list is not None and credit_list.published and status == STANDING


@cache
def first_public_day(months: int, day: date) -> date:
    """The earliest decision day whose publicity period of ``months`` still covers ``day``:
    ``add_months`` clamps to a month's end, so the answer is found by stepping, not computed."""
    earliest = add_months(day, -months)
    while add_months(earliest, months) <= day:
        earliest += timedelta(days=1)
    while add_months(earliest - timedelta(days=1), months) > day:
        earliest -= timedelta(days=1)
    return earliest


def public_clause(
    pack: Pack, day: date, record_type: Any, severity: Any, decided_on: Any, status: Any
) -> ColumnElement[bool]:
    """``is_public`` as a SQL condition on the given columns, so that a store filters, counts
    and pages public rows itself. One arm per grade and publicity period, naming the public
    types that publish that grade for that long (a few arms, each a cheap set lookup)."""
    types: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for code, kind in pack.record_types.items():
        if kind.disclosure != Disclosure.PUBLIC:
            continue
        for grade, period in kind.severities.items():
            if period.published:
                types[str(grade), period.max_months].append(code)
    arms = []
    for (published, months), codes in sorted(types.items(), key=str):
        arm = and_(severity == published, record_type.in_(codes))
        if months is not None:
            arm = and_(arm, decided_on >= first_public_day(months, day))
        arms.append(arm)
    return and_(status == STANDING, or_(*arms)) if arms else false()


def black_lists(pack: Pack) -> list[str]:
    return [code for code, item in pack.lists.items() if item.kind == ListKind.BLACK]
