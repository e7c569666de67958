"""Failed sign-ins are throttled per account name and per address with a doubling back-off;
other accounts and addresses are unaffected; the right password works after the wait; a burst
of concurrent guesses gets no more password checks than the free ones."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts import service, throttle
from xinyong.accounts.service import LoginRefused, SignInBusy, create_account, sign_in
from xinyong.accounts.throttle import (
    FREE_FAILURES,
    LONGEST_WAIT,
    SignInThrottled,
    attempt_succeeded,
    begin_attempt,
    throttle_keys,
)
from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.coroutines import run_alone
from xinyong.testing.store import migrated_sqlite

PASSWORD = "correct horse battery"
START = datetime(2026, 12, 1, 8, tzinfo=UTC)


def attempt(factory: sessionmaker[Session], username: str, address: str, at: datetime) -> int:
    """0 if the attempt is admitted, else the seconds it is told to wait."""
    try:
        with factory.begin() as session:
            begin_attempt(session, throttle_keys(username, address), at)
    except SignInThrottled as error:
        return error.retry_after
    return 0


def test_the_back_off_doubles_and_touches_no_other_account_or_address(
    factory: sessionmaker[Session],
) -> None:
    free = FREE_FAILURES["account"]
    assert [attempt(factory, "zhang", "10.0.0.1", START) for _ in range(free)] == [0] * free
    now = START
    waits = []
    for _ in range(5):
        wait = attempt(factory, "zhang", "10.0.0.1", now)
        waits.append(wait)
        now += timedelta(seconds=wait)
        assert attempt(factory, "zhang", "10.0.0.1", now) == 0  # after the wait: examined
    assert waits == [1, 2, 4, 8, 16]
    # The same name from elsewhere waits too (guesses spread over addresses count) ...
    assert attempt(factory, "zhang", "10.0.0.9", now) == 32
    # ... but another account from the same address, and other addresses, do not.
    assert attempt(factory, "li", "10.0.0.1", now) == 0
    assert attempt(factory, "wang", "10.0.0.2", now) == 0
    # A success clears the account's count.
    with factory.begin() as session:
        attempt_succeeded(session, throttle_keys("zhang", "10.0.0.1"))
    assert attempt(factory, "zhang", "10.0.0.1", now + timedelta(hours=1)) == 0


def test_an_address_is_throttled_across_account_names(factory: sessionmaker[Session]) -> None:
    free = FREE_FAILURES["address"]
    names = [f"user{n}" for n in range(free)]
    assert [attempt(factory, name, "2001:db8::1", START) for name in names] == [0] * free
    # The next name from the same /64 waits; the same name from another network does not.
    assert attempt(factory, "someone", "2001:db8::ffff", START) == 1
    assert attempt(factory, "someone", "2001:db9::1", START) == 0


def test_the_wait_never_grows_past_its_cap_and_counts_are_forgotten(
    factory: sessionmaker[Session],
) -> None:
    now, waits = START, []
    for _ in range(30):
        wait = attempt(factory, "zhang", "10.0.0.1", now)
        if wait:
            waits.append(wait)
            now += timedelta(seconds=wait)
            assert attempt(factory, "zhang", "10.0.0.1", now) == 0
    longest = int(LONGEST_WAIT.total_seconds())
    assert max(waits) == longest and waits[-5:] == [longest] * 5
    later = now + LONGEST_WAIT + throttle.FORGET_AFTER + timedelta(seconds=1)
    assert [attempt(factory, "zhang", "10.0.0.1", later) for _ in range(2)] == [0, 0]


def test_concurrent_guesses_get_only_the_free_password_checks(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        create_account(session, username="zhang", password=PASSWORD, role="operator")

    async def burst() -> list[object]:
        guesses = [sign_in(factory, "zhang", f"guess {n}", "10.0.0.1") for n in range(12)]
        return list(await asyncio.gather(*guesses, return_exceptions=True))

    outcomes = Counter(type(outcome) for outcome in run_alone(burst()))
    assert outcomes == {LoginRefused: FREE_FAILURES["account"], SignInThrottled: 7}


def test_attempts_beyond_the_hashing_queue_are_told_to_come_back(
    factory: sessionmaker[Session],
) -> None:
    many = service.HASHING_SLOTS + service.HASHING_QUEUE + 5

    async def crowd() -> list[object]:
        attempts = [sign_in(factory, f"user{n}", "guess", f"10.0.1.{n}") for n in range(many)]
        return list(await asyncio.gather(*attempts, return_exceptions=True))

    outcomes = Counter(type(outcome) for outcome in run_alone(crowd()))
    assert outcomes == {LoginRefused: many - 5, SignInBusy: 5}


def test_sign_in_over_http_answers_429_with_retry_after_then_works_after_the_wait(
    tmp_path: Path,
) -> None:
    url = migrated_sqlite(tmp_path / "signin.db")
    with make_sessionmaker(make_engine(url)).begin() as session:
        for username in ("zhang", "li"):
            create_account(session, username=username, password=PASSWORD, role="operator")
    app = create_app(Settings(database_url=url, var_dir=tmp_path))
    # The server's clock stands still: the wait starts when the fifth failure was admitted, and
    # on the wall clock a slow password check (a loaded machine) could outlast it before the
    # next attempt, which was then admitted (200 where 429 is due).
    with (
        time_machine.travel(START, tick=False) as clock,
        TestClient(app, client=("10.0.0.1", 5000)) as here,
    ):

        def login(client: TestClient, username: str, password: str) -> tuple[int, str | None]:
            response = client.post(
                "/v1/auth/login", json={"username": username, "password": password}
            )
            return response.status_code, response.headers.get("retry-after")

        free = FREE_FAILURES["account"]
        assert [login(here, "zhang", "wrong") for _ in range(free)] == [(401, None)] * free
        assert login(here, "zhang", PASSWORD) == (429, "1")
        assert login(here, "li", PASSWORD)[0] == 200
        clock.shift(timedelta(milliseconds=999))
        assert login(here, "zhang", PASSWORD) == (429, "1")  # not a moment before the wait ends
        clock.shift(timedelta(milliseconds=1))
        assert login(here, "zhang", PASSWORD)[0] == 200
        with TestClient(app, client=("10.0.0.2", 5000)) as elsewhere:
            assert login(elsewhere, "zhang", PASSWORD)[0] == 200


@pytest.mark.parametrize("address", ["10.0.0.1", "2001:db8::1", "testclient", "x" * 500])
def test_throttle_keys_fit_their_column(address: str) -> None:
    assert all(len(key) <= 120 for key in throttle_keys("n" * 500, address))


def render(factory: sessionmaker[Session], address: str, at: datetime) -> int:
    """0 if a costly render from ``address`` is admitted, else the seconds it is told to wait."""
    try:
        with factory.begin() as session:
            begin_attempt(session, [throttle.render_key(address)], at)
    except SignInThrottled as error:
        return error.retry_after
    return 0


def test_renders_come_free_in_a_burst_then_wait_and_are_forgotten_after_a_quiet_minute(
    factory: sessionmaker[Session],
) -> None:
    free = FREE_FAILURES["render"]
    assert [render(factory, "10.0.0.1", START) for _ in range(free)] == [0] * free
    now = START
    waits = []
    for _ in range(3):
        wait = render(factory, "10.0.0.1", now)
        waits.append(wait)
        now += timedelta(seconds=wait)
        assert render(factory, "10.0.0.1", now) == 0
    assert waits == [5, 10, 20]
    # Counted apart from sign-ins: the address may still sign in, and others render.
    assert attempt(factory, "zhang", "10.0.0.1", now) == 0
    assert render(factory, "10.0.0.2", now) == 0
    assert render(factory, "2001:db8::1", now) == 0
    # One /64 is one subscriber: its other addresses share its count.
    assert [render(factory, f"2001:db8::{n:x}", now) for n in range(2, free + 1)] == [0] * (
        free - 1
    )
    assert render(factory, "2001:db8::ffff", now) == 5
    quiet = now + timedelta(seconds=40) + throttle.FORGET_RENDERS_AFTER + timedelta(seconds=1)
    assert [render(factory, "10.0.0.1", quiet) for _ in range(free)] == [0] * free
