"""Sign-in, the whole file, staff reads and the credit report through the real application:
who may read what (the role matrix), and that every read of non-public data shows in the file."""

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from tests.subjects.conftest import PASSWORD, READ, City, bearer

from xinyong.accounts.service import create_account, login
from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.ledger import SigningKey, checkpoint
from xinyong.ledger.bundle import InclusionBundle, verify_bundle
from xinyong.ledger.checkpoint import write_signing_key
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite


def sign_in(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


def flush_check_log(client: TestClient) -> None:
    client.app.state.checks.log.flush()  # type: ignore[attr-defined]


def test_sign_in_answers_a_token_and_sets_a_safe_cookie(city: City) -> None:
    response = city.client.post(
        "/v1/auth/login", json={"username": "defaulter", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "subject" and body["subject_identifier"] == city.defaulter
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=12)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"xinyong_session={body['token']}")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # The cookie alone signs the pages' requests in.
    file = city.client.get("/v1/me/file")
    assert file.status_code == 200 and file.json()["subject"]["identifier"] == city.defaulter


def test_a_wrong_password_is_401_without_a_hint(city: City) -> None:
    wrong = city.client.post("/v1/auth/login", json={"username": "defaulter", "password": "nope"})
    unknown = city.client.post("/v1/auth/login", json={"username": "ghost", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}
    assert "set-cookie" not in wrong.headers


def test_the_whole_file_holds_records_entries_decisions_and_accesses(city: City) -> None:
    file = city.client.get("/v1/me/file", headers=city.signed_in["defaulter"]).json()
    assert file["subject"]["identifier"] == city.defaulter
    [record] = file["records"]
    assert record["record_type"] == "court.defaulter_listing"
    assert record["disclosure"] == "public" and record["status"] == "active"
    assert [event["kind"] for event in record["versions"][0]["events"]] == ["submitted"]
    [entry] = file["entries"]
    assert entry["list"] == "court.defaulters" and entry["state"] == "active"
    assert (
        entry["ended_on"] > file["as_of"]
        and entry["grounds"]["document_no"] == record["document_no"]
    )
    decisions = {decision["action"]: decision for decision in file["decisions"]}
    assert decisions["buy_air_ticket"]["effect"] == "deny"
    assert decisions["buy_air_ticket"]["measures"][0]["code"] == "consumption.air_travel"
    assert file["accesses"] == []


def test_no_subject_reads_another_subjects_file(city: City) -> None:
    neighbour = city.signed_in["neighbour"]
    own = city.client.get("/v1/me/file", headers=neighbour).json()
    assert own["subject"]["identifier"] == city.neighbour
    assert all(r["record_type"] != "court.defaulter_listing" for r in own["records"])
    # The staff route is closed to subjects, with or without a purpose.
    staff = city.client.get(f"/v1/subjects/{city.defaulter}", headers={**neighbour, **READ})
    assert staff.status_code == 403
    assert "operator" in staff.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/me/file", "/v1/me/report.pdf", "/v1/subjects/{id}"])
def test_a_relying_party_key_reads_no_file(city: City, path: str) -> None:
    response = city.client.get(path.format(id=city.defaulter), headers={**city.airline_key, **READ})
    assert response.status_code == 403
    assert "API key" in response.json()["detail"]


def test_without_any_credential_the_files_are_closed(city: City) -> None:
    for path in ("/v1/me/file", f"/v1/subjects/{city.defaulter}"):
        response = city.client.get(path, headers=READ)
        assert response.status_code == 401 and "sign in" in response.json()["detail"]


def test_a_staff_read_needs_a_purpose_and_shows_in_the_subjects_file(
    city: City, tmp_path: Path
) -> None:
    reviewer = city.signed_in["reviewer"]
    refused = city.client.get(f"/v1/subjects/{city.defaulter}", headers=reviewer)
    assert refused.status_code == 400 and "X-Purpose" in refused.json()["detail"]
    blank = city.client.get(
        f"/v1/subjects/{city.defaulter}", headers={**reviewer, "X-Purpose": " "}
    )
    assert blank.status_code == 400
    purpose = "异议复核 objection review".encode()
    read = city.client.get(
        f"/v1/subjects/{city.defaulter}",
        headers={**reviewer, "X-Purpose": purpose},  # type: ignore[dict-item]
    )
    assert read.status_code == 200, read.text
    assert read.json()["records"][0]["document_no"].startswith("(2024)京0105执1")
    unknown = city.client.get(f"/v1/subjects/{samples.person(77)}", headers={**reviewer, **READ})
    assert unknown.status_code == 404

    accesses = city.client.get("/v1/me/file", headers=city.signed_in["defaulter"]).json()[
        "accesses"
    ]
    [access] = accesses
    assert access["who"] == "reviewer" and access["role"] == "reviewer"
    assert access["purpose"] == "异议复核 objection review"
    assert access["kind"] == "staff_read" and access["proof"] is None  # no ledger key yet
    assert abs(datetime.fromisoformat(access["at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    # Refused reads and reads of nobody are not accesses; the neighbour's file shows none.
    neighbour = city.client.get("/v1/me/file", headers=city.signed_in["neighbour"]).json()
    assert neighbour["accesses"] == []

    # Once the ledger is signed, the subject holds the proof of the read, opened in full.
    key = SigningKey.generate("credit.example/ledger")
    write_signing_key(tmp_path / "ledger" / "signing.key", key)
    with city.factory.begin() as session:
        checkpoint(session, key)
    [access] = city.client.get("/v1/me/file", headers=city.signed_in["defaulter"]).json()[
        "accesses"
    ]
    verdict = verify_bundle(InclusionBundle(**access["proof"]), key.verifier)
    assert verdict.disclosed["purpose"] == "异议复核 objection review"
    assert verdict.disclosed["subject"] == city.defaulter
    link = f"/v1/me/proof/inclusion?event={access['ledger_leaf']}"
    own = city.client.get(link, headers=city.signed_in["defaulter"])
    assert own.status_code == 200 and own.json() == access["proof"]
    for other in ("neighbour", "reviewer"):
        refused = city.client.get(link, headers=city.signed_in[other])
        assert refused.status_code in (403, 404), (other, refused.text)
    assert city.client.get(link).status_code == 401
    beyond = f"/v1/me/proof/inclusion?event={2**40}"  # past the ledger's last event
    missing = city.client.get(beyond, headers=city.signed_in["defaulter"])
    assert (missing.status_code, "no event" in missing.json()["detail"]) == (404, True)


def test_every_staff_role_reads_what_its_role_allows_and_every_read_is_logged(city: City) -> None:
    views: dict[str, Any] = {}
    for username in ("operator", "reviewer", "auditor", "court-clerk", "market-clerk"):
        response = city.client.get(
            f"/v1/subjects/{city.defaulter}", headers={**city.signed_in[username], **READ}
        )
        assert response.status_code == 200, (username, response.text)
        views[username] = response.json()
    assert "decisions" in views["operator"] and "accesses" not in views["operator"]
    # The auditor sees who looked before it (the operator and the reviewer).
    assert [a["who"] for a in views["auditor"]["accesses"]] == ["reviewer", "operator"]
    # A providing authority sees only what it provided.
    assert len(views["court-clerk"]["records"]) == 1 and len(views["court-clerk"]["entries"]) == 1
    assert views["market-clerk"]["records"] == [] and views["market-clerk"]["entries"] == []

    file = city.client.get("/v1/me/file", headers=city.signed_in["defaulter"]).json()
    assert sorted(a["who"] for a in file["accesses"]) == sorted(views)
    assert {a["purpose"] for a in file["accesses"]} == {READ["X-Purpose"]}


def test_relying_party_checks_show_in_the_subjects_file(city: City) -> None:
    response = city.client.post(
        "/v1/checks",
        json={"subject_id": city.defaulter, "action": "buy_air_ticket", "purpose": "flight CA1234"},
        headers=city.airline_key,
    )
    assert response.json()["effect"] == "deny"
    flush_check_log(city.client)
    file = city.client.get("/v1/me/file", headers=city.signed_in["defaulter"]).json()
    [access] = file["accesses"]
    assert access["kind"] == "check" and access["role"] == "relying_party"
    assert access["who"] == "relying_party test" and access["purpose"] == "flight CA1234"
    assert access["what"] == "check buy_air_ticket: deny"


def test_signing_out_ends_the_session_at_once(city: City) -> None:
    defaulter = sign_in(city.client, "defaulter")
    assert city.client.get("/v1/me/file", headers=defaulter).status_code == 200
    out = city.client.post("/v1/auth/logout", headers=defaulter)
    assert out.status_code == 204 and 'xinyong_session=""' in out.headers["set-cookie"]
    after = city.client.get("/v1/me/file", headers=defaulter)
    assert after.status_code == 401 and "signed out" in after.json()["detail"]
    assert city.client.post("/v1/auth/logout", headers=defaulter).status_code == 401


def test_an_expired_session_is_refused(city: City) -> None:
    with city.factory.begin() as session:
        token = login(session, "defaulter", PASSWORD, now=datetime.now(UTC) - timedelta(hours=13))
    response = city.client.get("/v1/me/file", headers=bearer(token))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_the_configured_session_length_holds(tmp_path: Path) -> None:
    url = migrated_sqlite(tmp_path / "short.db")
    with make_sessionmaker(make_engine(url)).begin() as session:
        create_account(session, username="op", password=PASSWORD, role="operator")
    settings = Settings(database_url=url, var_dir=tmp_path, session_hours=0.5)
    with TestClient(create_app(settings)) as client:
        body = client.post("/v1/auth/login", json={"username": "op", "password": PASSWORD}).json()
    left = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


def test_the_credit_report_prints_the_whole_file(city: City) -> None:
    defaulter = city.signed_in["defaulter"]
    city.client.get(
        f"/v1/subjects/{city.defaulter}", headers={**city.signed_in["operator"], **READ}
    )
    html = city.client.get("/v1/me/report.html", headers=defaulter)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert city.defaulter in html.text and "(2024)京0105执1号" in html.text
    assert "失信被执行人名单" in html.text and READ["X-Purpose"] in html.text

    pdf = city.client.get("/v1/me/report.pdf", headers=defaulter)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert city.defaulter in text and "(2024)" in text and "0105" in text
    assert READ["X-Purpose"] in text


def test_the_file_holds_each_score_with_its_reasons_and_every_notice(city: City) -> None:
    neighbour = sign_in(city.client, "neighbour")
    file = city.client.get("/v1/me/file", headers=neighbour).json()
    donation = next(r for r in file["records"] if r["record_type"] == "health.blood_donation")
    points = next(score for score in file["scores"] if score["scheme"]["code"] == "city.points")
    reasons = {item["document_no"]: item["points"] for item in points["contributions"]}
    assert reasons.get(donation["document_no"], 0) > 0
    # The score is its base plus its reasons (well inside the clamp for one record).
    assert points["value"] == 1000 + sum(reasons.values())

    listed = city.client.get("/v1/me/file", headers=city.signed_in["defaulter"]).json()
    kinds = {notice["kind"] for notice in listed["notices"]}
    assert {"record", "listing"} <= kinds
    # Nothing has been delivered yet, and the file says so.
    assert all(notice["sent_at"] is None for notice in listed["notices"])
    assert all(record["disputed"] is False for record in listed["records"])
