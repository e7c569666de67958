"""Objections, reviews and credit repair end to end, through the real application.

Records arrive through ``POST /v1/submissions`` with an authority key, people sign in with
``POST /v1/auth/login``, and the effect of a decision is read back from ``POST /v1/checks`` or
from the measures index, as a relying party would see it.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.models import Account
from xinyong.accounts.service import create_account
from xinyong.app import create_app
from xinyong.audit.models import AccessLogRow
from xinyong.clock import CHINA, china_today
from xinyong.config import Settings
from xinyong.enforcement import api as checks_api
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import EntryRow, IndexState, MeasureIndexRow
from xinyong.ingest.models import Submission
from xinyong.keys.service import create_key
from xinyong.policy import Pack
from xinyong.records.facts import add_months
from xinyong.records.models import RecordEvent, RecordHead
from xinyong.rights.api import get_now
from xinyong.rights.evidence import evidence_path
from xinyong.rights.notices_models import NoticeRow
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples

PASSWORD = "correct horse battery"
PDF = samples.pdf()
PNG = samples.png()
PURPOSE = "ticket sale, flight CA1234"


class Platform:
    """The application with its store, and the ways people and authorities use it."""

    def __init__(self, client: TestClient, factory: sessionmaker[Session], var_dir: Path) -> None:
        self.client = client
        self.factory = factory
        self.var_dir = var_dir
        self.accounts = 0

    def key(self, role: str, authority: str | None = None) -> dict[str, str]:
        with self.factory.begin() as session:
            token = create_key(session, role=role, authority=authority, label=f"{role} test")
        return {"Authorization": f"Bearer {token}"}

    def submit(self, row: dict[str, Any]) -> None:
        authority = row.pop("authority")
        response = self.client.post(
            "/v1/submissions", json=[row], headers=self.key("authority", authority)
        )
        assert response.json()["accepted"] == 1, response.text

    def person(self, role: str, **links: str) -> dict[str, str]:
        self.accounts += 1
        username = f"{role}{self.accounts}"
        with self.factory.begin() as session:
            create_account(session, username=username, password=PASSWORD, role=role, **links)
        response = self.client.post(
            "/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def subject(self, identifier: str) -> dict[str, str]:
        return self.person("subject", subject_identifier=identifier)

    def set_clock(self, day: date) -> None:
        instant = datetime.combine(day, time(10), tzinfo=CHINA).astimezone(UTC)
        self.client.app.dependency_overrides[get_now] = lambda: instant  # type: ignore[attr-defined]

    def check(self, identifier: str, action: str) -> str:
        response = self.client.post(
            "/v1/checks",
            json={"subject_id": identifier, "action": action, "purpose": PURPOSE},
            headers=self.key("relying_party"),
        )
        assert response.status_code == 200, response.text
        effect: str = response.json()["effect"]
        return effect

    def decide(self, pack: Pack, identifier: str, action: str, day: date) -> str:
        index = MeasuresIndex(pack)
        with self.factory() as session:
            index.load(session)
        return str(index.decide(identifier, action, day).effect)

    def object(
        self,
        headers: dict[str, str],
        files: list[tuple[str, bytes, str]] | None = None,
        **form: Any,
    ) -> Any:
        return self.client.post(
            "/v1/me/objections",
            data={"grounds": "The debt was paid before the listing.", **form},
            files=[("files", file) for file in files or []],
            headers=headers,
        )

    def apply_for_repair(self, headers: dict[str, str], record: str) -> Any:
        """A repair application for ``record``, statement and commitment given."""
        return self.client.post(
            "/v1/me/repairs",
            json={
                "record": record,
                "statement": "All wages were paid.",
                "obligations_performed": True,
                "commitment_signed": True,
                "commitment": "本人承诺所提交材料真实有效。",
            },
            headers=headers,
        )


@pytest.fixture
def platform(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setattr(checks_api, "POLL_SECONDS", 0.0)
    engine = make_engine(store_url)
    settings = Settings(database_url=store_url, var_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        yield Platform(client, make_sessionmaker(engine), settings.var_dir)
    engine.dispose()


def days_ago(days: int) -> str:
    return (china_today() - timedelta(days=days)).isoformat()


def list_defaulter(platform: Platform, index: int) -> tuple[str, str]:
    """A person on the court's defaulter list since a month ago; its document key."""
    person = samples.person(index)
    platform.submit(
        samples.defaulter_listing(person, index, decided_on=days_ago(30), effective_on=days_ago(30))
    )
    return person, f"court.110105|court.defaulter_listing|(2024)京0105执{index}号"


