"""Health, readiness, metrics and request ids through the real application, on both backends."""

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from xinyong.accounts.service import create_account
from xinyong.app import create_app
from xinyong.audit.models import AccessLogRow
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.enforcement import api
from xinyong.enforcement.models import CheckLogRow
from xinyong.keys.service import create_key
from xinyong.ledger.checkpoint import SigningKey, write_signing_key
from xinyong.operations.logs import REQUESTS, formatter
from xinyong.store.db import alembic_config, make_engine, make_sessionmaker
from xinyong.testing import samples

PROXY = ("127.0.0.1", 40000)
STRANGER = ("203.0.113.9", 40000)
TOKEN = "scrape-token-for-tests"
PASSWORD = "a long password for tests"


def settings(store_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=store_url,
        var_dir=tmp_path,
        trusted_proxies="127.0.0.1",
        metrics_token=TOKEN,
        **overrides,
    )


@pytest.fixture
def keyed(tmp_path: Path) -> Path:
    write_signing_key(tmp_path / "ledger" / "signing.key", SigningKey.generate())
    return tmp_path


def client_of(
    store_url: str, tmp_path: Path, client: tuple[str, int] = PROXY, **overrides: Any
) -> TestClient:
    return TestClient(create_app(settings(store_url, tmp_path, **overrides)), client=client)


