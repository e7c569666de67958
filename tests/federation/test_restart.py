"""Nodes killed with SIGKILL in the middle of an exchange, then restarted: every record arrives
once. The city (SQLite) sends small batches to the province (PostgreSQL); the province is killed
while batches arrive, then the city while it sends."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from xinyong.clock import china_today
from xinyong.federation.models import LinkState, ReceivedBatch
from xinyong.store.models import Record
from xinyong.testing import samples
from xinyong.testing.network import Node, connect, eventually
from xinyong.testing.postgres import create_database

pytestmark = pytest.mark.postgres

RECORDS = 600
BATCH = 40


@pytest.fixture
def pair(postgres_admin_url: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    city = Node(
        "chaoyang", "city", f"sqlite:///{tmp_path / 'city.db'}", tmp_path / "city", ("110105",)
    )
    province = Node(
        "beijing",
        "province",
        create_database(postgres_admin_url, "restart"),
        tmp_path / "province",
        ("110000",),
    )
    connect(province, city)
    city.env["XINYONG_FEDERATION_BATCH_SIZE"] = str(BATCH)
    try:
        yield city, province
    finally:
        for node in (city, province):
            node.kill()
            node.engine.dispose()


def rows(start: int, count: int) -> list[dict[str, Any]]:
    decided = (china_today() - timedelta(days=30)).isoformat()
    return [
        samples.defaulter_listing(
            samples.person(start + n), start + n, decided_on=decided, effective_on=decided
        )
        for n in range(count)
    ]


def applied(province: Node) -> int:
    with province.factory() as session:
        return session.scalar(select(func.count()).select_from(ReceivedBatch)) or 0


def test_killed_nodes_lose_and_double_nothing(pair: tuple[Node, Node]) -> None:
    city, province = pair
    token = city.issue("authority", authority="court.110105")
    province.start()
    city.start()
    for start in range(0, RECORDS, 100):
        answer = httpx.post(
            f"{city.url}/v1/submissions",
            json=rows(start, 100),
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        assert answer.status_code == 200 and answer.json()["accepted"] == 100, answer.text

    eventually(lambda: applied(province) >= 2, 120, "the first batches at the province")
    province.kill()
    province.start()
    eventually(lambda: applied(province) >= 6, 120, "more batches at the province")
    city.kill()
    city.start()

    def arrived() -> int | None:
        with province.factory() as session:
            found = session.scalar(
                select(func.count()).select_from(Record).where(Record.via_node == "chaoyang")
            )
        return found if found == RECORDS else None

    eventually(arrived, 180, f"all {RECORDS} records at the province")
    eventually(lambda: _waiting(city) == 0, 60, "the city's last batch acknowledged")
    with city.factory() as session:
        sent = session.get(LinkState, "beijing")
    with province.factory() as session:
        received = session.get(LinkState, "chaoyang")
        numbers = list(session.scalars(select(ReceivedBatch.number).order_by(ReceivedBatch.number)))
        documents = session.scalar(
            select(func.count(func.distinct(Record.document_key))).where(
                Record.via_node == "chaoyang"
            )
        )
    assert sent is not None and received is not None
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no number twice
    assert documents == RECORDS
    assert received.received_number == len(numbers) == sent.sent_number
    assert received.received_digest == sent.sent_digest


def _waiting(city: Node) -> int:
    [link] = city.status()["links"]
    waiting: int = link["waiting"]
    return waiting
