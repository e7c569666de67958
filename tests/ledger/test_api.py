"""``/v1/ledger``: the key, checkpoints and proof bundles that ``verify-proof`` accepts offline;
bundles that open an event in whole or in part, and what they refuse."""

import base64
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.config import Settings
from xinyong.ledger import LeafInput, SigningKey, append, checkpoint, register_source
from xinyong.ledger.api import router
from xinyong.ledger.bundle import (
    BundleError,
    InclusionBundle,
    PendingProof,
    inclusion_bundles,
    parse_bundle,
    verify_bundle,
)
from xinyong.ledger.checkpoint import (
    RetiredKey,
    open_checkpoint,
    retire_key,
    retired_keys_path,
    write_signing_key,
)
from xinyong.ledger.cli import app as cli
from xinyong.testing.store import migrated_sqlite

fixtures = MetaData()
licences = Table(
    "test_licences",
    fixtures,
    Column("id", Integer, primary_key=True),
    Column("holder", String(40)),
)


def licence_payload(licence_id: int, holder: str) -> bytes:
    return orjson.dumps({"licence": licence_id, "holder": holder})


def rebuild_licences(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    rows = session.execute(select(licences).where(licences.c.id.in_([int(ref) for ref in refs])))
    return {str(row.id): licence_payload(row.id, row.holder) for row in rows}


register_source("licence", rebuild_licences)

SIZES = [3, 8, 13]  # checkpointed tree sizes


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("credit.example/ledger")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(migrated_sqlite(tmp_path / "ledger.db"))
    fixtures.create_all(engine)
    yield engine
    engine.dispose()


def fill(engine: Engine, key: SigningKey) -> None:
    """Odd events are licences (rebuilt from their table), even ones keep their payload."""
    start = 0
    for end in SIZES:
        with Session(engine) as session, session.begin():
            leaves = []
            for i in range(start, end):
                if i % 2:
                    session.execute(licences.insert().values(id=i, holder=f"holder {i}"))
                    leaves.append(
                        LeafInput("licence.granted", str(i), licence_payload(i, f"holder {i}"))
                    )
                else:
                    leaves.append(
                        LeafInput("evaluation.published", f"v{i}", orjson.dumps({"digest": i}))
                    )
            append(session, leaves)
            checkpoint(session, key)
        start = end


@pytest.fixture
def settings(tmp_path: Path, key: SigningKey) -> Settings:
    settings = Settings(var_dir=tmp_path / "var")
    write_signing_key(settings.ledger_key_path, key)
    return settings


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(router)
    app.state.sessionmaker = sessionmaker(engine)
    app.state.settings = settings
    with TestClient(app) as client:  # one event loop for the test's requests, not one each
        yield client


def test_the_public_key(client: TestClient, key: SigningKey, settings: Settings) -> None:
    body = client.get("/v1/ledger/key").json()
    assert body == {
        "origin": "credit.example/ledger",
        "key": key.verifier.encode(),
        "key_id": key.verifier.key_id.hex(),
        "algorithm": "Ed25519",
        "retired": [],
    }
    old = SigningKey.generate("credit.example/ledger").verifier
    retire_key(settings.ledger_key_path, RetiredKey(old, 40))
    assert client.get("/v1/ledger/key").json()["retired"] == [
        {"key": old.encode(), "key_id": old.key_id.hex(), "last_size": 40}
    ]
    for unreadable in (
        b"forty " + old.encode().encode(),
        b"9" * 5000 + b" " + old.encode().encode(),
        b"\xff\xfe not text",
    ):
        retired_keys_path(settings.ledger_key_path).write_bytes(unreadable)
        response = client.get("/v1/ledger/key")
        assert response.status_code == 503 and "retired keys" in response.json()["detail"]
    settings.ledger_key_path.write_bytes(b"\xff\xfe not text")
    response = client.get("/v1/ledger/key")
    assert response.status_code == 503 and "cannot be read" in response.json()["detail"]


def test_the_latest_checkpoint(client: TestClient, engine: Engine, key: SigningKey) -> None:
    assert client.get("/v1/ledger/checkpoint").status_code == 404
    fill(engine, key)
    body = client.get("/v1/ledger/checkpoint").json()
    opened = open_checkpoint(body["note"], key.verifier)
    assert (body["tree_size"], body["root_hash"]) == (13, opened.root_hash.hex())


def test_every_inclusion_bundle_verifies(
    client: TestClient, engine: Engine, key: SigningKey
) -> None:
    fill(engine, key)
    for size in SIZES:
        for event in range(size):
            response = client.get(
                "/v1/ledger/proof/inclusion", params={"event": event, "size": size}
            )
            assert response.status_code == 200, response.text
            bundle = parse_bundle(response.content)
            verdict = verify_bundle(bundle, key.verifier)
            assert verdict.tree_size == size and f"event {event} is in" in verdict.statement
            assert bundle.event is None and verdict.disclosed == {}


def test_the_public_route_says_nothing_of_the_event(
    client: TestClient, engine: Engine, key: SigningKey
) -> None:
    """Kind, ref and content stay off the public route: only hashes and the signed note."""
    fill(engine, key)
    for event in range(13):
        text = client.get("/v1/ledger/proof/inclusion", params={"event": event}).text
        # The ref as a whole JSON string: a base64 signature or hash may end in "v0" by chance.
        for revealing in ("licence", "holder", "evaluation", "digest", f'"v{event}"'):
            assert revealing not in text, (event, revealing)


def opened(engine: Engine, key: SigningKey, members: dict[int, frozenset[str] | None]) -> dict:
    with Session(engine) as session:
        found = inclusion_bundles(session, key.verifier, members, interval=60)
    return {event: bundle.model_dump() for event, bundle in found.items()}


def test_a_bundle_opens_the_event_in_whole_or_in_part(engine: Engine, key: SigningKey) -> None:
    fill(engine, key)
    bundles = opened(engine, key, {5: None, 7: frozenset({"holder"}), 9: frozenset()})
    whole = verify_bundle(InclusionBundle(**bundles[5]), key.verifier)
    assert "event 5 (licence.granted 5), fully disclosed, is in the tree" in whole.statement
    assert whole.disclosed == {
        "@event": ["licence.granted", "5"],
        "licence": 5,
        "holder": "holder 5",
    }
    part = verify_bundle(InclusionBundle(**bundles[7]), key.verifier)
    assert "event 7, 1 of its 3 members disclosed, is in the tree" in part.statement
    assert part.disclosed == {"holder": "holder 7"}
    assert bundles[9]["event"] is None


def test_an_event_after_the_latest_checkpoint_is_pending(
    client: TestClient, engine: Engine, key: SigningKey
) -> None:
    fill(engine, key)
    with Session(engine) as session, session.begin():
        append(session, [LeafInput("evaluation.published", "late", orjson.dumps({"digest": 99}))])
    response = client.get("/v1/ledger/proof/inclusion", params={"event": 13})
    assert response.status_code == 202
    answer = PendingProof(**response.json())
    assert answer.checkpoint_size == 13 and 1 <= answer.retry_after <= 60
    assert response.headers["retry-after"] == str(answer.retry_after)
    assert "newer than the latest checkpoint" in answer.detail
    assert client.get("/v1/ledger/proof/inclusion", params={"event": 14}).status_code == 404
    assert isinstance(opened(engine, key, {13: None})[13], dict)
    with Session(engine) as session:
        pending = inclusion_bundles(session, key.verifier, {13: None, 14: None}, interval=60)
    assert isinstance(pending[13], PendingProof) and 14 not in pending
    with Session(engine) as session, session.begin():
        checkpoint(session, key)
    assert client.get("/v1/ledger/proof/inclusion", params={"event": 13}).status_code == 200


def test_every_consistency_bundle_verifies(
    client: TestClient, engine: Engine, key: SigningKey
) -> None:
    fill(engine, key)
    for old in SIZES:
        for new in [size for size in SIZES if size >= old]:
            response = client.get("/v1/ledger/proof/consistency", params={"from": old, "to": new})
            assert response.status_code == 200, response.text
            verdict = verify_bundle(parse_bundle(response.content), key.verifier)
            assert f"size {old} is a prefix of the tree of size {new}" in verdict.statement
    default = client.get("/v1/ledger/proof/consistency", params={"from": 3})
    assert verify_bundle(parse_bundle(default.content)).tree_size == 13


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("inclusion", {"event": 13}, 404, "not in the tree of size 13"),
        ("inclusion", {"event": 2, "size": 5}, 404, "no checkpoint of size 5"),
        ("inclusion", {"event": -1}, 422, "greater than or equal to 0"),
        ("inclusion", {"event": "first"}, 422, "valid integer"),
        ("inclusion", {"event": 2**70}, 422, "less than or equal"),
        ("inclusion", {}, 422, "Field required"),
        ("consistency", {"from": 8, "to": 3}, 422, "cannot precede"),
        ("consistency", {"from": 4}, 404, "no checkpoint of size 4"),
        ("consistency", {"from": 3, "to": 99}, 404, "the latest is of size 13"),
    ],
)
def test_bad_requests_get_a_reason(
    client: TestClient,
    engine: Engine,
    key: SigningKey,
    path: str,
    params: dict[str, object],
    status: int,
    message: str,
) -> None:
    fill(engine, key)
    response = client.get(f"/v1/ledger/proof/{path}", params=params)
    assert response.status_code == status
    assert message in str(response.json()["detail"])


