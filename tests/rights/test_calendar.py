"""Working days on China's calendar: holidays off, adjusted working weekends on."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from xinyong.rights.calendar import (
    add_working_days,
    holiday_name,
    is_working_day,
    working_days_between,
)

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 1))


def test_holidays_and_adjusted_working_days_of_2026() -> None:
    # 国办发明电〔2025〕7号: New Year 1-3 Jan off, Sunday 4 Jan worked; Spring Festival
    # 15-23 Feb off, Saturdays 14 and 28 Feb worked; National Day 1-7 Oct off, 20 Sep and
    # 10 Oct worked.
    assert not is_working_day(date(2026, 1, 2))  # a Friday, given off
    assert is_working_day(date(2026, 1, 4))  # a Sunday, worked
    assert is_working_day(date(2026, 2, 14))  # a Saturday, worked
    assert not is_working_day(date(2026, 2, 20))
    assert is_working_day(date(2026, 10, 10))  # a Saturday, worked
    assert not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 8))
    assert not is_working_day(date(2026, 11, 21))  # an ordinary Saturday
    assert holiday_name(date(2026, 10, 1)) == "National Day"


def test_adjusted_working_days_of_2024_and_2025() -> None:
    # 国办发明电〔2023〕7号: Sunday 29 Sep and Saturday 12 Oct 2024 worked around National Day.
    assert is_working_day(date(2024, 9, 29)) and is_working_day(date(2024, 10, 12))
    assert not is_working_day(date(2024, 10, 4))
    # 国办发明电〔2024〕12号: Sunday 26 Jan and Saturday 8 Feb 2025 worked around the Spring
    # Festival (28 Jan - 4 Feb off).
    assert is_working_day(date(2025, 1, 26)) and is_working_day(date(2025, 2, 8))
    assert not is_working_day(date(2025, 2, 3))


def test_a_deadline_crossing_national_day_skips_the_holiday_block() -> None:
    # Received on Tuesday 29 Sep 2026: Wed 30 Sep is day 1, 1-7 Oct are off, Thu 8 Oct is
    # day 2, Fri 9 Oct day 3, Saturday 10 Oct (an adjusted working day) day 4, Mon 12 Oct day 5.
    assert add_working_days(date(2026, 9, 29), 5) == date(2026, 10, 12)


def test_an_adjusted_working_sunday_counts() -> None:
    # Received Wednesday 31 Dec 2025: 1-3 Jan are off, Sunday 4 Jan is worked.
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)


def test_zero_days_is_the_start_itself() -> None:
    assert add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)


@given(DAYS, st.integers(min_value=0, max_value=40))
def test_counting_back_gives_the_days_added(start: date, days: int) -> None:
    assert working_days_between(start, add_working_days(start, days)) == days


@given(DAYS, st.integers(min_value=1, max_value=40))
def test_a_deadline_is_always_a_working_day(start: date, days: int) -> None:
    due = add_working_days(start, days)
    assert is_working_day(due)
    assert due > start
    # Every day between is either a working day already counted or a day off.
    assert sum(is_working_day(start + timedelta(n)) for n in range(1, (due - start).days)) == (
        days - 1
    )
