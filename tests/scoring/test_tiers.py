"""The tiers kind on hand-built facts: order, all/any/none, counts, windows and lists."""

from __future__ import annotations

from datetime import date

from xinyong.scoring import Contribution, EntryFact, score
from xinyong.scoring.kinds import changes

from .schemes import person, record, tiers

DAY = date(2026, 6, 1)

RATING = tiers(
    [
        {"grade": "bad", "any": [{"list": "court.defaulters"}]},
        {
            "grade": "very_good",
            "none": [{"records": {"record_type": "admin.penalty"}, "window_months": 24}],
            "any": [
                {
                    "records": {"record_type": "volunteer.service"},
                    "window_months": 12,
                    "min_count": 2,
                },
                {"records": {"record_type": "health.blood_donation"}, "window_months": 24},
            ],
        },
        {"grade": "good"},
    ]
)

LISTED = EntryFact("court.defaulters", 99, date(2026, 1, 1), date(2026, 7, 1))


def test_the_last_tier_is_the_default() -> None:
    assert score(RATING, person(), DAY).grade == "good"


def test_the_first_tier_that_holds_wins_and_names_its_evidence() -> None:
    facts = person(record(1, "health.blood_donation", date(2026, 1, 1)), entries=(LISTED,))
    result = score(RATING, facts, DAY)
    assert (result.value, result.grade) == (None, "bad")
    assert result.contributions == (
        Contribution(99, "tiers.bad.any[0]", 0, date(2026, 1, 1), date(2026, 7, 1)),
    )
    assert score(RATING, facts, date(2026, 7, 1)).grade == "very_good"


def test_min_count_within_the_window() -> None:
    one = person(
        record(1, "volunteer.service", date(2025, 6, 1)),
        record(2, "volunteer.service", date(2026, 5, 1)),
    )
    assert score(RATING, one, date(2026, 5, 31)).grade == "very_good"
    assert score(RATING, one, date(2026, 6, 1)).grade == "good"


def test_a_none_condition_blocks_the_tier() -> None:
    facts = person(
        record(1, "health.blood_donation", date(2026, 1, 1)),
        record(2, "admin.penalty", date(2024, 7, 1), severity="minor"),
    )
    assert score(RATING, facts, date(2026, 6, 30)).grade == "good"
    assert score(RATING, facts, date(2026, 7, 1)).grade == "very_good"


def test_withdrawn_records_are_no_evidence() -> None:
    facts = person(record(1, "health.blood_donation", date(2026, 1, 1), status="withdrawn"))
    assert score(RATING, facts, DAY).grade == "good"


def test_changes_include_entry_ends_and_window_edges() -> None:
    facts = person(record(1, "health.blood_donation", date(2026, 1, 1)), entries=(LISTED,))
    assert changes(RATING, facts, DAY) == {date(2026, 7, 1), date(2028, 1, 1)}
