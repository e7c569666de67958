"""The one clock: instants in UTC, and the days that carry law as days in China.

Decision, effective and expiry dates, deadlines and the as-of day of a check are calendar days
in China (Asia/Shanghai, UTC+8 all year: China has kept no daylight saving since 1991),
whatever the server's own time zone. Instants (when a row was received, a key revoked, a check
answered) are kept in UTC. Every module asks this one for both, so a server set to UTC, or to
any other zone, refuses nothing "in the future" that is today in China.

``UTCDateTime`` is the column type of every instant in the store: it writes aware UTC and
reads aware UTC on SQLite (which keeps no zone) and PostgreSQL alike. It is imported on first
use, so that what only reads the clock (``xinyong id``) does not load SQLAlchemy.
"""

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xinyong.clock.column import UTCDateTime as UTCDateTime

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China's standard time; a fixed offset, so no time-zone database is needed."""


def utc_now() -> datetime:
    """Now, as an aware UTC instant."""
    return datetime.now(UTC)


def as_utc(instant: datetime) -> datetime:
    """``instant`` as aware UTC; a naive value is taken to be UTC already (as stored)."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def china_day(instant: datetime) -> date:
    """The calendar day in China at ``instant`` (naive values are UTC)."""
    return as_utc(instant).astimezone(CHINA).date()


_today: tuple[float, float, date] = (0.0, 0.0, date.min)
"""The China day last asked for, with the POSIX seconds at which it begins and ends."""


def china_today() -> date:
    """Today in China: the day that decides "in the future", expiry, deadlines and as-of."""
    # Every check asks: comparing the time with the day's bounds costs a fifth of making the day.
    global _today
    now = time.time()
    start, end, day = _today
    if start <= now < end:
        return day
    day = datetime.fromtimestamp(now, CHINA).date()
    start = china_midnight(day).timestamp()
    _today = (start, china_midnight(day + timedelta(days=1)).timestamp(), day)
    return day


def china_midnight(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in China (for ranges of instants by day)."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)


def __getattr__(name: str) -> Any:
    if name == "UTCDateTime":
        from xinyong.clock.column import UTCDateTime

        return UTCDateTime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