@pytest.fixture
def proxied(store_url: str, keyed: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The application as a trusted proxy on 127.0.0.1 reaches it."""
    monkeypatch.setattr(api, "POLL_SECONDS", 0.0)
    with client_of(store_url, keyed) as client:
        yield client


def token(store_url: str, role: str, authority: str | None = None) -> dict[str, str]:
    engine = make_engine(store_url)
    with make_sessionmaker(engine).begin() as session:
        secret = create_key(session, role=role, authority=authority, label=f"{role} test")
    engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def listed(client: TestClient, store_url: str, index: int) -> str:
    person = samples.person(index)
    day = (china_today() - timedelta(days=30)).isoformat()
    row = samples.defaulter_listing(person, index, decided_on=day, effective_on=day)
    del row["authority"]
    court = token(store_url, "authority", "court.110105")
    response = client.post("/v1/submissions", json=[row], headers=court)
    assert response.json()["accepted"] == 1, response.text
    return person


def samples_of(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_answers_without_a_store(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'absent' / 'never.db'}"
    with TestClient(create_app(Settings(database_url=missing, var_dir=tmp_path))) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_current_store_an_index_and_a_key(proxied: TestClient) -> None:
    response = proxied.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"store", "migrations", "measures_index", "ledger_key"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["measures_index"]["grants"] == 0


def test_readyz_names_a_missing_key_and_tells_strangers_only_which(
    store_url: str, tmp_path: Path
) -> None:
    with client_of(store_url, tmp_path) as operator:
        response = operator.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["ledger_key"]["ok"] is False and "signing.key" in checks["ledger_key"]["error"]
    assert checks["store"]["ok"] and checks["migrations"]["ok"] and checks["measures_index"]["ok"]
    with client_of(store_url, tmp_path, STRANGER) as stranger:
        response = stranger.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["ledger_key"] == {"ok": False}
    assert "signing.key" not in response.text


def test_readyz_refuses_a_store_that_needs_migrating(store_url: str, keyed: Path) -> None:
    command.downgrade(alembic_config(store_url), "-1")
    with client_of(store_url, keyed) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    migrations = response.json()["checks"]["migrations"]
    assert migrations["ok"] is False and "xinyong init" in migrations["error"]
    # It names the revision the store is at and the one the code needs.
    scripts = ScriptDirectory.from_config(alembic_config(store_url))
    head = scripts.get_revision(scripts.get_current_head())
    assert head is not None and isinstance(head.down_revision, str)
    assert head.down_revision in migrations["error"] and head.revision in migrations["error"]


def test_metrics_are_for_operators_only(store_url: str, tmp_path: Path) -> None:
    with client_of(store_url, tmp_path, STRANGER) as stranger:
        assert stranger.get("/metrics").status_code == 403
        wrong = stranger.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 403
        scraper = stranger.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraper.status_code == 200
    with client_of(store_url, tmp_path, PROXY) as local:
        assert local.get("/metrics").status_code == 200


def test_metrics_count_requests_checks_ingest_and_the_ledger(
    proxied: TestClient, store_url: str
) -> None:
    person = listed(proxied, store_url, 3)
    airline = token(store_url, "relying_party")
    body = {"subject_id": person, "action": "buy_air_ticket", "purpose": "ticket sale"}
    for _ in range(3):
        assert proxied.post("/v1/checks", json=body, headers=airline).json()["effect"] == "deny"
    batch = {
        "purpose": "ticket sale",
        "items": [
            {"subject_id": person, "action": "apply_loan"},
            {"subject_id": samples.person(99), "action": "buy_air_ticket"},
        ],
    }
    assert proxied.post("/v1/checks/batch", json=batch, headers=airline).status_code == 200
    proxied.get(f"/no/such/page/{person}")
    exposition = proxied.get("/metrics").text
    found = samples_of(exposition)

    def check(action: str, effect: str) -> float:
        return found[("xinyong_checks_total", (("action", action), ("effect", effect)))]

    assert check("buy_air_ticket", "deny") == 3
    assert check("buy_air_ticket", "allow") == 1
    request = (("method", "POST"), ("route", "/v1/checks"), ("status", "200"))
    assert found[("xinyong_http_request_duration_seconds_count", request)] == 3
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert found[("xinyong_http_request_duration_seconds_count", unmatched)] == 1
    assert found[("xinyong_ingest_rows_total", (("outcome", "accepted"),))] == 1
    assert found[("xinyong_ledger_leaves", ())] >= 1
    assert ("xinyong_notices_pending", ()) in found
    assert person not in exposition  # no metric names a subject, not even a walked path


def test_the_request_id_is_answered_and_stored_with_the_check(
    proxied: TestClient, store_url: str
) -> None:
    person = listed(proxied, store_url, 5)
    airline = token(store_url, "relying_party")
    body = {"subject_id": person, "action": "buy_air_ticket", "purpose": "ticket sale"}
    answered = proxied.post("/v1/checks", json=body, headers=airline)
    made = answered.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    sent = proxied.post(
        "/v1/checks", json=body, headers={**airline, "X-Request-ID": "nginx-7f3a9c"}
    )
    assert sent.headers["x-request-id"] == "nginx-7f3a9c"
    proxied.app.state.checks.log.flush()  # type: ignore[attr-defined]
    engine = make_engine(store_url)
    with make_sessionmaker(engine)() as session:
        stored = session.scalars(select(CheckLogRow.request_id).order_by(CheckLogRow.id)).all()
    engine.dispose()
    assert stored == [made, "nginx-7f3a9c"]


@pytest.mark.parametrize("hostile", ["a b", "x" * 65, "id\x00", "ид", ""])
def test_a_request_id_is_taken_only_from_a_trusted_proxy_and_only_when_plain(
    store_url: str, tmp_path: Path, hostile: str
) -> None:
    with client_of(store_url, tmp_path, STRANGER) as stranger:
        spoofed = stranger.get("/healthz", headers={"X-Request-ID": "chosen-by-client"})
    assert spoofed.headers["x-request-id"] != "chosen-by-client"
    with client_of(store_url, tmp_path, PROXY) as proxy:
        raw = [(b"x-request-id", hostile.encode())]
        response = proxy.get("/healthz", headers=raw)  # type: ignore[arg-type]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_the_request_id_is_stored_with_a_staff_read(proxied: TestClient, store_url: str) -> None:
    person = listed(proxied, store_url, 6)
    engine = make_engine(store_url)
    with make_sessionmaker(engine).begin() as session:
        create_account(session, username="wang.auditor", password=PASSWORD, role="auditor")
    signed_in = proxied.post(
        "/v1/auth/login", json={"username": "wang.auditor", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {
        "Authorization": f"Bearer {signed_in.json()['token']}",
        "X-Purpose": "complaint 17",
        "X-Request-ID": "proxy-read-1",
    }
    read = proxied.get(f"/v1/subjects/{person}", headers=headers)
    assert read.status_code == 200, read.text
    with make_sessionmaker(engine)() as session:
        assert session.scalars(select(AccessLogRow.request_id)).all() == ["proxy-read-1"]
    engine.dispose()


def test_a_request_line_is_logged_with_its_id_except_for_an_answered_check(
    proxied: TestClient, store_url: str
) -> None:
    airline = token(store_url, "relying_party")
    body = {"subject_id": samples.person(7), "action": "buy_air_ticket", "purpose": "ticket sale"}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter())
    requests = logging.getLogger(REQUESTS)
    requests.addHandler(handler)
    requests.setLevel(logging.INFO)
    try:
        answered = proxied.post("/v1/checks", json=body, headers=airline)
        refused = proxied.post("/v1/checks", json=body)
        page = proxied.get("/healthz")
    finally:
        requests.removeHandler(handler)
        requests.setLevel(logging.NOTSET)
    assert answered.status_code == 200 and refused.status_code == 401
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["route"], line["status"], line["request_id"]) for line in lines] == [
        ("/v1/checks", 401, refused.headers["x-request-id"]),
        ("/healthz", 200, page.headers["x-request-id"]),
    ]
    assert all(line["event"] == "request" and line["method"] for line in lines)