def test_without_a_key_or_checkpoints(client: TestClient, settings: Settings) -> None:
    response = client.get("/v1/ledger/proof/inclusion", params={"event": 0})
    assert response.status_code == 404 and "no checkpoint" in response.json()["detail"]
    settings.ledger_key_path.unlink()
    response = client.get("/v1/ledger/key")
    assert response.status_code == 503 and "ledger keygen" in response.json()["detail"]


def test_a_damaged_ledger_is_a_503(client: TestClient, engine: Engine, key: SigningKey) -> None:
    fill(engine, key)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM ledger_tiles WHERE level = 0 AND tile_index = 0")
    response = client.get("/v1/ledger/proof/inclusion", params={"event": 5})
    assert response.status_code == 503 and "ledger verify" in response.json()["detail"]


def test_a_bundle_tells_an_edited_event(engine: Engine, key: SigningKey) -> None:
    fill(engine, key)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE test_licences SET holder = 'someone else' WHERE id = 7")
    bundle = InclusionBundle(**opened(engine, key, {7: None})[7])
    with pytest.raises(BundleError, match="do not make its logged leaf: it was changed"):
        verify_bundle(bundle, key.verifier)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM test_licences WHERE id = 7")
    bundle = InclusionBundle(**opened(engine, key, {7: None})[7])
    assert bundle.event is None
    assert verify_bundle(bundle, key.verifier).statement.startswith("event 7 is in the tree")