def wage_arrears(person: str, number: int, decided_on: str) -> dict[str, Any]:
    return {
        "record_type": "hrss.wage_arrears",
        "subject_id": person,
        "subject_name": "赵六",
        "authority": "hrss.110000",
        "document_no": f"京人社欠薪〔2025〕{number}号",
        "decided_on": decided_on,
        "effective_on": decided_on,
        "severity": "serious",
        "amount": 86000.0,
        "fields": {"workers_affected": 12},
    }


def notices(platform: Platform, kind: str) -> list[NoticeRow]:
    with platform.factory() as session:
        return list(session.scalars(select(NoticeRow).where(NoticeRow.kind == kind)))


def test_listing_objection_upheld_withdraws_the_record_and_every_measure_ends(
    platform: Platform,
) -> None:
    person, key = list_defaulter(platform, 1)
    assert platform.check(person, "buy_air_ticket") == "deny"
    subject = platform.subject(person)

    filed = platform.object(subject, [("judgment.pdf", PDF, "application/pdf")], record=key)
    assert filed.status_code == 201, filed.text
    case = filed.json()
    assert case["status"] == "open" and case["kind"] == "objection"
    assert datetime.fromisoformat(case["received_at"]).tzinfo is not None
    assert case["evidence"][0]["content_type"] == "application/pdf"
    assert case["received_on"] < case["mark_due_on"] <= case["due_on"] < case["limit_on"]
    with platform.factory() as session:
        kinds = list(
            session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.record_id == case["record_id"])
                .order_by(RecordEvent.id)
            )
        )
        leaf = session.scalar(select(RecordEvent.ledger_leaf).where(RecordEvent.kind == "disputed"))
    assert kinds == ["submitted", "disputed"] and leaf is not None
    assert [notice.subject_id for notice in notices(platform, "objection_received")]

    reviewer = platform.person("reviewer")
    [queued] = platform.client.get("/v1/reviews", headers=reviewer).json()
    assert queued["id"] == case["id"] and queued["overdue"] is False
    download = platform.client.get(f"/v1/reviews/{case['id']}/evidence/1", headers=reviewer)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"

    decided = platform.client.post(
        f"/v1/reviews/{case['id']}/decision",
        json={"outcome": "upheld", "reasons": "The court revoked the listing.", "withdraw": True},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld"
    assert platform.check(person, "buy_air_ticket") == "allow"
    assert platform.check(person, "buy_high_speed_rail_ticket") == "allow"
    with platform.factory() as session:
        assert session.scalar(select(RecordHead.status).where(RecordHead.document_key == key)) == (
            "withdrawn"
        )
        [entry] = session.scalars(select(EntryRow)).all()
        assert entry.end_reason == "withdrawn" and entry.ended_on <= china_today()
        last = session.scalars(
            select(RecordEvent.kind)
            .where(RecordEvent.record_id == case["record_id"])
            .order_by(RecordEvent.id)
        ).all()
    assert last == ["submitted", "disputed", "withdrawn", "resolved"]
    assert platform.client.get("/v1/reviews", headers=reviewer).json() == []
    [mine] = platform.client.get("/v1/me/requests", headers=subject).json()
    assert mine["status"] == "upheld" and mine["reasons"] == "The court revoked the listing."
    assert notices(platform, "objection_upheld")


def list_and_restrict(platform: Platform, index: int) -> tuple[str, str, str]:
    """A person listed as a defaulter and restricted in consumption in one enforcement case;
    the document keys of the listing and of the restriction."""
    person, listing = list_defaulter(platform, index)
    platform.submit(
        samples.consumption_restriction(
            person, index, decided_on=days_ago(30), effective_on=days_ago(30)
        )
    )
    return person, listing, f"court.110105|court.consumption_restriction|(2024)京0105执{index}号"


def test_an_objection_to_a_listing_offers_the_restriction_of_its_case_and_ends_both(
    platform: Platform,
) -> None:
    person, listing, restriction = list_and_restrict(platform, 21)
    _, other_case = list_defaulter(platform, 22)  # another case: never offered with this one
    platform.submit(samples.defaulter_listing(person, 23))
    assert platform.check(person, "buy_air_ticket") == "deny"
    subject = platform.subject(person)

    offered = platform.client.get(
        "/v1/me/objections/same-case", params={"record": listing}, headers=subject
    )
    assert offered.status_code == 200, offered.text
    assert [row["record"] for row in offered.json()] == [restriction]

    filed = platform.object(
        subject, [("paid.pdf", PDF, "application/pdf")], record=listing, also=[restriction]
    )
    assert filed.status_code == 201, filed.text
    application = filed.json()["application_id"]
    assert application == filed.json()["id"]
    mine = platform.client.get("/v1/me/requests", headers=subject).json()
    assert {case["record"] for case in mine} == {listing, restriction}
    assert {case["application_id"] for case in mine} == {application}
    assert all(case["evidence"][0]["sha256"] == mine[0]["evidence"][0]["sha256"] for case in mine)

    reviewer = platform.person("reviewer")
    with platform.factory() as session:
        seq_before = session.scalar(select(IndexState.seq))
    decided = platform.client.post(
        f"/v1/reviews/{application}/decision",
        json={"outcome": "upheld", "reasons": "Performed before listing.", "withdraw": True},
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    # What mirrors and feeds read: the subject's row of the measures index changed, its grants
    # from the two withdrawn records gone.
    with platform.factory() as session:
        row = session.scalars(
            select(MeasureIndexRow).where(MeasureIndexRow.identifier == person)
        ).one()
        assert seq_before is not None and row.seq > seq_before
        ended = session.scalars(
            select(EntryRow).where(EntryRow.document_key.in_((listing, restriction)))
        ).all()
        assert {entry.end_reason for entry in ended} == {"withdrawn"}
    assert platform.check(person, "buy_air_ticket") == "allow"
    assert platform.check(person, "buy_high_speed_rail_ticket") == "allow"
    after = platform.client.get("/v1/me/requests", headers=subject).json()
    assert {(case["record"], case["status"]) for case in after} == {
        (listing, "upheld"),
        (restriction, "upheld"),
    }
    with platform.factory() as session:
        for key in (listing, restriction):
            record_id = session.scalar(
                select(RecordHead.record_id).where(RecordHead.document_key == key)
            )
            events = session.execute(
                select(RecordEvent.kind, RecordEvent.ledger_leaf, Submission.source)
                .outerjoin(Submission, Submission.id == RecordEvent.submission_id)
                .where(RecordEvent.record_id == record_id)
                .order_by(RecordEvent.id)
            ).all()
            assert [kind for kind, _, _ in events] == [
                "submitted",
                "disputed",
                "withdrawn",
                "resolved",
            ]
            assert all(leaf is not None for _, leaf, _ in events)
            # The withdrawal's submission names the objection and the reviewer: why it ended.
            assert events[2][2] == f"objection:{application}:review:{decided_account(platform)}"
        assert (
            session.scalar(select(RecordHead.status).where(RecordHead.document_key == other_case))
            == "active"
        )


def decided_account(platform: Platform) -> int:
    with platform.factory() as session:
        return session.scalars(select(Account.id).where(Account.role == "reviewer")).one()


def test_objecting_to_the_listing_alone_leaves_the_restriction_of_its_case(
    platform: Platform,
) -> None:
    person, listing, restriction = list_and_restrict(platform, 24)
    subject = platform.subject(person)
    case = platform.object(subject, record=listing).json()
    assert case["application_id"] is None
    reviewer = platform.person("reviewer")
    platform.client.post(
        f"/v1/reviews/{case['id']}/decision",
        json={"outcome": "upheld", "reasons": "Wrong ground.", "withdraw": True},
        headers=reviewer,
    )
    # The restriction order stands until the court lifts it or it is objected to.
    assert platform.check(person, "buy_air_ticket") == "deny"
    later = platform.object(subject, record=restriction).json()
    platform.client.post(
        f"/v1/reviews/{later['id']}/decision",
        json={"outcome": "upheld", "reasons": "Lifted with the listing.", "withdraw": True},
        headers=reviewer,
    )
    assert platform.check(person, "buy_air_ticket") == "allow"


def test_an_unrepairable_listing_says_from_the_pack_how_it_ends(platform: Platform) -> None:
    person, listing, restriction = list_and_restrict(platform, 29)
    subject = platform.subject(person)
    for key in (listing, restriction):
        seen = platform.client.get(
            "/v1/me/repairs/eligibility", params={"record": key}, headers=subject
        ).json()
        assert seen["eligible"] is False
        assert seen["ending"]["record_types"] == ["court.obligation_performed"]
        assert "settlement_performed" in seen["ending"]["ways"]
        assert "basis_revoked" in seen["ending"]["ways"]


def test_the_cases_of_an_application_can_be_decided_one_by_one(platform: Platform) -> None:
    person, listing, restriction = list_and_restrict(platform, 25)
    subject = platform.subject(person)
    first = platform.object(subject, record=listing, also=[restriction]).json()
    reviewer = platform.person("reviewer")
    queue = platform.client.get("/v1/reviews", headers=reviewer).json()
    [second] = [case["id"] for case in queue if case["record"] == restriction]

    stray = platform.client.post(
        f"/v1/reviews/{first['id']}/decision",
        json={"outcome": "rejected", "reasons": "x", "together": [second + 100]},
        headers=reviewer,
    )
    assert stray.status_code == 422 and str(second + 100) in stray.json()["detail"]
    corrected_together = platform.client.post(
        f"/v1/reviews/{first['id']}/decision",
        json={"outcome": "upheld", "reasons": "x", "correction": {"amount": 1.0}},
        headers=reviewer,
    )
    assert corrected_together.status_code == 422
    assert "one record" in corrected_together.json()["detail"]

    alone = platform.client.post(
        f"/v1/reviews/{first['id']}/decision",
        json={
            "outcome": "upheld",
            "reasons": "Listed on a wrong ground.",
            "withdraw": True,
            "together": [],
        },
        headers=reviewer,
    )
    assert alone.status_code == 200, alone.text
    assert platform.check(person, "buy_air_ticket") == "deny"
    rest = platform.client.post(
        f"/v1/reviews/{second}/decision",
        json={"outcome": "rejected", "reasons": "The restriction stands."},
        headers=reviewer,
    )
    assert rest.status_code == 200, rest.text
    statuses = {
        case["record"]: case["status"]
        for case in platform.client.get("/v1/me/requests", headers=subject).json()
    }
    assert statuses == {listing: "upheld", restriction: "rejected"}
    assert platform.check(person, "buy_air_ticket") == "deny"


def test_also_names_only_records_of_the_same_case(platform: Platform) -> None:
    person, listing = list_defaulter(platform, 26)
    _, foreign = list_defaulter(platform, 27)
    platform.submit(samples.defaulter_listing(person, 28))
    subject = platform.subject(person)
    own_other = "court.110105|court.defaulter_listing|(2024)京0105执28号"
    for also in (own_other, foreign, "999999", "x" * 300):
        refused = platform.object(subject, record=listing, also=[also])
        assert refused.status_code in (404, 422), (also, refused.text)
    assert platform.client.get("/v1/me/requests", headers=subject).json() == []
    assert platform.client.get("/v1/reviews", headers=platform.person("reviewer")).json() == []


def test_an_upheld_correction_makes_a_new_version(platform: Platform) -> None:
    person, key = list_defaulter(platform, 2)
    subject = platform.subject(person)
    case = platform.object(subject, record=key).json()
    reviewer = platform.person("reviewer")
    decided = platform.client.post(
        f"/v1/reviews/{case['id']}/decision",
        json={
            "outcome": "upheld",
            "reasons": "Part of the amount was paid.",
            "correction": {"amount": 20000.0, "fields": {"ground": "breaks_asset_reporting"}},
        },
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["result_record_id"] not in (None, case["record_id"])
    with platform.factory() as session:
        head = session.scalar(select(RecordHead).where(RecordHead.document_key == key))
        assert head is not None and head.version == 2 and head.status == "active"
        assert head.record_id == body["result_record_id"]


def test_a_rejected_objection_tells_the_subject_why(platform: Platform) -> None:
    person, key = list_defaulter(platform, 3)
    subject = platform.subject(person)
    case = platform.object(subject, record=key).json()
    court = platform.person("authority", authority_code="court.110105")
    reasons = "The enforcement file shows no payment."
    decided = platform.client.post(
        f"/v1/reviews/{case['id']}/decision",
        json={"outcome": "rejected", "reasons": reasons},
        headers=court,
    )
    assert decided.status_code == 200, decided.text
    [mine] = platform.client.get("/v1/me/requests", headers=subject).json()
    assert mine["status"] == "rejected" and mine["reasons"] == reasons
    [notice] = notices(platform, "objection_rejected")
    assert reasons in notice.body
    assert platform.check(person, "buy_air_ticket") == "deny"
    again = platform.client.post(
        f"/v1/reviews/{case['id']}/decision",
        json={"outcome": "upheld", "reasons": "x", "withdraw": True},
        headers=court,
    )
    assert again.status_code == 409


def test_an_objection_can_name_an_entry(platform: Platform) -> None:
    person, key = list_defaulter(platform, 4)
    with platform.factory() as session:
        entry_id = session.scalar(select(EntryRow.id).where(EntryRow.document_key == key))
    filed = platform.object(platform.subject(person), entry=str(entry_id))
    assert filed.status_code == 201, filed.text
    assert filed.json()["record"] == key and filed.json()["entry_id"] == entry_id


def test_a_subject_cannot_object_to_another_subjects_record(platform: Platform) -> None:
    _, key = list_defaulter(platform, 5)
    other, _ = list_defaulter(platform, 6)
    response = platform.object(platform.subject(other), record=key)
    assert response.status_code == 404


def test_an_authority_sees_only_objections_to_its_own_records(platform: Platform) -> None:
    person, court_key = list_defaulter(platform, 7)
    platform.submit(wage_arrears(person, 7, days_ago(20)))
    subject = platform.subject(person)
    court_case = platform.object(subject, record=court_key).json()
    hrss_case = platform.object(
        subject, record="hrss.110000|hrss.wage_arrears|京人社欠薪〔2025〕7号"
    ).json()

    court = platform.person("authority", authority_code="court.110105")
    hrss = platform.person("authority", authority_code="hrss.110000")
    reviewer = platform.person("reviewer")
    assert [c["id"] for c in platform.client.get("/v1/reviews", headers=court).json()] == [
        court_case["id"]
    ]
    assert [c["id"] for c in platform.client.get("/v1/reviews", headers=hrss).json()] == [
        hrss_case["id"]
    ]
    assert {c["id"] for c in platform.client.get("/v1/reviews", headers=reviewer).json()} == {
        court_case["id"],
        hrss_case["id"],
    }
    assert platform.client.get(f"/v1/reviews/{hrss_case['id']}", headers=court).status_code == 404
    decided = platform.client.post(
        f"/v1/reviews/{hrss_case['id']}/decision",
        json={"outcome": "rejected", "reasons": "not ours to say"},
        headers=court,
    )
    assert decided.status_code == 404
    assert platform.client.get("/v1/reviews", headers=subject).status_code == 403
    assert platform.client.get("/v1/me/requests", headers=reviewer).status_code == 403


def test_evidence_too_large_of_a_wrong_type_or_too_many_is_refused(platform: Platform) -> None:
    person, key = list_defaulter(platform, 8)
    subject = platform.subject(person)
    large = PDF + b"\0" * (10 * 1024 * 1024)
    assert (
        platform.object(subject, [("big.pdf", large, "application/pdf")], record=key).status_code
        == 413
    )
    # A text file sent as a PDF is judged by its content.
    fake = platform.object(
        subject, [("notes.pdf", b"just some text", "application/pdf")], record=key
    )
    assert fake.status_code == 415 and "PDF, JPEG or PNG" in fake.json()["detail"]
    six = [(f"p{n}.png", PNG, "image/png") for n in range(6)]
    assert platform.object(subject, six, record=key).status_code == 422
    assert platform.client.get("/v1/me/requests", headers=subject).json() == []
    five = platform.object(subject, six[:5], record=key)
    assert five.status_code == 201
    assert [file["n"] for file in five.json()["evidence"]] == [1, 2, 3, 4, 5]
    assert evidence_path(platform.var_dir, five.json()["evidence"][0]["sha256"]).read_bytes() == PNG


def test_repair_too_early_is_refused_with_the_date_then_granted(
    platform: Platform, national: Pack
) -> None:
    person = samples.person(9)
    decided_on = china_today() - timedelta(days=300)
    platform.submit(wage_arrears(person, 9, decided_on.isoformat()))
    key = "hrss.110000|hrss.wage_arrears|京人社欠薪〔2025〕9号"
    assert platform.check(person, "bid_public_procurement") == "deny"
    subject = platform.subject(person)
    possible = add_months(decided_on, 12)

    seen = platform.client.get(
        "/v1/me/repairs/eligibility", params={"record": key}, headers=subject
    ).json()
    assert seen["eligible"] is False and seen["possible_from"] == possible.isoformat()
    assert seen["decide_within"] == 3 and seen["close_within"] == 10 and seen["fee"] == 0
    assert seen["ending"] is None  # repairable: no other way to tell
    application = {
        "record": key,
        "statement": "All wages were paid.",
        "obligations_performed": True,
        "commitment_signed": True,
        "commitment": "本人承诺所提交材料真实有效。",
    }
    early = platform.client.post("/v1/me/repairs", json=application, headers=subject)
    assert early.status_code == 409 and possible.isoformat() in early.json()["detail"]

    platform.set_clock(possible)
    assert platform.client.get(
        "/v1/me/repairs/eligibility", params={"record": key}, headers=subject
    ).json()["eligible"]
    unsigned = platform.client.post(
        "/v1/me/repairs", json={**application, "commitment_signed": False}, headers=subject
    )
    assert unsigned.status_code == 422
    applied = platform.client.post("/v1/me/repairs", json=application, headers=subject)
    assert applied.status_code == 201, applied.text
    case = applied.json()
    assert case["kind"] == "repair" and case["obligations_declared"] is True
    assert date.fromisoformat(case["due_on"]) < date.fromisoformat(case["limit_on"])

    hrss = platform.person("authority", authority_code="hrss.110000")
    granted = platform.client.post(
        f"/v1/reviews/{case['id']}/decision",
        json={"outcome": "granted", "reasons": "Wages paid in full; commitment signed."},
        headers=hrss,
    )
    assert granted.status_code == 200, granted.text
    assert platform.decide(national, person, "bid_public_procurement", possible) == "allow"
    assert platform.decide(national, person, "bid_public_procurement", possible - timedelta(1)) == (
        "deny"
    )
    with platform.factory() as session:
        assert session.scalar(select(RecordHead.status).where(RecordHead.document_key == key)) == (
            "repaired"
        )
        [entry] = session.scalars(select(EntryRow)).all()
        assert (entry.ended_on, entry.end_reason) == (possible, "repaired")
    assert notices(platform, "repair_granted")
    [mine] = platform.client.get("/v1/me/requests", headers=subject).json()
    assert mine["status"] == "granted"
    again = platform.client.get(
        "/v1/me/repairs/eligibility", params={"record": key}, headers=subject
    )
    assert again.json()["eligible"] is False


def test_court_listings_are_not_repairable_in_the_national_pack(platform: Platform) -> None:
    person, key = list_defaulter(platform, 10)
    subject = platform.subject(person)
    seen = platform.client.get(
        "/v1/me/repairs/eligibility", params={"record": key}, headers=subject
    ).json()
    [repairable] = [c for c in seen["conditions"] if c["code"] == "repairable"]
    assert repairable["met"] is False and "not repairable" in repairable["detail"]
    # The court's removal rule names the record that proves performance.
    [performed] = [c for c in seen["conditions"] if c["code"] == "obligations_performed"]
    assert performed["met"] is False and "court.obligation_performed" in performed["detail"]


def test_bad_decisions_are_refused_and_leave_the_case_open(platform: Platform) -> None:
    person, key = list_defaulter(platform, 11)
    case = platform.object(platform.subject(person), record=key).json()
    reviewer = platform.person("reviewer")
    url = f"/v1/reviews/{case['id']}/decision"
    refused = {
        "the catalogue refuses the grade": {
            "outcome": "upheld",
            "reasons": "wrong grade",
            "correction": {"severity": "catastrophic"},
        },
        "an unknown column": {
            "outcome": "upheld",
            "reasons": "x",
            "correction": {"document_no": "other"},
        },
        "fields not an object": {
            "outcome": "upheld",
            "reasons": "x",
            "correction": {"fields": "paid"},
        },
        "upheld without a change": {"outcome": "upheld", "reasons": "x"},
        "a repair outcome": {"outcome": "granted", "reasons": "x"},
        "no reasons": {"outcome": "rejected", "reasons": " "},
        "a rejection that withdraws": {"outcome": "rejected", "reasons": "x", "withdraw": True},
    }
    for why, body in refused.items():
        response = platform.client.post(url, json=body, headers=reviewer)
        assert response.status_code == 422, (why, response.text)
    assert (
        platform.client.post(
            "/v1/reviews/999/decision",
            json={"outcome": "rejected", "reasons": "x"},
            headers=reviewer,
        ).status_code
        == 404
    )
    [still] = platform.client.get("/v1/reviews", headers=reviewer).json()
    assert still["status"] == "open"
    assert platform.check(person, "buy_air_ticket") == "deny"


def test_a_repair_application_takes_evidence_that_the_reviewer_reads_on_the_access_log(
    platform: Platform,
) -> None:
    person = samples.person(30)
    decided_on = china_today() - timedelta(days=400)
    platform.submit(wage_arrears(person, 30, decided_on.isoformat()))
    key = "hrss.110000|hrss.wage_arrears|京人社欠薪〔2025〕30号"
    subject = platform.subject(person)
    applied = platform.apply_for_repair(subject, key)
    assert applied.status_code == 201, applied.text
    case_id = applied.json()["id"]
    url = f"/v1/me/repairs/{case_id}/evidence"

    not_evidence = platform.client.post(
        url, files=[("files", ("note.pdf", b"just text", "application/pdf"))], headers=subject
    )
    assert not_evidence.status_code == 415
    added = platform.client.post(
        url,
        files=[
            ("files", ("receipt.pdf", PDF, "application/pdf")),
            ("files", ("bank.png", PNG, "image/png")),
        ],
        headers=subject,
    )
    assert added.status_code == 200, added.text
    assert [file["n"] for file in added.json()["evidence"]] == [1, 2]
    too_many = platform.client.post(
        url, files=[("files", (f"p{n}.png", PNG, "image/png")) for n in range(4)], headers=subject
    )
    assert too_many.status_code == 422 and "2 held" in too_many.json()["detail"]
    other_person = samples.person(31)
    platform.submit(wage_arrears(other_person, 31, decided_on.isoformat()))
    other = platform.subject(other_person)
    stranger = platform.client.post(
        url, files=[("files", ("x.png", PNG, "image/png"))], headers=other
    )
    assert stranger.status_code in (403, 404)

    hrss = platform.person("authority", authority_code="hrss.110000")
    [queued] = platform.client.get("/v1/reviews", headers=hrss).json()
    assert queued["id"] == case_id and len(queued["evidence"]) == 2
    with platform.factory() as session:
        before = session.scalar(select(func.count()).select_from(AccessLogRow))
    download = platform.client.get(f"/v1/reviews/{case_id}/evidence/1", headers=hrss)
    assert download.status_code == 200 and download.content == PDF
    with platform.factory() as session:
        rows = session.scalars(select(AccessLogRow).order_by(AccessLogRow.id)).all()
    assert len(rows) == before + 1
    assert rows[-1].what == f"evidence file 1 of case {case_id}"
    assert rows[-1].role == "authority" and rows[-1].ledger_leaf is not None

    platform.client.post(
        f"/v1/reviews/{case_id}/decision",
        json={"outcome": "refused", "reasons": "The receipt is not signed."},
        headers=hrss,
    )
    late = platform.client.post(
        url, files=[("files", ("x.png", PNG, "image/png"))], headers=subject
    )
    assert late.status_code == 409
