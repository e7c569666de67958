"""Nodes restored from a backup older than what their neighbour saw: the link converges and
every record arrives once, and the restored log is reported as a fork by its witness. A city
(SQLite) sends to its province (SQLite) as real processes; each side in turn is backed up with
`xinyong backup`, carries more traffic, then is restored with `xinyong restore` to before it."""

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from xinyong.clock import china_today
from xinyong.federation.models import LinkState, ReceivedBatch, SentBatch
from xinyong.ledger.models import LedgerCosignature
from xinyong.ledger.service import ledger_size
from xinyong.records.models import Record
from xinyong.testing import samples
from xinyong.testing.network import Node, connect, eventually

# Real processes restored from backups: `make test` runs them, the quick loop does not
# (tests/federation/test_resend.py holds the same convergence rules without processes).
pytestmark = pytest.mark.slow

BATCH = 10
ROUND = 30


class Exchange:
    """A city and its province, serving, and the rounds of listings submitted at the city
    (each round's documents new: a round sent again after a restore is a round more)."""

    def __init__(self, city: Node, province: Node) -> None:
        self.city, self.province = city, province
        self.token = city.issue("authority", authority="court.110105")
        self.submitted = 0

    def start(self) -> None:
        self.province.start()
        self.city.start()

    def submit(self) -> None:
        decided = (china_today() - timedelta(days=30)).isoformat()
        rows: list[dict[str, Any]] = [
            samples.defaulter_listing(
                samples.person(n),
                n,
                document_no=f"(2026)京0105执{n}号",
                decided_on=decided,
                effective_on=decided,
            )
            for n in range(self.submitted, self.submitted + ROUND)
        ]
        answer = httpx.post(
            f"{self.city.url}/v1/submissions",
            json=rows,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )
        assert answer.status_code == 200 and answer.json()["accepted"] == ROUND, answer.text
        self.submitted += ROUND

    def round(self) -> None:
        """Submit a round and wait until the province holds it."""
        self.submit()
        expected = (self.submitted, self.submitted)
        eventually(lambda: documents(self.province) == expected, 120, f"{expected} at beijing")

    def backup(self, node: Node, folder: Path) -> Path:
        done = node.cli("backup", str(folder))
        assert done.returncode == 0, done.stderr
        return folder

    def assert_converged(self) -> None:
        """Every document submitted is at the province once, the link's two sides agree, and
        no batch alarm was raised."""
        city, province, expected = self.city, self.province, self.submitted
        eventually(lambda: documents(province) == (expected, expected), 180, "every record once")
        with province.factory() as session:
            numbers = list(
                session.scalars(
                    select(ReceivedBatch.number)
                    .where(ReceivedBatch.link == "chaoyang")
                    .order_by(ReceivedBatch.number)
                )
            )
        assert numbers == list(range(1, len(numbers) + 1))  # no gap, no number twice

        def sides() -> tuple[tuple[int, str], tuple[int, str]]:
            with city.factory() as session:
                sent = session.get(LinkState, "beijing")
            with province.factory() as session:
                received = session.get(LinkState, "chaoyang")
            assert sent is not None and received is not None
            return (sent.sent_number, sent.sent_digest), (
                received.received_number,
                received.received_digest,
            )

        # The city writes a batch's acknowledgement after sending the next one, so its side
        # may lag the province's by one batch for a moment; it must then catch up.
        eventually(lambda: len(set(sides())) == 1, 60, "the link's two sides agree")
        alarms = province.status()["alarms"]
        assert not [alarm for alarm in alarms if alarm["kind"] == "batch"], (
            "a restore is not a forged or conflicting batch"
        )


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
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
        yield Exchange(city, province)
    finally:
        for node in (city, province):
            node.kill()
            node.engine.dispose()


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


def test_a_city_restored_to_before_batches_its_province_applied_numbers_on_and_resends(
    exchange: Exchange, tmp_path: Path
) -> None:
    city = exchange.city
    exchange.start()
    exchange.round()
    backup = exchange.backup(city, tmp_path / "city-backup")
    exchange.round()

    restore(city, backup)  # the second round is gone from the city
    city.start()
    exchange.submit()
    exchange.assert_converged()


