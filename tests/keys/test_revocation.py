"""A revoked key stops working on every process within a second; a new key starts working in
the same time. Two applications on one store stand for two workers."""

import time
from collections.abc import Callable
from contextlib import ExitStack

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.enforcement import api
from xinyong.keys.service import create_key, revoke_key
from xinyong.testing import samples

BODY = {"subject_id": samples.person(1), "action": "buy_air_ticket", "purpose": "ticket sale"}


def new_key(factory: sessionmaker[Session]) -> str:
    with factory.begin() as session:
        return create_key(session, role="relying_party", authority=None, label="airline")


def answers(client: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return client.post("/v1/checks", json=BODY, headers=headers).status_code


def within_a_second(ask: Callable[[], list[int]], expected: list[int]) -> list[int]:
    """What ``ask`` answers once it answers ``expected``, or a second after the change, when
    every worker must have caught up: the test waits for the change, not a fixed second."""
    deadline = time.monotonic() + 1.0
    while (answered := ask()) != expected and time.monotonic() < deadline:
        time.sleep(api.POLL_SECONDS / 20)
    return answered


def test_revoking_a_key_takes_effect_on_every_worker_within_a_second(
    store_url: str, factory: sessionmaker[Session]
) -> None:
    assert api.POLL_SECONDS <= 1.0
    revoked, kept = new_key(factory), new_key(factory)
    with ExitStack() as stack:
        workers = [
            stack.enter_context(TestClient(create_app(Settings(database_url=store_url))))
            for _ in range(2)
        ]
        assert [answers(worker, token) for worker in workers for token in (revoked, kept)] == [
            200
        ] * 4
        with factory.begin() as session:
            assert revoke_key(session, revoked.split("_")[1])
        revoked_answers = within_a_second(
            lambda: [answers(worker, revoked) for worker in workers], [401, 401]
        )
        assert revoked_answers == [401, 401]
        assert [answers(worker, kept) for worker in workers] == [200, 200]
        added = new_key(factory)
        added_answers = within_a_second(
            lambda: [answers(worker, added) for worker in workers], [200, 200]
        )
        assert added_answers == [200, 200]
