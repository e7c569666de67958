"""Three nodes as real processes: a city (Chaoyang, SQLite), its province (Beijing, SQLite) and
the nation (PostgreSQL). Records go up, lists and repairs travel everywhere, checkpoints are
cosigned by the neighbours, and forged batches, replays and forks are refused or detected."""

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from xinyong.accounts.service import create_account
from xinyong.clock import china_today, utc_now
from xinyong.federation.batches import seal
from xinyong.federation.links import link_named
from xinyong.federation.relay import Relay
from xinyong.ingest.service import IngestJob
from xinyong.ledger.checkpoint import SigningKey, TreeHead, sign_checkpoint
from xinyong.ledger.witness import SIZE_TYPE, request_body
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights.repairs import apply_for_repair
from xinyong.rights.reviews import Decision, Reviewer, decide
from xinyong.testing import samples
from xinyong.testing.network import Node, connect, eventually
from xinyong.testing.postgres import create_database

pytestmark = pytest.mark.postgres
PASSWORD = "a long enough password 2026"


@pytest.fixture(scope="module")
def network(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Node]]:
    root = tmp_path_factory.mktemp("network")
    city = Node("chaoyang", "city", f"sqlite:///{root / 'city.db'}", root / "city", ("110105",))
    province = Node(
        "beijing", "province", f"sqlite:///{root / 'province.db'}", root / "province", ("110000",)
    )
    nation = Node(
        "national", "national", create_database(postgres_admin_url, "nation"), root / "nation"
    )
    connect(province, city)
    connect(nation, province)
    nodes = {"city": city, "province": province, "nation": nation}
    for node in nodes.values():
        # Checks are answered from keys held in memory: the relying party's is there at start.
        node.tokens["relying_party"] = node.issue("relying_party")
    try:
        for node in (nation, province, city):
            node.start()
        yield nodes
    finally:
        for node in nodes.values():
            node.kill()
            node.engine.dispose()