def _reopened(opening: str, value: object) -> str:
    """The same member salt with another value: what a forger would try."""
    raw = base64.b64decode(opening)
    name = orjson.loads(raw[32:])[0]
    return base64.b64encode(raw[:32] + orjson.dumps([name, value])).decode()


def test_tampered_bundles_are_refused(engine: Engine, key: SigningKey) -> None:
    fill(engine, key)
    good = opened(engine, key, {4: None})[4]
    event = good["event"]
    other = SigningKey.generate("credit.example/ledger")
    bad_proof = [
        good["proof"][0].replace(good["proof"][0][0], "f" if good["proof"][0][0] != "f" else "e", 1)
    ]
    for change, reason in [
        ({"leaf_index": 5}, "does not lead to the root"),
        ({"proof": bad_proof + good["proof"][1:]}, "does not lead to the root"),
        ({"proof": good["proof"][:-1]}, "shorter"),
        (
            {"event": {**event, "disclosed": [_reopened(event["disclosed"][0], 5)]}},
            "does not open any of the event's digests",
        ),
        (
            {"event": {**event, "disclosed": event["disclosed"][:1] * 2}},
            "is opened twice",
        ),
        ({"event": {**event, "digests": event["digests"][1:]}}, "do not make its logged leaf"),
        ({"event": {**event, "digests": event["digests"][:1] * 2}}, "listed twice"),
        ({"event": {**event, "disclosed": ["AAAA"]}}, "malformed"),
        ({"event": {**event, "disclosed": ["not base64!"]}}, "malformed"),
        ({"checkpoint": good["checkpoint"].replace("\n13\n", "\n12\n")}, "does not verify"),
        ({"key": other.verifier.encode()}, "no signature by the key"),
        ({"format": "something/2"}, "not a ledger proof bundle"),
        ({"proof": ["zz"]}, "not a ledger proof bundle"),
    ]:
        with pytest.raises(BundleError, match=reason):
            verify_bundle(parse_bundle(orjson.dumps({**good, **change})))
    with pytest.raises(BundleError, match="not the trusted"):
        verify_bundle(parse_bundle(orjson.dumps(good)), other.verifier)


