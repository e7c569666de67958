"""Nodes restored from a backup older than what their neighbour saw: the link converges and
every record arrives once. A city (SQLite) sends to its province (SQLite) as real processes;
each side in turn is backed up with `xinyong backup`, carries more traffic, then is restored
with `xinyong restore` to before it."""

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

BATCH = 30
ROUND = 60


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
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
    connect(province, city)
    for node in (city, province):
        node.env["XINYONG_FEDERATION_BATCH_SIZE"] = str(BATCH)
    try:
        yield city, province
    finally:
        for node in (city, province):
            node.kill()
            node.engine.dispose()


def submit(city: Node, token: str, start: int) -> None:
    decided = (china_today() - timedelta(days=30)).isoformat()
    rows: list[dict[str, Any]] = [
        samples.defaulter_listing(
            samples.person(n),
            n,
            document_no=f"(2026)京0105执{n}号",
            decided_on=decided,
            effective_on=decided,
        )
        for n in range(start, start + ROUND)
    ]
    answer = httpx.post(
        f"{city.url}/v1/submissions",
        json=rows,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert answer.status_code == 200 and answer.json()["accepted"] == ROUND, answer.text


def documents(province: Node) -> tuple[int, int]:
    """Versions the province holds from the city, and the distinct documents among them."""
    with province.factory() as session:
        versions, distinct = session.execute(
            select(func.count(), func.count(func.distinct(Record.document_key))).where(
                Record.via_node == "chaoyang"
            )
        ).one()
    return versions, distinct


def restore(node: Node, backup: Path) -> None:
    node.kill()
    node.engine.dispose()
    done = node.cli("restore", str(backup), "--force")
    assert done.returncode == 0, done.stderr


def assert_converged(city: Node, province: Node, expected: int) -> None:
    eventually(lambda: documents(province) == (expected, expected), 180, "every record once")
    with city.factory() as session:
        sent = session.get(LinkState, "beijing")
    with province.factory() as session:
        received = session.get(LinkState, "chaoyang")
        numbers = list(
            session.scalars(
                select(ReceivedBatch.number)
                .where(ReceivedBatch.link == "chaoyang")
                .order_by(ReceivedBatch.number)
            )
        )
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no number twice
    assert sent is not None and received is not None
    assert (sent.sent_number, sent.sent_digest) == (
        received.received_number,
        received.received_digest,
    )
    assert not [alarm for alarm in province.status()["alarms"] if "batch" in alarm["reason"]], (
        "a restore is not a forged or conflicting batch"
    )


def test_a_city_restored_to_before_batches_its_province_applied_numbers_on_and_resends(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    city, province = pair
    token = city.issue("authority", authority="court.110105")
    province.start()
    city.start()
    submit(city, token, 0)
    eventually(lambda: documents(province) == (ROUND, ROUND), 120, "the first round")
    done = city.cli("backup", str(tmp_path / "city-backup"))
    assert done.returncode == 0, done.stderr
    submit(city, token, ROUND)
    eventually(lambda: documents(province) == (2 * ROUND, 2 * ROUND), 120, "the second round")

    restore(city, tmp_path / "city-backup")  # the second round is gone from the city
    city.start()
    submit(city, token, 2 * ROUND)
    assert_converged(city, province, 3 * ROUND)


def test_a_province_restored_to_before_batches_it_applied_gets_them_again(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    city, province = pair
    token = city.issue("authority", authority="court.110105")
    province.start()
    city.start()
    submit(city, token, 0)
    eventually(lambda: documents(province) == (ROUND, ROUND), 120, "the first round")
    done = province.cli("backup", str(tmp_path / "province-backup"))
    assert done.returncode == 0, done.stderr
    submit(city, token, ROUND)
    eventually(lambda: documents(province) == (2 * ROUND, 2 * ROUND), 120, "the second round")

    restore(province, tmp_path / "province-backup")
    assert documents(province) == (ROUND, ROUND)
    province.start()
    # Nothing new happens at the city: the relay finds out by itself what the province lost.
    assert_converged(city, province, 2 * ROUND)


def test_resend_moves_a_link_back_to_where_a_batch_began_and_refuses_what_was_not_sent(
    pair: tuple[Node, Node],
) -> None:
    city, province = pair
    token = city.issue("authority", authority="court.110105")
    province.start()
    city.start()
    submit(city, token, 0)
    eventually(lambda: documents(province) == (ROUND, ROUND), 120, "the first round")
    eventually(lambda: city.status()["links"][0]["waiting"] == 0, 60, "the last batch acknowledged")
    city.kill()
    with city.factory() as session:
        sent = session.get(LinkState, "beijing")
        assert sent is not None
        number = sent.sent_number
    refused = city.cli("federation", "resend", "--link", "beijing", "--from", str(number + 2))
    assert refused.returncode == 1 and f"up to {number}" in refused.stderr
    unknown = city.cli("federation", "resend", "--link", "nobody", "--from", "1")
    assert unknown.returncode == 2 and "not a neighbour" in unknown.stderr
    done = city.cli("federation", "resend", "--link", "beijing", "--from", "2", "--json")
    assert done.returncode == 0, done.stderr
    with city.factory() as session:
        rewound = session.get(LinkState, "beijing")
        assert rewound is not None and rewound.sent_number == 1
    city.start()
    # Everything after batch 1 goes again under the numbers the province expects: duplicates
    # there, never a second version.
    eventually(lambda: province.status()["links"][0]["received_number"] > number, 120, "a resend")
    assert_converged(city, province, ROUND)
    with province.factory() as session:
        again = session.scalars(
            select(ReceivedBatch.duplicates).where(ReceivedBatch.number > number)
        ).all()
    assert sum(again) == ROUND - BATCH
