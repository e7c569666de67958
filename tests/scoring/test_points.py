"""The points kind on hand-built facts: windows, caps, clamps, bands and overrides."""

from __future__ import annotations

from datetime import date

import pytest

from xinyong.policy.schemes import PointsScheme
from xinyong.scoring import Contribution, get_kind, score
from xinyong.scoring.kinds import changes

from .schemes import person, points, record

DAY = date(2026, 6, 1)


def test_base_when_nothing_counts() -> None:
    result = score(points(), person(), DAY)
    assert (result.value, result.grade, result.contributions) == (100, "B", ())


def test_a_record_counts_from_its_effective_day_until_its_window_ends() -> None:
    facts = person(record(7, "health.blood_donation", date(2026, 1, 31)))
    scheme = points()
    assert score(scheme, facts, date(2026, 1, 30)).value == 100
    on_first_day = score(scheme, facts, date(2026, 1, 31))
    assert on_first_day.contributions == (
        Contribution(7, "donation", 10, date(2026, 1, 31), date(2027, 1, 31)),
    )
    assert score(scheme, facts, date(2027, 1, 30)).value == 110
    assert score(scheme, facts, date(2027, 1, 31)).value == 100


def test_window_from_a_month_end_ends_on_the_shorter_months_last_day() -> None:
    facts = person(record(1, "admin.penalty", date(2025, 8, 31), severity="general"))
    [contribution] = score(points(), facts, date(2025, 9, 1)).contributions
    assert contribution.window_end == date(2026, 2, 28)


def test_public_schemes_stop_at_the_maximum_publicity_period() -> None:
    facts = person(
        record(1, "health.blood_donation", date(2026, 1, 1), publicity_ends_on=date(2026, 3, 1))
    )
    assert score(points(), facts, date(2026, 2, 28)).value == 110
    assert score(points(), facts, date(2026, 3, 1)).value == 100


def test_financial_schemes_stop_at_the_maximum_period_too_but_count_repaired_records() -> None:
    scheme = points(
        domain="financial",
        rules=[
            {
                "code": "default",
                "name": {"zh": "逾期", "en": "Default"},
                "record_type": "bank.loan_default",
                "points": -20,
                "window_months": 60,
            }
        ],
    )
    ended = date(2026, 3, 1)
    facts = person(
        record(1, "bank.loan_default", date(2026, 1, 1), publicity_ends_on=ended),
        record(2, "bank.loan_default", date(2026, 1, 2), status="repaired"),
    )
    assert score(scheme, facts, date(2026, 2, 28)).value == 60
    assert [item.record_id for item in score(scheme, facts, ended).contributions] == [2]


def test_withdrawn_and_repaired_records_do_not_count_in_a_public_scheme() -> None:
    facts = person(
        record(1, "admin.penalty", date(2026, 1, 1), status="withdrawn"),
        record(2, "admin.penalty", date(2026, 1, 2), status="repaired"),
    )
    assert score(points(), facts, date(2026, 2, 1)).contributions == ()


def test_rule_cap_gives_the_record_that_reaches_it_what_is_left() -> None:
    scheme = points(
        rules=[
            {
                "code": "donation",
                "name": {"zh": "献血", "en": "Donation"},
                "record_type": "health.blood_donation",
                "points": 10,
                "window_months": 12,
                "cap": 25,
            }
        ]
    )
    facts = person(*(record(n, "health.blood_donation", date(2026, 1, n)) for n in (3, 1, 2, 4)))
    result = score(scheme, facts, DAY)
    assert [(item.record_id, item.points) for item in result.contributions] == [
        (1, 10),
        (2, 10),
        (3, 5),
    ]
    assert result.value == 125


def test_category_cap_applies_after_rule_caps_and_to_additions_only() -> None:
    scheme = points(category_caps={"honours": 15, "administrative": 40})
    facts = person(
        record(1, "health.blood_donation", date(2026, 1, 1)),
        record(2, "health.blood_donation", date(2026, 1, 2)),
        record(3, "admin.penalty", date(2026, 1, 3), severity="general"),
        record(4, "admin.penalty", date(2026, 1, 4), severity="general"),
    )
    result = score(scheme, facts, date(2026, 2, 1))
    assert [item.points for item in result.contributions] == [10, 5, -30, -10]
    assert result.value == 100 + 15 - 40