def test_verify_proof_checks_what_the_api_serves(
    client: TestClient,
    engine: Engine,
    key: SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(engine, key)
    # No store and no signing key are within reach: the check is offline.
    monkeypatch.setenv("XINYONG_DATABASE_URL", "postgresql://nowhere.invalid/none")
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "elsewhere"))
    inclusion = tmp_path / "inclusion.json"
    inclusion.write_bytes(client.get("/v1/ledger/proof/inclusion", params={"event": 11}).content)
    consistency = tmp_path / "consistency.json"
    consistency.write_bytes(client.get("/v1/ledger/proof/consistency", params={"from": 8}).content)
    published = tmp_path / "ledger.vkey"
    published.write_text(client.get("/v1/ledger/key").json()["key"])
    runner = CliRunner()

    result = runner.invoke(cli, ["verify-proof", str(inclusion)])
    assert result.exit_code == 0, result.output
    assert "event 11 is in the tree of size 13" in result.output
    assert "compare it with the published key" in result.output

    whole = tmp_path / "whole.json"
    whole.write_bytes(orjson.dumps(opened(engine, key, {11: None})[11]))
    result = runner.invoke(cli, ["verify-proof", str(whole), "--key", str(published)])
    assert result.exit_code == 0, result.output
    assert "event 11 (licence.granted 11), fully disclosed, is in the tree" in result.output
    assert "holder 11" in result.output
    result = runner.invoke(cli, ["verify-proof", str(whole), "--json"])
    assert orjson.loads(result.output)["disclosed"]["holder"] == "holder 11"

    result = runner.invoke(
        cli, ["verify-proof", str(consistency), "--key", str(published), "--json"]
    )
    assert result.exit_code == 0, result.output
    verdict = orjson.loads(result.output)
    assert verdict["ok"] and verdict["key_pinned"] and verdict["tree_size"] == 13

    forged = orjson.loads(inclusion.read_bytes())
    forged["leaf_index"] = 10
    inclusion.write_bytes(orjson.dumps(forged))
    result = runner.invoke(cli, ["verify-proof", str(inclusion), "--json"])
    assert result.exit_code == 1
    assert not orjson.loads(result.output)["ok"]
    result = runner.invoke(cli, ["verify-proof", str(tmp_path / "missing.json")])
    assert result.exit_code == 2


def test_the_openapi_document_tells_when_a_proof_is_pending(client: TestClient) -> None:
    answers = client.get("/openapi.json").json()["paths"]["/v1/ledger/proof/inclusion"]["get"]
    pending = answers["responses"]["202"]
    assert "Retry-After" in pending["headers"]
    schema = pending["content"]["application/json"]["schema"]["$ref"]
    assert schema.endswith("/PendingProof")