def test_a_province_restored_to_before_batches_it_applied_gets_them_again(
    exchange: Exchange, tmp_path: Path
) -> None:
    province = exchange.province
    exchange.start()
    exchange.round()
    backup = exchange.backup(province, tmp_path / "province-backup")
    exchange.round()

    restore(province, backup)
    assert documents(province) == (ROUND, ROUND)
    province.start()
    # Nothing new happens at the city: the relay finds out by itself what the province lost.
    exchange.assert_converged()


def test_resend_moves_a_link_back_to_where_a_batch_began_and_refuses_what_was_not_sent(
    exchange: Exchange,
) -> None:
    city, province = exchange.city, exchange.province
    exchange.start()
    exchange.round()
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
    exchange.assert_converged()
    with province.factory() as session:
        again = session.scalars(
            select(ReceivedBatch.duplicates).where(ReceivedBatch.number > number)
        ).all()
    assert sum(again) == ROUND - BATCH


def test_a_batch_in_flight_refused_by_a_restored_province_is_built_again_and_arrives_once(
    exchange: Exchange, tmp_path: Path
) -> None:
    city, province = exchange.city, exchange.province
    exchange.start()
    exchange.round()
    backup = exchange.backup(province, tmp_path / "province-backup")
    exchange.round()
    with province.factory() as session:
        applied = session.scalar(select(func.max(ReceivedBatch.number)))
    assert applied is not None

    # The province's store is busy (its one writer held), so the city's next batch waits there:
    # the province is killed and restored while that batch is in flight.
    writer = sqlite3.connect(province.database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    exchange.submit()

    def in_flight() -> int | None:
        with city.factory() as session:
            return session.scalar(
                select(func.min(SentBatch.number)).where(SentBatch.acknowledged_at.is_(None))
            )

    assert eventually(in_flight, 60, "a batch sent by the city") == applied + 1
    province.kill()
    writer.rollback()
    writer.close()
    restore(province, backup)  # it expects a batch it applied before: the one in flight is early
    province.start()
    exchange.assert_converged()
    refusals = [
        line["event"]
        for line in city.logged()
        if f"batch {applied + 1} refused (409)" in line.get("event", "")
    ]
    assert refusals, "the batch in flight was refused as out of order, then built again"


def test_a_restored_city_is_reported_as_a_fork_by_its_witness(
    exchange: Exchange, tmp_path: Path
) -> None:
    city, province = exchange.city, exchange.province
    exchange.start()
    exchange.round()
    backup = exchange.backup(city, tmp_path / "city-backup")
    with city.factory() as session:
        restored_size = ledger_size(session)
    exchange.round()
    with city.factory() as session:
        grown = ledger_size(session)

    def witnessed() -> int:
        """The size of the city's log the province cosigned last."""
        held = province.status()["witnessed"]
        return next((row["tree_size"] for row in held if row["origin"] == city.key.name), 0)

    cosigned = eventually(lambda: witnessed() >= grown and witnessed(), 60, "round 2 cosigned")

    restore(city, backup)  # its log is back to before the checkpoint its witness cosigned
    city.start()
    while True:  # another history, grown past the size the witness holds
        exchange.submit()
        with city.factory() as session:
            if ledger_size(session) > cosigned:
                break

    def forks() -> list[dict[str, Any]]:
        return [alarm for alarm in province.status()["alarms"] if alarm["kind"] == "fork"]

    seen = eventually(forks, 60, "the fork seen by the witness")
    assert {fork["source"] for fork in seen} == {city.key.name}
    assert province.cli("federation", "status").returncode == 1  # exits 1 while an alarm is up
    assert [
        line
        for line in province.logged()
        if line.get("level") == "critical" and "fork of the log" in line.get("event", "")
    ]
    with city.factory() as session:
        after_restore = session.scalar(
            select(func.count())
            .select_from(LedgerCosignature)
            .where(
                LedgerCosignature.witness == province.key.name,
                LedgerCosignature.tree_size > restored_size,
            )
        )
    assert after_restore == 0, "the witness cosigned none of the restored history"
