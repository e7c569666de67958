"""``POST /v1/checks`` and ``/v1/checks/batch`` through the real application and real keys."""

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.enforcement import api
from xinyong.enforcement.api import checks_of
from xinyong.enforcement.models import CheckLogRow, subject_key
from xinyong.keys.service import create_key
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

PURPOSE = "ticket sale, flight CA1234"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(api, "POLL_SECONDS", 0.0)
    url = migrated_sqlite(tmp_path / "api.db")
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        yield client


def key(client: TestClient, role: str, authority: str | None = None) -> dict[str, str]:
    factory = make_sessionmaker(make_engine(str(client.app.state.engine.url)))  # type: ignore[attr-defined]
    with factory.begin() as session:
        token = create_key(session, role=role, authority=authority, label=f"{role} test")
    return {"Authorization": f"Bearer {token}"}


def list_person(client: TestClient, index: int) -> str:
    person = samples.person(index)
    day = (china_today() - timedelta(days=30)).isoformat()
    row = samples.defaulter_listing(person, index, decided_on=day, effective_on=day)
    del row["authority"]
    response = client.post(
        "/v1/submissions", json=[row], headers=key(client, "authority", "court.110105")
    )
    assert response.json()["accepted"] == 1, response.text
    return person


def check(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/checks", json={"purpose": PURPOSE, **body}, headers=headers)


def test_a_listed_person_is_denied_with_measures_entries_and_basis(client: TestClient) -> None:
    airline = key(client, "relying_party")
    person = list_person(client, 1)
    response = check(client, airline, subject_id=person, action="buy_air_ticket")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["effect"] == "deny" and body["known"] is True and body["benefits"] == []
    [measure] = body["measures"]
    assert measure["code"] == "consumption.air_travel"
    assert measure["legal_basis"][0]["title"].startswith("最高人民法院关于限制被执行人高消费")
    assert measure["implemented_by"]["en"]
    [entry] = body["entries"]
    assert entry["list"] == "court.defaulters" and entry["started_on"] < entry["ends_on"]
    assert body["policy_version"].startswith("national@")
    assert len(body["decision_id"]) == 32
    assert body["valid_until"] == (china_today() + timedelta(days=1)).isoformat()


def test_separators_and_case_in_the_identifier_are_ignored(client: TestClient) -> None:
    airline = key(client, "relying_party")
    person = list_person(client, 2)
    spaced = f"{person[:6]} {person[6:14]} {person[14:].lower()}"
    assert (
        check(client, airline, subject_id=spaced, action="buy_air_ticket").json()["effect"]
        == "deny"
    )


def test_an_unknown_subject_is_allowed_not_an_error(client: TestClient) -> None:
    body = check(
        client, key(client, "relying_party"), subject_id=samples.person(99), action="buy_air_ticket"
    ).json()
    assert (body["effect"], body["known"], body["measures"], body["entries"]) == (
        "allow",
        False,
        [],
        [],
    )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            {"subject_id": "110105195102020025", "action": "buy_air_ticket", "purpose": None},
            "purpose",
        ),
        (
            {"subject_id": "110105195102020025", "action": "buy_air_ticket", "purpose": " "},
            "purpose",
        ),
        ({"subject_id": "12345", "action": "buy_air_ticket"}, "subject_id"),
        ({"subject_id": "110105195102020025", "action": "fly_to_the_moon"}, "action"),
        ({"subject_id": "110105195102020025", "action": "buy_air_ticket", "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_422_with_a_message(
    client: TestClient, body: dict[str, Any], where: str
) -> None:
    payload = {"purpose": PURPOSE, **body}
    if payload["purpose"] is None:
        del payload["purpose"]
    response = client.post("/v1/checks", json=payload, headers=key(client, "relying_party"))
    assert response.status_code == 422
    assert where in response.json()["detail"]


def test_only_relying_party_keys_may_check(client: TestClient) -> None:
    body = {"subject_id": samples.person(1), "action": "buy_air_ticket"}
    assert check(client, {}, **body).status_code == 401
    assert check(client, {"Authorization": "Bearer xy_nope_nope"}, **body).status_code == 401
    court = key(client, "authority", "court.110105")
    response = check(client, court, **body)
    assert response.status_code == 403 and "relying_party" in response.json()["detail"]


def test_batch_answers_in_order_with_bad_items_refused_in_place(client: TestClient) -> None:
    bank = key(client, "relying_party")
    person = list_person(client, 3)
    items = [
        {"subject_id": person, "action": "apply_loan"},
        {"subject_id": person, "action": "buy_air_ticket"},
        {"subject_id": samples.person(98), "action": "apply_loan"},
    ]
    response = client.post(
        "/v1/checks/batch", json={"purpose": PURPOSE, "items": items}, headers=bank
    )
    assert response.status_code == 200, response.text
    effects = [decision["effect"] for decision in response.json()["decisions"]]
    assert effects == ["review", "deny", "allow"]
    too_many = {"purpose": PURPOSE, "items": [items[0]] * 10_001}
    refused = client.post("/v1/checks/batch", json=too_many, headers=bank)
    assert refused.status_code == 422 and "items" in refused.json()["detail"]
    mixed = [
        items[0],
        {"subject_id": "x", "action": "apply_loan"},
        {"subject_id": person, "action": "fly_to_the_moon"},
        items[1],
    ]
    answered = client.post(
        "/v1/checks/batch", json={"purpose": PURPOSE, "items": mixed}, headers=bank
    )
    assert answered.status_code == 200, answered.text
    first, bad_subject, bad_action, last = answered.json()["decisions"]
    assert (first["effect"], last["effect"]) == ("review", "deny")
    assert bad_subject["index"] == 1 and bad_subject["error"].startswith("items[1].subject_id: ")
    assert bad_action["index"] == 2 and "fly_to_the_moon" in bad_action["error"]
    assert "effect" not in bad_subject and "effect" not in bad_action


def test_every_check_is_logged_for_the_subject_to_see(client: TestClient) -> None:
    airline = key(client, "relying_party")
    person = list_person(client, 4)
    decision = check(client, airline, subject_id=person, action="buy_air_ticket").json()
    check(client, airline, subject_id=samples.person(97), action="book_tourism")
    # A check is answered once its row is journalled; the log moves it into the store within
    # a twentieth of a second, or at once when flushed.
    checks_of(client.app).log.flush()
    factory = make_sessionmaker(make_engine(str(client.app.state.engine.url)))  # type: ignore[attr-defined]
    with factory() as session:
        rows = {row.subject: row for row in session.scalars(select(CheckLogRow))}
    assert {(row.subject, row.action, row.effect) for row in rows.values()} == {
        (person, "buy_air_ticket", "deny"),
        (samples.person(97), "book_tourism", "allow"),
    }
    assert rows[person].decision_id == decision["decision_id"]
    assert rows[person].subject_key == subject_key(person)
    assert (rows[person].purpose, rows[person].relying_party_label) == (
        PURPOSE,
        "relying_party test",
    )


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    padding = "x" * (api.MAX_BODY_BYTES + 1)
    response = client.post(
        "/v1/checks/batch",
        content=b'{"purpose": "' + padding.encode() + b'", "items": []}',
        headers={**key(client, "relying_party"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "10,000 items" in response.json()["detail"]


def test_the_snapshot_catches_up_with_new_records(client: TestClient) -> None:
    airline = key(client, "relying_party")
    person = samples.person(5)
    assert (
        check(client, airline, subject_id=person, action="buy_air_ticket").json()["known"] is False
    )
    list_person(client, 5)
    assert (
        check(client, airline, subject_id=person, action="buy_air_ticket").json()["effect"]
        == "deny"
    )


def test_the_routes_are_in_the_openapi_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/checks" in paths and "/v1/checks/batch" in paths
    post = paths["/v1/checks"]["post"]
    assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DecisionOut"
    )
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"subject_id", "action", "purpose"}
    batch = paths["/v1/checks/batch"]["post"]["requestBody"]["content"]["application/json"]
    items = batch["schema"]["properties"]["items"]
    assert items["maxItems"] == 10_000 and "subject_id" in items["items"]["properties"]


def test_a_busy_store_holds_up_no_answer_and_gets_the_row_when_it_is_free(
    client: TestClient, tmp_path: Path
) -> None:
    """Another writer holds SQLite's write lock: checks are answered at once (their rows wait
    in the journal), the server answers everything else, and the rows reach the store once
    the lock goes."""
    airline = key(client, "relying_party")
    check(client, airline, subject_id=samples.person(1), action="buy_air_ticket")  # warm up
    blocker = sqlite3.connect(tmp_path / "api.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    answered = check(client, airline, subject_id=samples.person(2), action="buy_air_ticket")
    assert answered.status_code == 200
    decision = answered.json()["decision_id"]
    # A loop waiting in SQLite's busy handler (30 s) would answer nothing before the lock goes.
    assert client.get("/healthz").status_code == 200
    log = checks_of(client.app).log
    assert log.pending() >= 1
    factory = make_sessionmaker(make_engine(str(client.app.state.engine.url)))  # type: ignore[attr-defined]
    stored = select(CheckLogRow.decision_id).where(CheckLogRow.decision_id == decision)
    with factory() as session:
        assert session.scalars(stored).all() == []
    blocker.execute("COMMIT")
    blocker.close()
    log.flush()
    assert log.pending() == 0
    with factory() as session:
        assert session.scalars(stored).one() == decision
