"""The one clock: China's day whatever the server's zone, and instants that read back aware UTC."""

from datetime import UTC, date, datetime, timedelta, timezone
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong import clock
from xinyong.clock import CHINA, as_utc, china_day, china_midnight
from xinyong.keys.models import ApiKey
from xinyong.keys.service import create_key

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_the_day_in_china_turns_at_1600_utc() -> None:
    """China's day begins at 16:00 UTC of the day before (UTC+8, no daylight saving)."""
    assert china_day(datetime(2026, 12, 5, 15, 59, 59, tzinfo=UTC)) == date(2026, 12, 5)
    assert china_day(datetime(2026, 12, 5, 16, 0, tzinfo=UTC)) == date(2026, 12, 6)
    # A naive value is UTC, as the store keeps it.
    assert china_day(datetime(2026, 12, 5, 16, 0)) == date(2026, 12, 6)


@given(instants, st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_the_day_does_not_depend_on_the_zone_an_instant_is_written_in(
    instant: datetime, offset_minutes: int
) -> None:
    elsewhere = instant.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert china_day(elsewhere) == china_day(instant)
    assert as_utc(elsewhere) == instant and as_utc(elsewhere).tzinfo == UTC


@given(instants)
def test_an_instant_lies_between_the_midnights_of_its_day(instant: datetime) -> None:
    day = china_day(instant)
    assert china_midnight(day) <= instant < china_midnight(day + timedelta(days=1))
    assert china_midnight(day).astimezone(CHINA).time().isoformat() == "00:00:00"


def test_instants_read_back_aware_utc_on_every_backend(
    factory: sessionmaker[Session],
) -> None:
    """SQLite keeps no zone; the column type still hands back aware UTC, as PostgreSQL does."""
    with factory.begin() as session:
        create_key(session, role="relying_party", authority=None, label="clock")
    with factory() as session:
        stored = session.scalar(select(ApiKey.created_at).where(ApiKey.label == "clock"))
    assert stored is not None and stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert abs(stored - datetime.now(UTC)) < timedelta(minutes=5)


@given(st.lists(instants, min_size=1, max_size=20))
def test_today_in_china_follows_the_clock_forwards_and_backwards(
    moments: list[datetime],
) -> None:
    """``china_today`` reuses the day it last made: the day must still turn (or turn back,
    when the system clock is set back) exactly at China's midnights."""
    for moment in moments:
        with patch.object(clock.time, "time", return_value=moment.timestamp()):
            assert clock.china_today() == moment.astimezone(CHINA).date()
        near = china_midnight(moment.astimezone(CHINA).date()).timestamp()
        for second, day in ((near - 1e-6, -1), (near, 0)):
            with patch.object(clock.time, "time", return_value=second):
                expected = moment.astimezone(CHINA).date() + timedelta(days=day)
                assert clock.china_today() == expected
