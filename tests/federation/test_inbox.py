"""A province's inbox for its city's batches: applied in order and once, forged or conflicting
batches refused with an alarm, and a child's records only from the child's own authorities;
and what the province then reads to forward on each of its links."""

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import as_utc, china_today, utc_now
from xinyong.config import NodeLink, Settings
from xinyong.federation.batches import FIRST, Batch, MalformedBatch, open_batch, seal
from xinyong.federation.inbox import RELAY_FIRST, Inbox, Refused
from xinyong.federation.links import Direction, Link, link_named
from xinyong.federation.models import Alarm
from xinyong.federation.outbox import OPS, scan
from xinyong.ingest.service import IngestJob
from xinyong.ledger.checkpoint import SigningKey
from xinyong.ledger.service import ledger_size
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent, RecordHead
from xinyong.testing import samples

CITY = SigningKey.generate("chaoyang.example/ledger")


def listing(number: int, authority: str = "court.110105") -> dict[str, Any]:
    decided = (china_today() - timedelta(days=30)).isoformat()
    return samples.defaulter_listing(
        samples.person(number),
        number,
        authority=authority,
        document_no=f"(2026)京执{number}号",
        decided_on=decided,
        effective_on=decided,
    )


def item(
    number: int,
    authority: str = "court.110105",
    *,
    kind: str = "submitted",
    origin: str = "chaoyang",
    accepted: tuple[str, int, datetime] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An event of the document ``listing(number)``, changed by ``origin`` and carrying the
    version first accepted as ``accepted`` (node, record id, instant; by default ``origin``'s
    record ``number``, now)."""
    node, record, at = accepted or (origin, number, utc_now())
    return {
        "position": number,
        "kind": kind,
        "origin": origin,
        "at": at.isoformat(),
        "record": {**listing(number, authority), **changes, "op": OPS[kind]},
        "accepted": {"node": node, "record": record, "at": at.isoformat()},
    }


def batch(number: int, items: list[dict[str, Any]], previous: str = FIRST) -> Batch:
    return seal(
        CITY,
        sender="chaoyang",
        receiver="beijing",
        number=number,
        previous=previous,
        policy="0" * 64,
        items=items,
    )


@pytest.fixture
def inbox(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> Inbox:
    settings = Settings(
        var_dir=tmp_path,
        node_name="beijing",
        node_level="province",
        node_children=(
            NodeLink(
                name="chaoyang",
                url="http://127.0.0.1:9",
                key=CITY.verifier.encode(),
                regions=("110105",),
            ),
        ),
    )
    return Inbox(factory, national, settings)


def records(inbox: Inbox) -> int:
    with inbox.factory() as session:
        return session.scalar(select(func.count()).select_from(Record)) or 0


def refused(inbox: Inbox, body: bytes, caller: str = "chaoyang") -> Refused:
    with pytest.raises(Refused) as raised:
        inbox.receive(caller, body, utc_now())
    return raised.value


def test_a_batch_waits_for_the_relay_writes_under_way(inbox: Inbox) -> None:
    # On SQLite the batch would hold the only writer for its whole length: the relay's short
    # writes (an acknowledgement, the next batch kept) go first.
    applied = threading.Event()

    def deliver() -> None:
        inbox.receive("chaoyang", batch(1, [item(1)]).body(), utc_now())
        applied.set()

    with RELAY_FIRST.writing():
        delivery = threading.Thread(target=deliver)
        delivery.start()
        assert not applied.wait(1)
        assert records(inbox) == 0
    assert applied.wait(60)
    delivery.join()
    assert records(inbox) == 1


def test_batches_apply_in_order_and_once(inbox: Inbox) -> None:
    first = batch(1, [item(1), item(2)])
    second = batch(2, [item(3)], previous=first.header.digest)
    early = refused(inbox, second.body())
    assert (early.status, early.expected, records(inbox)) == (409, 1, 0)

    outcome = inbox.receive("chaoyang", first.body(), utc_now())
    assert (outcome.stored, outcome.rejected, records(inbox)) == (2, 0, 2)
    with inbox.factory() as session:
        stored = session.scalars(select(Record)).all()
    assert {(r.origin_node, r.via_node, r.origin_record_id) for r in stored} == {
        ("chaoyang", "chaoyang", 1),
        ("chaoyang", "chaoyang", 2),
    }

    replay = refused(inbox, first.body())
    assert (replay.status, replay.applied, replay.expected, records(inbox)) == (409, True, 2, 2)
    other_chain = batch(2, [item(3)])  # previous is not batch 1's digest
    assert refused(inbox, other_chain.body()).status == 409
    assert inbox.receive("chaoyang", second.body(), utc_now()).stored == 1
    assert records(inbox) == 3


def test_versions_and_events_are_stored_with_where_they_were_first_accepted(
    inbox: Inbox, national: Pack
) -> None:
    first, second, third = (utc_now() - timedelta(hours=hours) for hours in (3, 2, 1))
    items = [
        item(1, accepted=("chaoyang", 11, first)),
        # Relayed by the city from a node below it: the version and the event are that node's.
        item(2, origin="jinzhan", accepted=("jinzhan", 22, second)),
        {  # a mark: the records on either side of it are stored as two submissions
            "position": 3,
            "kind": "disputed",
            "origin": "chaoyang",
            "at": third.isoformat(),
            "document": {
                name: listing(1)[name] for name in ("authority", "record_type", "document_no")
            },
        },
        item(2, kind="corrected", accepted=("chaoyang", 33, third), amount=99000.0),
        item(1, kind="withdrawn", accepted=("chaoyang", 11, first)),
    ]
    outcome = inbox.receive("chaoyang", batch(1, items).body(), utc_now())
    assert (outcome.stored, outcome.marked, outcome.rejected) == (4, 1, 0), outcome.refusals
    # Stored here, not through the network: no provenance.
    with inbox.factory.begin() as session:
        IngestJob(inbox.factory, national).run_in(
            session,
            [(1, "", listing(9))],
            channel="api",
            source_name="own",
            digest="0" * 64,
            key_id=None,
        )
    with inbox.factory() as session:
        versions = session.execute(
            select(
                Record.document_no,
                Record.version,
                Record.origin_node,
                Record.origin_record_id,
                Record.origin_received_at,
                Record.via_node,
            ).order_by(Record.id)
        ).all()
        events = session.execute(
            select(RecordEvent.kind, RecordEvent.origin_node, RecordEvent.via_node)
            .where(RecordEvent.kind != "expired")
            .order_by(RecordEvent.ledger_leaf)
        ).all()
    number = {n: listing(n)["document_no"] for n in (1, 2, 9)}
    assert [
        (v.document_no, v.version, v.origin_node, v.origin_record_id, v.via_node) for v in versions
    ] == [
        (number[1], 1, "chaoyang", 11, "chaoyang"),
        (number[2], 1, "jinzhan", 22, "chaoyang"),
        (number[2], 2, "chaoyang", 33, "chaoyang"),
        (number[9], 1, None, None, None),
    ]
    assert [as_utc(v.origin_received_at) if v.origin_received_at else None for v in versions] == [
        first,
        second,
        third,
        None,
    ]
    assert events == [
        ("submitted", "chaoyang", "chaoyang"),
        ("submitted", "jinzhan", "chaoyang"),
        ("disputed", "chaoyang", "chaoyang"),
        ("corrected", "chaoyang", "chaoyang"),
        ("withdrawn", "chaoyang", "chaoyang"),
        ("submitted", None, None),
    ]


def test_a_second_batch_under_a_number_applied_raises_the_alarm(inbox: Inbox) -> None:
    inbox.receive("chaoyang", batch(1, [item(1)]).body(), utc_now())
    conflicting = refused(inbox, batch(1, [item(9)]).body())
    assert conflicting.status == 409 and not conflicting.applied
    with inbox.factory() as session:
        [alarm] = session.scalars(select(Alarm)).all()
    assert alarm.link == "chaoyang" and "two different batches numbered 1" in alarm.reason
    assert records(inbox) == 1


@given(tamper=st.integers(0, 10_000))
def test_a_batch_whose_items_or_signature_were_altered_is_forged(tamper: int) -> None:
    genuine = batch(1, [item(1), item(2)])
    position = tamper % len(genuine.items)
    flipped = bytearray(genuine.items)
    flipped[position] ^= 0x01
    altered = Batch(genuine.header, genuine.note, bytes(flipped))
    with pytest.raises(MalformedBatch) as raised:
        open_batch(altered.body(), CITY.verifier)
    assert raised.value.forged
    impostor = seal(
        SigningKey.generate(CITY.name),
        sender="chaoyang",
        receiver="beijing",
        number=1,
        previous=FIRST,
        policy="0" * 64,
        items=[item(1)],
    )
    with pytest.raises(MalformedBatch) as forged:
        open_batch(impostor.body(), CITY.verifier)
    assert forged.value.forged


def test_forged_batches_and_other_nodes_keys_are_refused(inbox: Inbox) -> None:
    impostor = seal(
        SigningKey.generate(CITY.name),
        sender="chaoyang",
        receiver="beijing",
        number=1,
        previous=FIRST,
        policy="0" * 64,
        items=[item(1)],
    )
    assert refused(inbox, impostor.body()).status == 403
    assert refused(inbox, batch(1, [item(1)]).body(), caller="haidian").status == 403
    stranger = seal(
        CITY,
        sender="haidian",
        receiver="beijing",
        number=1,
        previous=FIRST,
        policy="0" * 64,
        items=[],
    )
    assert refused(inbox, stranger.body(), caller="haidian").status == 403
    for body in (b"", b"[]", b'{"note": 1, "items": ""}', b"\x00" * 10):
        assert refused(inbox, body).status == 422
    with inbox.factory() as session:
        assert [alarm.reason[:13] for alarm in session.scalars(select(Alarm))] == ["forged batch:"]
    assert records(inbox) == 0


def test_a_child_sends_up_only_its_own_authorities_records(inbox: Inbox) -> None:
    own, other = item(1), item(2, authority="court.110108")  # Chaoyang's court, Haidian's
    outcome = inbox.receive("chaoyang", batch(1, [own, other]).body(), utc_now())
    assert (outcome.stored, outcome.rejected) == (1, 1)
    [refusal] = outcome.refusals
    assert refusal["item"] == 2 and "court.110108" in refusal["reason"]
    with inbox.factory() as session:
        keys = set(session.scalars(select(RecordHead.document_key)))
    assert keys == {f"court.110105|court.defaulter_listing|{own['record']['document_no']}"}


@pytest.fixture
def traffic(inbox: Inbox, national: Pack) -> Inbox:
    """The province's own listings 1 and 5 around the city's 2, 3, 4 (batch 1) and 6, 7."""

    def own(number: int) -> None:
        with inbox.factory.begin() as session:
            IngestJob(inbox.factory, national).run_in(
                session,
                [(1, "", listing(number))],
                channel="api",
                source_name=f"own {number}",
                digest=f"{number:064d}",
                key_id=None,
            )

    own(1)
    first = batch(1, [item(2), item(3), item(4)])
    inbox.receive("chaoyang", first.body(), utc_now())
    own(5)
    inbox.receive("chaoyang", batch(2, [item(6), item(7)], first.header.digest).body(), utc_now())
    return inbox


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(limit=st.integers(1, 8))
def test_a_link_reads_only_what_it_forwards_and_its_cursor_reaches_the_end_of_the_log(
    traffic: Inbox, national: Pack, limit: int
) -> None:
    child = link_named(traffic.settings, "chaoyang")
    parent = Link(
        NodeLink(name="national", url="http://127.0.0.1:9", key=CITY.verifier.encode()),
        Direction.PARENT,
    )
    assert child is not None
    with traffic.factory() as session:
        end = ledger_size(session) - 1
        for link, expected in ((parent, [1, 2, 3, 4, 5, 6, 7]), (child, [1, 5])):
            after, scans, documents = -1, 0, []
            while (
                found := scan(session, national, "beijing", link, after, limit)
            ).through != after:
                after, scans = found.through, scans + 1
                documents += [found_item["record"]["document_no"] for found_item in found.items]
            # Never the city's own events back down to it.
            assert documents == [listing(number)["document_no"] for number in expected]
            assert after == end
            if link is child:
                # The city's events are passed over by the query, not read in scans of
                # ``limit`` events: one scan per ``limit`` events to forward, and one to the end.
                assert scans == len(expected) // limit + 1
