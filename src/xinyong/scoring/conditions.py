"""Tier conditions over a subject's records and list entries (used by tiers and overrides).

A condition that holds is explained by the facts that made it hold: the qualifying records
(each with its window) or the list entries, as contributions of 0 points.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from xinyong.policy.schemes import Condition, SchemeBase, Tier
from xinyong.scoring.facts import Contribution, SubjectFacts
from xinyong.scoring.windows import counts, later_days, matches, window, within


def evidence(
    scheme: SchemeBase, condition: Condition, facts: SubjectFacts, day: date, rule: str
) -> list[Contribution]:
    """The facts that make ``condition`` hold on ``day``; empty when it does not hold."""
    if condition.list is not None:
        return [
            Contribution(entry.record_id, rule, 0, entry.started_on, entry.ended_on)
            for entry in facts.entries
            if entry.list_code == condition.list and entry.active_on(day)
        ]
    assert condition.records is not None
    found = []
    for record in facts.records:
        if counts(scheme, record) and matches(condition.records, record):
            start, end = window(scheme, record, condition.window_months)
            if within(day, start, end):
                found.append(Contribution(record.record_id, rule, 0, start, end))
    return found if len(found) >= condition.min_count else []


def tier_evidence(
    scheme: SchemeBase,
    tier: Tier,
    facts: SubjectFacts,
    day: date,
    value: int | None,
    rule_prefix: str,
) -> list[Contribution] | None:
    """Why ``tier`` applies on ``day`` (the evidence of its ``all`` and ``any`` conditions),
    or ``None`` when it does not apply."""
    if tier.min_value is not None and (value is None or value < tier.min_value):
        return None
    reasons: list[Contribution] = []
    for index, condition in enumerate(tier.all):
        found = evidence(scheme, condition, facts, day, f"{rule_prefix}.all[{index}]")
        if not found:
            return None
        reasons.extend(found)
    if tier.any:
        held = [
            evidence(scheme, condition, facts, day, f"{rule_prefix}.any[{index}]")
            for index, condition in enumerate(tier.any)
        ]
        if not any(held):
            return None
        reasons.extend(contribution for found in held for contribution in found)
    for index, condition in enumerate(tier.none):
        if evidence(scheme, condition, facts, day, f"{rule_prefix}.none[{index}]"):
            return None
    return reasons


def first_tier(
    scheme: SchemeBase,
    tiers: Sequence[Tier],
    facts: SubjectFacts,
    day: date,
    value: int | None,
    key: str,
) -> tuple[Tier, list[Contribution]] | None:
    """The first tier that applies, with its evidence."""
    for tier in tiers:
        reasons = tier_evidence(scheme, tier, facts, day, value, f"{key}.{tier.grade}")
        if reasons is not None:
            return tier, reasons
    return None


def condition_days(
    scheme: SchemeBase, tiers: Sequence[Tier], facts: SubjectFacts, day: date
) -> set[date]:
    """Days after ``day`` on which a condition of ``tiers`` may start or stop holding."""
    days: set[date] = set()
    for tier in tiers:
        for _, condition in tier.conditions():
            if condition.list is not None:
                for entry in facts.entries:
                    if entry.list_code == condition.list:
                        days |= later_days(day, entry.started_on, entry.ended_on)
                continue
            assert condition.records is not None
            for record in facts.records:
                if counts(scheme, record) and matches(condition.records, record):
                    days |= later_days(day, *window(scheme, record, condition.window_months))
    return days