def submit(node: Node, authority: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    token = node.issue("authority", authority=authority)
    answer = httpx.post(
        f"{node.url}/v1/submissions",
        json=rows,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["rejected"] == 0, result
    return result


def check(node: Node, subject: str, action: str) -> str:
    token = node.tokens["relying_party"]
    answer = httpx.post(
        f"{node.url}/v1/checks",
        json={"subject_id": subject, "action": action, "purpose": "ticket sale"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    effect: str = answer.json()["effect"]
    return effect


def effect_becomes(node: Node, subject: str, action: str, effect: str) -> None:
    """The checks at ``node`` answer ``effect``: at once, or once its index has caught up
    (a serving process polls the store's measure index every second)."""
    eventually(
        lambda: check(node, subject, action) == effect,
        30,
        f"{action} for {subject} is {effect} at {node.name}",
    )


def head(node: Node, key: str) -> RecordHead | None:
    with node.factory() as session:
        return session.get(RecordHead, key)


def record(node: Node, key: str) -> Record:
    with node.factory() as session:
        return session.execute(
            select(Record).where(Record.document_key == key).order_by(Record.id.desc())
        ).scalar_one()


def listing(person: str, number: int, **overrides: Any) -> dict[str, Any]:
    """A defaulter listing in force today (a listing lasts two years from its effect)."""
    decided = (china_today() - timedelta(days=30)).isoformat()
    return samples.defaulter_listing(
        person, number, decided_on=decided, effective_on=decided, **overrides
    )


def listing_key(row: dict[str, Any]) -> str:
    return f"{row['authority']}|{row['record_type']}|{row['document_no']}"


def test_a_record_submitted_at_the_city_reaches_the_province_and_the_nation(
    network: dict[str, Node],
) -> None:
    city, province, nation = network["city"], network["province"], network["nation"]
    person = samples.person(101)
    row = listing(person, 101)
    submit(city, "court.110105", [row])
    key = listing_key(row)
    eventually(lambda: head(nation, key), 60, "the listing at the nation")
    at_city, at_province, at_nation = record(city, key), record(province, key), record(nation, key)
    assert at_city.origin_node is None and at_city.via_node is None
    assert (at_province.origin_node, at_province.via_node) == ("chaoyang", "chaoyang")
    assert (at_nation.origin_node, at_nation.via_node) == ("chaoyang", "beijing")
    assert at_nation.origin_record_id == at_city.id
    assert at_nation.authority == "court.110105" and at_nation.fields == at_city.fields
    effect_becomes(nation, person, "buy_air_ticket", "deny")


def test_a_national_listing_reaches_the_city_and_its_relying_parties(
    network: dict[str, Node],
) -> None:
    city, nation = network["city"], network["nation"]
    person = samples.person(202)
    assert check(city, person, "buy_air_ticket") == "allow"
    row = listing(person, 202, authority="court.110108", document_no="(2024)京0108执202号")
    submit(nation, "court.110108", [row])
    key = listing_key(row)
    eventually(lambda: head(city, key), 60, "the national listing at the city")
    assert (record(city, key).origin_node, record(city, key).via_node) == ("national", "beijing")
    effect_becomes(city, person, "buy_air_ticket", "deny")

    withdrawal = {**row, "op": "withdraw"}
    submit(nation, "court.110108", [withdrawal])
    eventually(
        lambda: (found := head(city, key)) is not None and found.status == "withdrawn",
        60,
        "the withdrawal at the city",
    )
    effect_becomes(city, person, "buy_air_ticket", "allow")


def test_a_repair_at_the_city_ends_the_consequence_at_the_nation(
    network: dict[str, Node], national: Pack
) -> None:
    city, nation = network["city"], network["nation"]
    person = samples.person(303)
    decided = (china_today() - timedelta(days=400)).isoformat()
    row = {
        "record_type": "hrss.wage_arrears",
        "subject_id": person,
        "subject_name": "赵六",
        "authority": "hrss.110105",
        "document_no": "京朝人社欠薪〔2025〕303号",
        "decided_on": decided,
        "effective_on": decided,
        "severity": "serious",
        "amount": 86000.0,
        "fields": {"workers_affected": 12},
    }
    submit(city, "hrss.110105", [row])
    key = listing_key(row)
    eventually(lambda: head(nation, key), 60, "the wage arrears record at the nation")
    effect_becomes(nation, person, "bid_public_procurement", "deny")
    # The subject applies at the city and the city's labour bureau grants it there.
    with city.factory.begin() as session:
        subject_account = create_account(
            session, username="zhao", password=PASSWORD, role="subject", subject_identifier=person
        )
        staff = create_account(
            session,
            username="hrss-chaoyang",
            password=PASSWORD,
            role="authority",
            authority_code="hrss.110105",
        )
        subject = session.scalar(select(Subject.id).where(Subject.identifier == person))
        assert subject is not None
        case = apply_for_repair(
            session,
            national,
            subject_id=subject,
            account_id=subject_account,
            record=key,
            statement="All wages were paid.",
            obligations_performed=True,
            commitment_signed=True,
            commitment="本人承诺所提交材料真实有效。",
            now=utc_now(),
        )
        case_id = case.id
    decide(
        city.factory,
        national,
        Reviewer(staff, "authority", "hrss.110105"),
        case_id,
        Decision("granted", "Wages paid in full; commitment signed."),
        utc_now(),
    )
    assert head(city, key).status == "repaired"  # type: ignore[union-attr]
    eventually(
        lambda: (found := head(nation, key)) is not None and found.status == "repaired",
        60,
        "the repair at the nation",
    )
    effect_becomes(nation, person, "bid_public_procurement", "allow")


def test_each_checkpoint_carries_its_neighbours_cosignatures(network: dict[str, Node]) -> None:
    city, province = network["city"], network["province"]
    witness = province.key.verifier.encode()
    # Tests of this module may run on different workers, each with its own network: this one
    # logs its own event, and waits for a cosigned checkpoint that includes it (the witness may
    # have cosigned the empty tree first).
    submit(city, "court.110105", [listing(samples.person(104), 104)])

    def cosigned() -> dict[str, Any] | None:
        found: dict[str, Any] = httpx.get(f"{city.url}/v1/ledger/checkpoint", timeout=10).json()
        covers = found["tree_size"] >= 1
        return found if covers and f"— {province.key.name} " in found["note"] else None

    signed = eventually(cosigned, 60, "the province's cosignature on the city's checkpoint")
    bundle = httpx.get(
        f"{city.url}/v1/ledger/proof/inclusion",
        params={"event": 0, "size": signed["tree_size"]},
        timeout=10,
    )
    assert bundle.status_code == 200, bundle.text
    path = city.var / "bundle.json"
    path.write_bytes(bundle.content)
    verdict = city.cli("ledger", "verify-proof", str(path), "--witness", witness, "--json")
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    checked = orjson.loads(verdict.stdout)
    assert checked["witnesses_pinned"] is True
    assert [found["witness"] for found in checked["cosigned_by"]] == [province.key.name]
    stranger = SigningKey.generate("beijing.example/ledger").verifier.encode()
    refused = city.cli("ledger", "verify-proof", str(path), "--witness", stranger, "--json")
    assert refused.returncode == 1 and "cosignature" in refused.stdout


def test_a_forged_batch_is_refused_and_raises_the_alarm(network: dict[str, Node]) -> None:
    city, province = network["city"], network["province"]
    impostor = SigningKey.generate(city.key.name)
    forged = seal(
        impostor,
        sender="chaoyang",
        receiver="beijing",
        number=1,
        previous="0" * 64,
        policy="0" * 64,
        items=[],
    )
    answer = httpx.post(
        f"{province.url}/v1/federation/batches",
        content=forged.body(),
        headers={"Authorization": f"Bearer {province.tokens['chaoyang']}"},
        timeout=30,
    )
    assert answer.status_code == 403 and "forged" in answer.json()["detail"]
    status = province.status()
    assert any(
        alarm["kind"] == "batch" and alarm["source"] == "chaoyang" for alarm in status["alarms"]
    )
    unauthenticated = httpx.post(
        f"{province.url}/v1/federation/batches", content=forged.body(), timeout=30
    )
    assert unauthenticated.status_code == 401


def test_a_forked_log_is_detected_by_the_witness(network: dict[str, Node]) -> None:
    city, province = network["city"], network["province"]
    # A log of its own to fork: under xdist this test may be the first of the module on its
    # worker, on a network where nothing was submitted yet (a witness cosigns a log of no leaves
    # at size 0, which has no fork).
    submit(city, "court.110105", [listing(samples.person(105), 105)])
    other_root = hashlib.sha256(b"another history").digest()

    def forked() -> int | None:
        """The size of the city's log the province holds, once it refused a fork of that size
        as one (None while it holds none). When the city's next checkpoint reaches the province
        first, the refusal names the size the province now holds (``text/x.tlog.size``): the
        fork is signed again at that size at once, not after another read of its status."""
        size = next(
            (
                log["tree_size"]
                for log in province.status()["witnessed"]
                if log["origin"] == city.key.name and log["tree_size"]
            ),
            None,
        )
        for _ in range(5):
            if size is None:
                return None
            fork = sign_checkpoint(TreeHead(size, other_root), city.key)
            answer = httpx.post(
                f"{province.url}/v1/federation/witness/add-checkpoint",
                content=request_body(size, [], fork.note),
                timeout=30,
            )
            assert answer.status_code == 409, answer.text
            if "fork" in answer.text:
                return size
            assert answer.headers["content-type"].startswith(SIZE_TYPE), answer.text
            size = int(answer.text)
        return None

    size = eventually(forked, 60, "the province refusing a fork of the city's log")
    status = province.status()
    [alarm] = [alarm for alarm in status["alarms"] if alarm["kind"] == "fork"]
    assert alarm["source"] == city.key.name and str(size) in alarm["reason"]
    assert (
        base64.b64encode(other_root).decode()
        not in httpx.get(f"{city.url}/v1/ledger/checkpoint", timeout=10).json()["note"]
    )


def test_a_killed_city_resumes_and_a_replayed_batch_changes_nothing(
    network: dict[str, Node], national: Pack, tmp_path: Path
) -> None:
    city, province, nation = network["city"], network["province"], network["nation"]
    # Other tests' records may still be on their way up: a batch the relay kept but was not
    # acknowledged for when the city is killed would be the one sent next, and the batch built
    # here would not be the next. Kill the city once its link to the province is idle.
    eventually(
        lambda: any(
            found["name"] == "beijing" and found["waiting"] == 0 for found in city.status()["links"]
        ),
        60,
        "the city's link to the province idle",
    )
    city.kill()
    rows = [listing(samples.person(400 + n), 400 + n) for n in range(30)]
    keys = [listing_key(row) for row in rows]
    try:
        with city.factory.begin() as session:
            summary = IngestJob(city.factory, national).run_in(
                session,
                [(n, "", row) for n, row in enumerate(rows, start=1)],
                channel="file",
                source_name="accepted while the city's server was down",
                digest=hashlib.sha256(b"replay").hexdigest(),
                key_id=None,
            )
        assert summary.stored == len(rows)
        # What the killed relay would have sent next, kept in the city's store as it would be.
        settings = city.settings()
        relay = Relay(city.factory, national, settings)
        link = link_named(settings, "beijing")
        assert link is not None
        flight = relay._next_batch(link, city.key)
        assert flight is not None
        headers = {"Authorization": f"Bearer {province.tokens['chaoyang']}"}
        first = httpx.post(
            f"{province.url}/v1/federation/batches",
            content=flight.body,
            headers=headers,
            timeout=60,
        )
        assert first.status_code == 200, first.text
        again = httpx.post(
            f"{province.url}/v1/federation/batches",
            content=flight.body,
            headers=headers,
            timeout=60,
        )
        assert again.status_code == 409 and again.json()["applied"] is True
    finally:
        city.start()
    eventually(lambda: all(head(nation, key) for key in keys), 60, "the records at the nation")
    for node in (province, nation):
        with node.factory() as session:
            copies = session.scalar(
                select(func.count()).select_from(Record).where(Record.document_key.in_(keys))
            )
        assert copies == len(keys), node.name
    link_state = eventually(
        lambda: next(
            (
                found
                for found in city.status()["links"]
                if found["name"] == "beijing" and found["sent_number"] == flight.number
            ),
            None,
        ),
        60,
        "the city's relay acknowledging the batch in flight",
    )
    assert link_state["error"] is None
