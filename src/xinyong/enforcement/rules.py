"""The reference evaluator: the entries one subject's records give it, by the list rules.

Plain Python, one subject at a time, no IO: this is the specification of entries that the
incremental refresh uses and that any batch engine must agree with. Every entry ends: at the
end of the list's duration (plus any extension), never after the grounding record's maximum
publicity period, earlier when a removal record takes effect or the grounding decision is
withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from xinyong.policy import Pack
from xinyong.policy.lists import CreditList, EntryRule
from xinyong.records.facts import RecordFact, add_months


class EndReason(StrEnum):
    PERIOD = "period"
    """The list's duration, or the grounding record's maximum period, ran out."""
    REMOVED = "removed"
    """A removal record (an obligation performed, a later rating) took effect."""
    WITHDRAWN = "withdrawn"
    """The grounding decision was revoked."""
    REPAIRED = "repaired"
    """Credit repair ended the grounding record's publicity early."""
    CORRECTED = "corrected"
    """The grounding record was corrected and no longer qualifies for the list."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A subject on a list, from ``started_on`` up to (not including) ``ended_on``."""

    list_code: str
    document_key: str
    record_id: int
    started_on: date
    period_ends_on: date
    ended_on: date
    end_reason: EndReason
    ended_by_record_id: int | None = None

    def active_on(self, day: date) -> bool:
        return self.started_on <= day < self.ended_on


def derive_entries(pack: Pack, records: Sequence[RecordFact]) -> list[Entry]:
    """Every entry that ``records`` (all of one subject's decisions) give the subject."""
    entries: list[Entry] = []
    for credit_list in pack.lists.values():
        for record in records:
            if any(_matches(rule, record) for rule in credit_list.entry):
                entry = _entry(credit_list, record, records)
                if entry is not None:
                    entries.append(entry)
    return entries


def _matches(rule: EntryRule, record: RecordFact) -> bool:
    if record.record_type != rule.record_type:
        return False
    if rule.severities and record.severity not in rule.severities:
        return False
    if rule.min_amount is not None and (
        record.amount is None or float(record.amount) < rule.min_amount
    ):
        return False
    return all(record.fields.get(name) in allowed for name, allowed in rule.fields.items())


def _entry(
    credit_list: CreditList, record: RecordFact, records: Iterable[RecordFact]
) -> Entry | None:
    start = record.effective_on
    months = credit_list.duration_months
    if credit_list.extension is not None:
        added = record.fields.get(credit_list.extension.field)
        if isinstance(added, int) and added > 0:
            months += min(added, credit_list.extension.max_months)
    period_end = add_months(start, months)
    cap = record.publicity_ends_on
    if cap is not None:
        period_end = min(period_end, cap)
    if period_end <= start:
        return None
    ended_on, reason, ended_by = period_end, EndReason.PERIOD, None
    removal = _first_removal(credit_list, record, records)
    if removal is not None and removal.effective_on < ended_on:
        ended_on, reason, ended_by = removal.effective_on, EndReason.REMOVED, removal.record_id
    if record.withdrawn_on is not None and record.withdrawn_on < ended_on:
        # A revoked decision ends every consequence at once; one revoked before it took
        # effect never held.
        reason = EndReason.REPAIRED if record.repaired else EndReason.WITHDRAWN
        ended_on, ended_by = max(start, record.withdrawn_on), None
    return Entry(
        credit_list.code,
        record.document_key,
        record.record_id,
        start,
        period_end,
        ended_on,
        reason,
        ended_by,
    )


def _first_removal(
    credit_list: CreditList, record: RecordFact, records: Iterable[RecordFact]
) -> RecordFact | None:
    rule = credit_list.removal
    if rule is None:
        return None
    candidates = [
        other
        for other in records
        if other.record_type in rule.record_types
        and other.withdrawn_on is None
        and other.record_id != record.record_id
        and other.effective_on >= record.effective_on
        and all(other.fields.get(name) == record.fields.get(name) for name in rule.same_fields)
    ]
    return min(candidates, key=lambda other: (other.effective_on, other.record_id), default=None)
