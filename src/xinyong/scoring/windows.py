"""Which records a scheme counts, over which days, and which match a condition.

Shared by every kind, so that withdrawal, repair and the maximum publicity period mean the
same thing in all of them: a withdrawn record counts nowhere; in a public scheme a repaired
record does not count, and no record counts after its maximum publicity period.
"""

from __future__ import annotations

from datetime import date

from xinyong.policy import Domain
from xinyong.policy.schemes import RecordCondition, SchemeBase
from xinyong.records.facts import REPAIRED, WITHDRAWN, RecordFact, add_months


def counts(scheme: SchemeBase, record: RecordFact) -> bool:
    """Whether ``scheme`` may count ``record`` at all."""
    if record.status == WITHDRAWN:
        return False
    return not (scheme.domain is Domain.PUBLIC and record.status == REPAIRED)


def window(scheme: SchemeBase, record: RecordFact, months: int | None) -> tuple[date, date | None]:
    """The days ``record`` counts for: ``months`` from its effective date (``None``: no
    limit of the rule's own), never past its maximum publicity period: after it a record
    grounds no score in any domain."""
    start = record.effective_on
    end = add_months(start, months) if months is not None else None
    if record.publicity_ends_on is not None:
        end = record.publicity_ends_on if end is None else min(end, record.publicity_ends_on)
    return start, end


def within(day: date, start: date, end: date | None) -> bool:
    return start <= day and (end is None or day < end)


def matches(condition: RecordCondition, record: RecordFact) -> bool:
    """Whether ``record`` is of the condition's type and meets its grade, amount and fields."""
    if record.record_type != condition.record_type:
        return False
    if condition.severities and record.severity not in condition.severities:
        return False
    if condition.min_amount is not None and (
        record.amount is None or record.amount < condition.min_amount
    ):
        return False
    if condition.max_amount is not None and (
        record.amount is None or record.amount > condition.max_amount
    ):
        return False
    return all(record.fields.get(name) in allowed for name, allowed in condition.fields.items())


def later_days(day: date, *candidates: date | None) -> set[date]:
    """The candidate days after ``day``."""
    return {candidate for candidate in candidates if candidate is not None and candidate > day}
