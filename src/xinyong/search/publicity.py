"""What the public may see: the one rule every public page, API and the search index apply.

A record version is public on a day when its type's disclosure is ``public``, its grade is
marked ``published`` in the catalogue, its decision stands (not withdrawn or repaired) and the
day is inside the grade's maximum publicity period. An entry is public when the record that
grounds it is, or when its list is one its owner publishes (then without the record). A person is findable by name only while on a black list by a public record
(a *published defaulter*); organisations are public registrations and always findable.
"""

from __future__ import annotations

from datetime import date

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


def black_lists(pack: Pack) -> list[str]:
    return [code for code, item in pack.lists.items() if item.kind == ListKind.BLACK]