@pytest.mark.parametrize(("penalties", "value"), [(0, 100), (3, 10), (4, 0), (5, 0)])
def test_value_is_clamped_to_min(penalties: int, value: int) -> None:
    facts = person(
        *(
            record(n, "admin.penalty", date(2026, 5, n + 1), severity="minor")
            for n in range(penalties)
        )
    )
    result = score(points(), facts, DAY)
    assert result.value == value
    assert sum(item.points for item in result.contributions) == -30 * penalties


def test_value_is_clamped_to_max() -> None:
    facts = person(*(record(n, "health.blood_donation", date(2026, 1, n)) for n in range(1, 13)))
    assert score(points(), facts, DAY).value == 200


@pytest.mark.parametrize(("donations", "grade"), [(0, "B"), (1, "B"), (2, "A")])
def test_bands_at_their_edges(donations: int, grade: str) -> None:
    scheme = points(base=100, bands=[{"grade": "A", "min": 120}, {"grade": "B", "max": 119}])
    facts = person(
        *(record(n, "health.blood_donation", date(2026, 1, n + 1)) for n in range(donations))
    )
    assert score(scheme, facts, DAY).grade == grade


def test_band_edges_of_the_city_scheme(city_points: PointsScheme) -> None:
    edges = {
        1050: "AAA",
        1049: "AA",
        1030: "AA",
        1029: "A",
        960: "A",
        959: "B",
        850: "B",
        849: "C",
        600: "C",
        599: "D",
        0: "D",
        2000: "AAA",
    }
    assert {value: city_points.grade_of(value) for value in edges} == edges


def test_a_record_counts_under_the_first_rule_it_matches_only() -> None:
    scheme = points(
        rules=[
            {
                "code": "serious",
                "name": {"zh": "重", "en": "Serious"},
                "record_type": "admin.penalty",
                "severities": ["serious"],
                "points": -50,
                "window_months": 12,
            },
            {
                "code": "any",
                "name": {"zh": "任", "en": "Any"},
                "record_type": "admin.penalty",
                "points": -10,
                "window_months": 12,
            },
        ]
    )
    facts = person(
        record(1, "admin.penalty", date(2026, 1, 1), severity="serious"),
        record(2, "admin.penalty", date(2026, 1, 1), severity="minor"),
    )
    assert [(c.record_id, c.rule, c.points) for c in score(scheme, facts, DAY).contributions] == [
        (1, "serious", -50),
        (2, "any", -10),
    ]


def test_amount_conditions_are_inclusive_and_need_an_amount() -> None:
    scheme = points(
        rules=[
            {
                "code": "large",
                "name": {"zh": "大", "en": "Large"},
                "record_type": "admin.penalty",
                "min_amount": 1000,
                "max_amount": 5000,
                "points": -20,
                "window_months": 12,
            },
        ]
    )
    facts = person(
        *(
            record(n, "admin.penalty", date(2026, 1, 1), severity="general", amount=amount)
            for n, amount in enumerate([None, 999.99, 1000, 5000, 5000.01])
        )
    )
    assert [c.record_id for c in score(scheme, facts, DAY).contributions] == [2, 3]


def test_override_gives_its_grade_when_its_conditions_and_min_value_hold() -> None:
    scheme = points(
        overrides=[
            {
                "grade": "M",
                "min_value": 90,
                "all": [{"records": {"record_type": "volunteer.service"}, "window_months": 12}],
            },
        ]
    )
    new = person(record(1, "volunteer.service", date(2026, 1, 1)))
    assert score(scheme, new, DAY).grade == "M"
    assert score(scheme, new, date(2027, 1, 1)).grade == "B"
    penalised = person(
        record(1, "volunteer.service", date(2026, 1, 1)),
        record(2, "admin.penalty", date(2026, 5, 1), severity="general"),
    )
    assert score(scheme, penalised, DAY).grade == "C"


def test_changes_are_the_later_window_edges() -> None:
    facts = person(
        record(1, "health.blood_donation", date(2026, 1, 1)),
        record(2, "admin.penalty", date(2026, 7, 1), severity="general"),
        record(3, "health.blood_donation", date(2020, 1, 1)),
    )
    assert changes(points(), facts, DAY) == {date(2026, 7, 1), date(2027, 1, 1)}
    assert get_kind("points").changes(points(), facts, DAY) == {
        date(2027, 1, 1),
        date(2026, 7, 1),
    }


def test_unknown_kind_is_named() -> None:
    with pytest.raises(KeyError, match="no scheme kind 'bogus'"):
        get_kind("bogus")
