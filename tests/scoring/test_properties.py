"""Invariants of the reference kinds over random schemes and records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.policy import load_shipped
from xinyong.policy.schemes import PointsScheme
from xinyong.scoring import EntryFact, SubjectFacts, score
from xinyong.scoring.explain import explain_facts
from xinyong.scoring.packs import EvaluatedScheme

from .schemes import person, points, record

START = date(2024, 1, 1)
TYPES = ("health.blood_donation", "volunteer.service", "admin.penalty")


@st.composite
def schemes(draw: st.DrawFn) -> PointsScheme:
    low = draw(st.integers(-50, 50))
    high = draw(st.integers(low, low + 300))
    base = draw(st.integers(low, high))
    cut = draw(st.integers(low, high))
    rules: list[dict[str, Any]] = [
        {
            "code": f"rule_{index}",
            "name": {"zh": "规则", "en": "Rule"},
            "record_type": record_type,
            "points": draw(st.integers(-80, 80).filter(bool)),
            "window_months": draw(st.integers(1, 30)),
            "cap": draw(st.none() | st.integers(1, 100)),
            "severities": ["general"]
            if record_type == "admin.penalty" and draw(st.booleans())
            else [],
        }
        for index, record_type in enumerate(
            draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=4))
        )
    ]
    return points(
        base=base,
        min=low,
        max=high,
        rules=rules,
        category_caps=draw(
            st.dictionaries(st.sampled_from(["honours", "administrative"]), st.integers(1, 120))
        ),
        bands=[{"grade": "HIGH", "min": cut + 1}, {"grade": "LOW", "max": cut}],
    )


@st.composite
def subjects(draw: st.DrawFn) -> SubjectFacts:
    count = draw(st.integers(0, 12))
    return person(
        *(
            record(
                index,
                (record_type := draw(st.sampled_from(TYPES))),
                START + timedelta(days=draw(st.integers(0, 900))),
                severity=draw(st.sampled_from(["minor", "general", "serious"]))
                if record_type == "admin.penalty"
                else "none",
                status=draw(st.sampled_from(["active", "active", "withdrawn", "repaired"])),
                publicity_ends_on=draw(st.none() | st.dates(START, date(2028, 1, 1))),
            )
            for index in range(1, count + 1)
        )
    )


days = st.dates(START, date(2027, 12, 31))


@settings(max_examples=100, deadline=None)
@given(schemes(), subjects(), days)
def test_points_lie_within_bounds_and_sum_up(
    scheme: PointsScheme, facts: SubjectFacts, day: date
) -> None:
    result = score(scheme, facts, day)
    assert scheme.min <= (result.value or 0) <= scheme.max
    unclamped = scheme.base + sum(item.points for item in result.contributions)
    assert result.value == min(max(unclamped, scheme.min), scheme.max)
    assert result.grade == scheme.grade_of(result.value)


@settings(max_examples=100, deadline=None)
@given(schemes(), subjects(), days)
def test_no_contribution_outside_its_window(
    scheme: PointsScheme, facts: SubjectFacts, day: date
) -> None:
    by_id = {item.record_id: item for item in facts.records}
    for item in score(scheme, facts, day).contributions:
        assert item.window_start is not None and item.window_end is not None
        assert item.window_start <= day < item.window_end
        fact = by_id[item.record_id]
        assert fact.status == "active"
        assert fact.publicity_ends_on is None or day < fact.publicity_ends_on


@settings(max_examples=100, deadline=None)
@given(schemes(), subjects(), days)
def test_records_past_their_window_end_are_absent(
    scheme: PointsScheme, facts: SubjectFacts, day: date
) -> None:
    for item in score(scheme, facts, day).contributions:
        assert item.window_end is not None
        later = score(scheme, facts, item.window_end).contributions
        assert all(other.record_id != item.record_id for other in later)


@settings(max_examples=100, deadline=None)
@given(schemes(), subjects(), days)
def test_timeline_steps_are_the_scores_on_their_days(
    scheme: PointsScheme, facts: SubjectFacts, day: date
) -> None:
    pack = load_shipped("national")
    explanation = explain_facts(EvaluatedScheme(pack, scheme), facts, day)
    assert explanation.score == score(scheme, facts, day)
    previous = explanation.score
    for step in explanation.timeline:
        assert step.day > day
        now = score(scheme, facts, step.day)
        assert (step.value, step.grade) == (now.value, now.grade)
        assert set(step.leaving) == set(previous.contributions) - set(now.contributions)
        assert set(step.entering) == set(now.contributions) - set(previous.contributions)
        previous = now
    last = explanation.timeline[-1].day if explanation.timeline else day
    # After the last step nothing changes any more: every window has closed or never ends.
    assert score(scheme, facts, last + timedelta(days=3650)) == previous


SHIPPED = [
    EvaluatedScheme(pack, scheme)
    for pack in (load_shipped("city-pilot"),)
    for scheme in pack.schemes.values()
]


@st.composite
def citizens(draw: st.DrawFn) -> SubjectFacts:
    facts = draw(subjects())
    entries = tuple(
        EntryFact(
            draw(
                st.sampled_from(["court.defaulters", "tax.serious_violators", "hrss.wage_arrears"])
            ),
            index,
            (start := START + timedelta(days=draw(st.integers(0, 900)))),
            start + timedelta(days=draw(st.integers(1, 1000))),
        )
        for index in range(draw(st.integers(0, 3)))
    )
    return SubjectFacts(facts.subject_id, facts.identifier, facts.kind, facts.records, entries)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SHIPPED), citizens(), days)
def test_shipped_timelines_are_the_scores_on_their_days(
    evaluated: EvaluatedScheme, facts: SubjectFacts, day: date
) -> None:
    explanation = explain_facts(evaluated, facts, day)
    for step in explanation.timeline:
        now = score(evaluated.scheme, facts, step.day)
        assert (step.value, step.grade) == (now.value, now.grade)
    final = explanation.timeline[-1] if explanation.timeline else None
    last_day = final.day if final else day
    settled = score(evaluated.scheme, facts, last_day + timedelta(days=3650))
    assert (settled.value, settled.grade) == (
        (final.value, final.grade) if final else (explanation.score.value, explanation.score.grade)
    )
