"""Nodes killed with SIGKILL in the middle of an exchange, then restarted: every record arrives
once. The city (SQLite) sends small batches to the province (SQLite), which sends them on to
the nation (PostgreSQL); the nation is killed while batches arrive, then the province (receiving
and sending), then the city while it sends."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from xinyong.clock import china_today
from xinyong.federation.models import LinkState, ReceivedBatch
from xinyong.records.models import Record
from xinyong.testing import samples
from xinyong.testing.network import Node, connect, eventually
from xinyong.testing.postgres import create_database

pytestmark = pytest.mark.postgres

RECORDS = 600
BATCH = 40


@pytest.fixture
def chain(postgres_admin_url: str, tmp_path: Path) -> Iterator[tuple[Node, Node, Node]]:
    city = Node(
        "chaoyang", "city", f"sqlite:///{tmp_path / 'city.db'}", tmp_path / "city", ("110105",)
    )
    province = Node(
        "beijing",
        "province",
        f"sqlite:///{tmp_path / 'province.db'}",
        tmp_path / "province",
        ("110000",),
    )
    nation = Node(
        "national", "national", create_database(postgres_admin_url, "restart"), tmp_path / "nation"
    )
    connect(province, city)
    connect(nation, province)
    for node in (city, province):
        node.env["XINYONG_FEDERATION_BATCH_SIZE"] = str(BATCH)
    try:
        yield city, province, nation
    finally:
        for node in (city, province, nation):
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


def applied(node: Node) -> int:
    with node.factory() as session:
        return session.scalar(select(func.count()).select_from(ReceivedBatch)) or 0


def records(node: Node, via: str) -> int:
    with node.factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Record).where(Record.via_node == via))
            or 0
        )


def waiting(node: Node, link: str) -> int:
    [found] = [found for found in node.status()["links"] if found["name"] == link]
    count: int = found["waiting"]
    return count


def test_killed_nodes_lose_and_double_nothing(chain: tuple[Node, Node, Node]) -> None:
    city, province, nation = chain
    token = city.issue("authority", authority="court.110105")
    for node in (nation, province, city):
        node.start()
    for start in range(0, RECORDS, 100):
        answer = httpx.post(
            f"{city.url}/v1/submissions",
            json=rows(start, 100),
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        assert answer.status_code == 200 and answer.json()["accepted"] == 100, answer.text

    eventually(lambda: applied(nation) >= 1, 120, "the first batches at the nation")
    nation.kill()
    nation.start()
    eventually(lambda: applied(province) >= 6, 120, "more batches at the province")
    province.kill()
    province.start()
    eventually(lambda: applied(province) >= 9, 120, "more batches at the province")
    city.kill()
    city.start()

    eventually(lambda: records(province, "chaoyang") == RECORDS, 180, "every record at beijing")
    eventually(lambda: records(nation, "beijing") == RECORDS, 180, "every record at the nation")
    eventually(lambda: waiting(city, "beijing") == 0, 60, "the city's last batch acknowledged")
    eventually(
        lambda: waiting(province, "national") == 0, 60, "the province's last batch acknowledged"
    )
    for sender, receiver in ((city, province), (province, nation)):
        with sender.factory() as session:
            sent = session.get(LinkState, receiver.name)
        with receiver.factory() as session:
            received = session.get(LinkState, sender.name)
            numbers = list(
                session.scalars(
                    select(ReceivedBatch.number)
                    .where(ReceivedBatch.link == sender.name)
                    .order_by(ReceivedBatch.number)
                )
            )
            documents = session.scalar(
                select(func.count(func.distinct(Record.document_key))).where(
                    Record.via_node == sender.name
                )
            )
        assert sent is not None and received is not None
        assert numbers == list(range(1, len(numbers) + 1))  # no gap, no number twice
        assert documents == RECORDS
        assert received.received_number == len(numbers) == sent.sent_number
        assert received.received_digest == sent.sent_digest
