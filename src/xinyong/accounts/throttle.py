"""Back-off after failed sign-ins, per account name and per network address.

Each account name and each address (an IPv6 address by its /64, which one subscriber
holds) may fail ``FREE_FAILURES`` times in a row; from then on every further failure doubles
the wait before the next attempt is even examined: 1 s, 2 s, 4 s ... up to ``LONGEST_WAIT``.
There is no lock-out: after the wait the right password works, so an attacker who guesses
against someone's account delays them by at most ``LONGEST_WAIT``, never shuts them out. A
success clears the account's count; counts idle for ``FORGET_AFTER`` are forgotten.

An attempt counts as a failure from the moment it is admitted, and is given back if it
succeeds: a burst of concurrent guesses cannot all get in before the first one has failed.
Unknown account names are throttled exactly like known ones, so the answers reveal nothing.
The state is in the store, shared by every worker and server.

The same back-off guards what costs a visitor nothing and the platform much (a public credit
report's PDF, a list's spreadsheet, an uploaded report printed again to verify it): every render
counts like a failure of the ``render`` scope, per address; ``FREE_FAILURES["render"]`` come
free in a burst, then the waits double from 5 s, and a minute without one gives the address its
free renders back.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xinyong.accounts.models import SignInThrottle
from xinyong.store.base import Base

Scope = Literal["account", "address", "render"]
FREE_FAILURES: dict[Scope, int] = {"account": 5, "address": 20, "render": 10}
"""Failures in a row without a wait: an office behind one address gets more than a name."""
FIRST_WAIT: dict[Scope, timedelta] = {
    "account": timedelta(seconds=1),
    "address": timedelta(seconds=1),
    "render": timedelta(seconds=5),
}
"""The wait after the first failure past the free ones; each further failure doubles it."""
LONGEST_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)
FORGET_RENDERS_AFTER = timedelta(minutes=1)
TABLE = Base.metadata.tables[SignInThrottle.__tablename__]
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
"""``blocked_until`` of a name or address that has no wait to serve."""


class SignInThrottled(PermissionError):
    """Too many failed sign-ins in a row: come back after ``retry_after`` seconds."""

    def __init__(self, scope: Scope, retry_after: int) -> None:
        self.scope = scope
        self.retry_after = retry_after
        if scope == "render":
            super().__init__(
                "too many reports, downloads and uploaded reports to verify from this address; "
                f"try again in {retry_after} s (a verification code is checked without counting)"
            )
            return
        where = "for this account" if scope == "account" else "from this address"
        super().__init__(
            f"too many failed sign-ins {where}; try again in {retry_after} s "
            "(each further failure doubles the wait, up to 15 minutes)"
        )


def throttle_keys(username: str, address: str) -> tuple[str, str]:
    """The account's key and the address's key."""
    return f"account:{username.strip()[:100]}", f"address:{_place(address)}"


def render_key(address: str) -> str:
    """The key an address's costly renders are counted under."""
    return f"render:{_place(address)}"


def _place(address: str) -> str:
    """An address as the throttle counts it: an IPv6 address by its /64."""
    try:
        network = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if network.version == 6:
        return str(ipaddress.ip_network(f"{network}/64", strict=False))
    return str(network)


def wait_after(scope: Scope, failures: int) -> timedelta:
    """How long after its ``failures``-th failure in a row a name or address must wait."""
    beyond = failures - FREE_FAILURES[scope]
    if beyond < 0:
        return timedelta(0)
    # Past about 2^10 the wait is at its cap anyway; the bound keeps the power small.
    doubled: timedelta = FIRST_WAIT[scope] * 2 ** min(beyond, 20)
    return min(LONGEST_WAIT, doubled)


def _scope(key: str) -> Scope:
    if key.startswith("account:"):
        return "account"
    return "render" if key.startswith("render:") else "address"


def _forgotten(scope: Scope, idle: timedelta) -> bool:
    """Whether a count idle this long starts again from nothing."""
    return idle > (FORGET_RENDERS_AFTER if scope == "render" else FORGET_AFTER)


def begin_attempt(session: Session, keys: Sequence[str], now: datetime) -> None:
    """Admit an attempt (counted as failed until it succeeds) or raise ``SignInThrottled``."""
    ordered = sorted(keys)  # one locking order for every attempt (PostgreSQL row locks)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for key in ordered:
        # A write first: on SQLite it takes the write lock, so no attempt reads a count that
        # another is about to change; on PostgreSQL the rows exist for the lock below.
        session.execute(
            dialect.insert(TABLE)
            .values(key=key, failures=0, blocked_until=NEVER, last_at=now)
            .on_conflict_do_nothing()
        )
    rows = session.execute(
        select(TABLE.c.key, TABLE.c.failures, TABLE.c.blocked_until, TABLE.c.last_at)
        .where(TABLE.c.key.in_(ordered))
        .order_by(TABLE.c.key)
        .with_for_update()
    ).all()
    waits = [(row.blocked_until - now, _scope(row.key)) for row in rows if row.blocked_until > now]
    if waits:
        longest, scope = max(waits)
        raise SignInThrottled(scope, math.ceil(longest.total_seconds()))
    for key, failures, blocked_until, last_at in rows:
        failures = 1 if _forgotten(_scope(key), now - last_at) else failures + 1
        wait = wait_after(_scope(key), failures)
        # No wait leaves the mark where it was: concurrent attempts read the clock before they
        # queue for the row, so "now" here may be a moment before another attempt's.
        session.execute(
            update(TABLE)
            .where(TABLE.c.key == key)
            .values(
                failures=failures,
                blocked_until=now + wait if wait else blocked_until,
                last_at=max(now, last_at),
            )
        )
    session.execute(
        delete(TABLE).where(TABLE.c.last_at < now - FORGET_AFTER, TABLE.c.blocked_until < now)
    )


def attempt_succeeded(session: Session, keys: Sequence[str]) -> None:
    """Clear the account's count and give the address back the attempt that succeeded."""
    account, address = keys
    session.execute(delete(TABLE).where(TABLE.c.key == account))
    session.execute(
        update(TABLE)
        .where(TABLE.c.key == address, TABLE.c.failures > 0)
        .values(failures=TABLE.c.failures - 1, blocked_until=NEVER)
    )
