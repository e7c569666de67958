"""The "收录证明" links of the public portal: a proof that opens on the ledger exactly what the page
shows of the record (decision, masked identifier, shown fields) and no more; nothing for a record
that is not public, or no longer public."""

import re
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import AS_OF, City, sign_in

from xinyong.ledger.bundle import InclusionBundle, verify_bundle
from xinyong.ledger.checkpoint import VerifierKey
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.search.publish import published_defaulters

SHOWN_DECISION = ("document_no", "decided_on", "effective_on", "severity", "amount")


def _published_key(client: TestClient) -> VerifierKey:
    return VerifierKey.parse(client.get("/v1/ledger/key").json()["key"])


def _records(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [record for group in found["record_groups"] for record in group["records"]]


def _check_public_proof(client: TestClient, file: dict[str, Any], record: dict[str, Any]) -> str:
    """The record's proof verifies and opens what the file shows of it, no more; returns the
    proof's text."""
    answer = client.get(record["proof"])
    assert answer.status_code == 200, answer.text
    verdict = verify_bundle(InclusionBundle(**answer.json()), _published_key(client))
    shown = {f"field.{name}": value for name, value in record["fields"].items()}
    assert verdict.disclosed == {
        "decision": verdict.disclosed["decision"],
        "subject_shown": file["subject"]["id"],
        **shown,
    }
    decision = verdict.disclosed["decision"]
    assert {name: decision[name] for name in SHOWN_DECISION} == {
        name: record[name] for name in SHOWN_DECISION
    }
    assert "members disclosed" in verdict.statement and "fully" not in verdict.statement
    return answer.text


def test_an_organisations_proofs_open_no_representatives_identity_number(
    client: TestClient, city: City
) -> None:
    """A registration names its legal representative's resident ID in a field the page hides:
    the proof of it must not open that field."""
    with city.factory() as session:
        registrations = session.execute(
            select(Subject.identifier, Record.document_key, Record.fields)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.kind == "organisation", Record.record_type.like("%registration"))
            .order_by(Record.id)
        ).all()
    checked = 0
    for identifier, document_key, fields in registrations[:20]:
        file = client.get(f"/v1/public/subjects/{identifier}").json()
        shown = [r for r in _records(file) if r["document_key"] == document_key]
        if not shown:
            continue
        hidden = fields["legal_representative_id"]
        assert hidden not in orjson.dumps(shown).decode()
        for record in _records(file):
            assert hidden not in _check_public_proof(client, file, record)
        checked += 1
    assert checked >= 10


def test_a_published_defaulters_proofs_show_the_masked_number_only(
    client: TestClient, city: City, national: Pack
) -> None:
    with city.factory() as session:
        defaulters = published_defaulters(session, national, AS_OF)
    assert defaulters
    for subject_id, identifier, _, _ in defaulters[:5]:
        file = client.get(f"/v1/public/subjects/{subject_id}").json()
        assert "*" in file["subject"]["id"]
        for record in _records(file):
            text = _check_public_proof(client, file, record)
            assert identifier not in text


def test_events_of_records_the_portal_does_not_show_have_no_public_proof(
    client: TestClient, city: City, national: Pack
) -> None:
    """A record of a non-public type, a withdrawn one, and an event that is not a record's:
    404 on the portal's route; the ledger's own route proves the leaf and opens nothing."""
    with city.factory() as session:
        private = session.scalar(
            select(RecordEvent.ledger_leaf)
            .join(Record, Record.id == RecordEvent.record_id)
            .where(
                Record.record_type.in_(
                    [
                        code
                        for code, kind in national.record_types.items()
                        if kind.disclosure != "public"
                    ]
                )
            )
            .limit(1)
        )
        withdrawn = session.scalar(
            select(RecordEvent.ledger_leaf).where(RecordEvent.kind == "withdrawn").limit(1)
        )
    for event in (private, withdrawn, 0):
        assert event is not None
        answer = client.get("/v1/public/proof/inclusion", params={"event": event})
        assert answer.status_code == 404, (event, answer.text)
        bare = client.get("/v1/ledger/proof/inclusion", params={"event": event})
        assert bare.status_code == 200 and bare.json()["event"] is None


def test_a_withdrawn_record_loses_its_public_proof(browser: TestClient, own_city: City) -> None:
    keys = {
        key["authority"]: key["key"]
        for key in orjson.loads((own_city.settings.var_dir / "demo" / "keys.json").read_bytes())
    }
    with own_city.factory() as session:
        candidates = session.execute(
            select(Record, Subject.identifier)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.authority.in_(list(keys)), Subject.kind == "organisation")
            .order_by(Record.id)
        ).all()
    for record, identifier in candidates:
        file = browser.get(f"/v1/public/subjects/{identifier}").json()
        shown = [r for r in _records(file) if r["document_key"] == record.document_key]
        if shown:
            break
    else:
        raise AssertionError("no public record by an authority with a demo key")
    link = shown[0]["proof"]
    assert browser.get(link).status_code == 200
    withdrawal = {
        "op": "withdraw",
        "record_type": record.record_type,
        "subject_id": identifier,
        "authority": record.authority,
        "document_no": record.document_no,
    }
    answer = browser.post(
        "/v1/submissions",
        json=[withdrawal],
        headers={"Authorization": f"Bearer {keys[record.authority]}"},
    )
    assert answer.status_code == 200 and answer.json()["withdrawn"] == 1, answer.text
    after = browser.get(f"/v1/public/subjects/{identifier}").json()
    assert record.document_key not in orjson.dumps(after).decode()
    assert browser.get(link).status_code == 404


def test_the_proof_links_of_me_open_the_subjects_own_events_to_it_alone(
    client: TestClient, city: City, passwords: dict[str, str]
) -> None:
    accounts = orjson.loads((city.settings.var_dir / "demo" / "accounts.json").read_bytes())
    own = next(a["subject"] for a in accounts if a["username"] == "demo-defaulter")
    sign_in(client, "demo-defaulter", passwords["demo-defaulter"])
    links = re.findall(r'href="(/v1/me/proof/inclusion\?event=\d+)"', client.get("/me").text)
    assert links
    key = _published_key(client)
    for link in links:
        answer = client.get(link)
        assert answer.status_code == 200, answer.text
        verdict = verify_bundle(InclusionBundle(**answer.json()), key)
        assert (
            "fully disclosed" in verdict.statement
            and verdict.disclosed["subject"]["identifier"] == own
        )
    stranger = TestClient(client.app)
    sign_in(stranger, "demo-org-rep", passwords["demo-org-rep"])
    assert stranger.get(links[0]).status_code == 404
