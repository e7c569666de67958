"""Working days in mainland China: weekends and public holidays off, adjusted working days on.

The State Council's yearly notice on the holiday schedule moves days: a holiday block is
lengthened by taking weekdays off and giving back weekend days as working days (调休). Both
halves come from the ``holidays`` library, whose China calendar carries each year's notice
(the days off as holidays, the working weekends as ``weekend_workdays``). Rights deadlines
count working days on this calendar.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from holidays import HolidayBase

FIRST_YEAR = 2015
LAST_YEAR = 2035
"""Years loaded up front: the calendar is shared across request threads and must not grow
lazily while being read."""


@cache
def _china() -> HolidayBase:
    # Imported on first use: loading the library's calendars is a tenth of a second of every
    # process's start-up (the app's included), and most never count a working day.
    from holidays.countries.china import China

    # The library's country constructors are untyped; the instance is a typed HolidayBase.
    return China(years=range(FIRST_YEAR, LAST_YEAR + 1))  # type: ignore[no-untyped-call]


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day: a weekday that is no holiday, or a working weekend."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"the working-day calendar covers {FIRST_YEAR}-{LAST_YEAR}, not {day}")
    return bool(_china().is_working_day(day))


def holiday_name(day: date) -> str | None:
    """The holiday ``day`` falls on (in English), if any."""
    name = _china().get(day)
    return None if name is None else str(name)


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself is never counted).

    A case received on a Friday before a holiday block with ``days=1`` is due on the first
    working day after the block: the receiving day does not count, as in "within N working days
    of receipt".
    """
    if days < 0:
        raise ValueError("a number of working days cannot be negative")
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after ``start`` up to and including ``end`` (0 if none)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count
