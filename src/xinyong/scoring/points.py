"""The ``points`` kind: a base, points per qualifying record in its window, caps, a clamp, bands.

Records are taken in order of effective date (then record id); each counts under the first
rule it matches. Caps bound what a rule, and then what a catalogue category, can add and
deduct (additions and deductions separately): the record that reaches a cap gets what is
left, later ones nothing. The value is ``base + sum of contributions`` clamped to
``[min, max]``; an override whose conditions hold gives its grade, otherwise the bands do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from xinyong.policy import Category
from xinyong.policy.schemes import PointsRule, PointsScheme, SchemeKind
from xinyong.records.facts import RecordFact
from xinyong.scoring.conditions import condition_days, first_tier
from xinyong.scoring.facts import Contribution, Score, SubjectFacts
from xinyong.scoring.kinds import Kind, register
from xinyong.scoring.windows import counts, later_days, matches, window, within


def _rule_of(scheme: PointsScheme, record: RecordFact) -> PointsRule | None:
    return next((rule for rule in scheme.rules if matches(rule, record)), None)


def _ordered(facts: SubjectFacts) -> list[RecordFact]:
    return sorted(facts.records, key=lambda record: (record.effective_on, record.record_id))


def _granted(points: int, cap: int | None, used: int) -> int:
    """What is left of ``points`` under ``cap`` once ``used`` points (absolute) are spent."""
    if cap is None:
        return points
    left = max(cap - used, 0)
    return min(points, left) if points > 0 else max(points, -left)


class Points(Kind[PointsScheme]):
    name = SchemeKind.POINTS

    def score(self, scheme: PointsScheme, facts: SubjectFacts, as_of: date) -> Score:
        by_rule: dict[str, int] = defaultdict(int)
        by_category: dict[tuple[Category, bool], int] = defaultdict(int)
        contributions: list[Contribution] = []
        for record in _ordered(facts):
            rule = _rule_of(scheme, record) if counts(scheme, record) else None
            if rule is None:
                continue
            start, end = window(scheme, record, rule.window_months)
            if not within(as_of, start, end):
                continue
            points = _granted(rule.points, rule.cap, by_rule[rule.code])
            by_rule[rule.code] += abs(points)
            side = (record.category, points > 0)
            points = _granted(points, scheme.category_caps.get(record.category), by_category[side])
            by_category[side] += abs(points)
            if points:
                contributions.append(Contribution(record.record_id, rule.code, points, start, end))
        value = min(
            max(scheme.base + sum(item.points for item in contributions), scheme.min), scheme.max
        )
        override = first_tier(scheme, scheme.overrides, facts, as_of, value, "overrides")
        if override is not None:
            tier, reasons = override
            return Score(value, tier.grade, (*contributions, *reasons))
        return Score(value, scheme.grade_of(value), tuple(contributions))

    def changes(self, scheme: PointsScheme, facts: SubjectFacts, as_of: date) -> set[date]:
        days = condition_days(scheme, scheme.overrides, facts, as_of)
        for record in facts.records:
            rule = _rule_of(scheme, record) if counts(scheme, record) else None
            if rule is not None:
                days |= later_days(as_of, *window(scheme, record, rule.window_months))
        return days


register(Points())
