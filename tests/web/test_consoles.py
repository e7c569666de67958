"""The reviewer's and the operator's consoles over a copy of the demo city: who may open them,
the queue by deadline, the evidence viewer, decisions with reasons, ingestion, the quarantine,
evaluation versions, overdue cases and what-if reports."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.web.conftest import PDF, PNG, City, listed_and_restricted, sign_in

from xinyong.accounts.deps import Person
from xinyong.accounts.models import Account
from xinyong.audit.models import AuditSearch
from xinyong.audit.search import PAGE_SIZE as AUDIT_PAGE_SIZE
from xinyong.audit.service import record_access
from xinyong.clock import china_today
from xinyong.enforcement.models import CheckLogRow
from xinyong.ingest.models import QuarantinedRow
from xinyong.ledger.service import latest_checkpoint, ledger_size
from xinyong.operator_console.views import PAGE_SIZE
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights.evidence import check_evidence
from xinyong.rights.models import RightsCase
from xinyong.rights.objections import file_objection
from xinyong.scoring.store import publish_evaluation, start_evaluation


def _object(city: City, national: Pack, identifier: str, record_type: str, at: datetime) -> int:
    """An objection with a PNG and a PDF, received at ``at``, as the rights service files it."""
    with city.factory.begin() as session:
        subject_id, key = session.execute(
            select(Subject.id, RecordHead.document_key)
            .join(RecordHead, RecordHead.subject_id == Subject.id)
            .join(Record, Record.id == RecordHead.record_id)
            .where(Subject.identifier == identifier, Record.record_type == record_type)
            .order_by(Record.id)
            .limit(1)
        ).one()
        return file_objection(
            session,
            national,
            subject_id=subject_id,
            account_id=0,
            record=key,
            entry=None,
            grounds="The decision was revoked.",
            evidence=check_evidence([("photo.png", PNG), ("ruling.pdf", PDF)]),
            var_dir=city.settings.var_dir,
            now=at,
        ).id


@pytest.fixture(scope="module")
def cases(own_city: City, national: Pack) -> dict[str, int]:
    """An overdue objection (to a court record) and a fresh one (to a tax record)."""
    accounts = json.loads((own_city.settings.var_dir / "demo" / "accounts.json").read_text())
    subject = {item["username"]: item["subject"] for item in accounts}
    now = datetime.now(UTC)
    return {
        "overdue": _object(
            own_city,
            national,
            subject["demo-defaulter"],
            "court.defaulter_listing",
            now - timedelta(days=60),
        ),
        "fresh": _object(own_city, national, subject["demo-org-rep"], "tax.credit_rating", now),
    }


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("demo-org-rep", "/console/reviews"),
        ("demo-org-rep", "/console/operator"),
        ("demo-org-rep", "/console/quarantine"),
        ("demo-reviewer", "/console/operator"),
        ("demo-operator", "/console/reviews"),
        ("demo-reviewer", "/me"),
        ("demo-auditor", "/console/reviews"),
    ],
)
def test_each_console_is_for_its_roles_only(
    browser: TestClient, passwords: dict[str, str], username: str, path: str
) -> None:
    sign_in(browser, username, passwords[username])
    refused = browser.get(path)
    assert refused.status_code == 403
    assert "您的账号无权访问此页面" in refused.text and username in refused.text


def test_the_queue_puts_the_most_urgent_first_and_highlights_overdue_cases(
    browser: TestClient, passwords: dict[str, str], cases: dict[str, int]
) -> None:
    sign_in(browser, "demo-reviewer", passwords["demo-reviewer"])
    queue = browser.get("/console/reviews").text
    rows = re.findall(r'<tr class="([^"]*)">\s*<td><a href="/console/reviews/(\d+)"', queue)
    ids = [int(case_id) for _, case_id in rows]
    assert ids.index(cases["overdue"]) < ids.index(cases["fresh"])
    classes = {int(case_id): css for css, case_id in rows}
    assert "overdue" in classes[cases["overdue"]] and "overdue" not in classes[cases["fresh"]]
    assert "已超期" in queue


def test_authority_staff_see_only_their_own_authoritys_cases(
    browser: TestClient, passwords: dict[str, str], cases: dict[str, int]
) -> None:
    sign_in(browser, "demo-court-clerk", passwords["demo-court-clerk"])
    queue = browser.get("/console/reviews").text
    assert f'href="/console/reviews/{cases["overdue"]}"' in queue
    assert f'href="/console/reviews/{cases["fresh"]}"' not in queue  # a tax record's case
    assert browser.get(f"/console/reviews/{cases['fresh']}").status_code == 404
    assert browser.get(f"/console/reviews/{cases['fresh']}/evidence/1").status_code == 404


def test_the_evidence_viewer_shows_images_inline_and_embeds_pdfs(
    browser: TestClient, passwords: dict[str, str], cases: dict[str, int], own_city: City
) -> None:
    sign_in(browser, "demo-reviewer", passwords["demo-reviewer"])
    case_id = cases["fresh"]
    page = browser.get(f"/console/reviews/{case_id}").text
    assert f'<img src="/console/reviews/{case_id}/evidence/1"' in page
    assert f'<object data="/console/reviews/{case_id}/evidence/2" type="application/pdf"' in page
    image = browser.get(f"/console/reviews/{case_id}/evidence/1")
    assert image.content == PNG and image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline")
    assert image.headers["content-security-policy"] == "sandbox; frame-ancestors 'self'"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert browser.get(f"/console/reviews/{case_id}/evidence/2").content == PDF
    assert browser.get(f"/console/reviews/{case_id}/evidence/3").status_code == 404
    # The case shows the disputed record and nothing else of the subject's file.
    with own_city.factory() as session:
        case = session.get_one(RightsCase, case_id)
        others = list(
            session.scalars(
                select(Record.document_no).where(
                    Record.subject_id == case.subject_id, Record.id != case.record_id
                )
            )
        )
    assert case.document_key.split("|")[2] in page
    assert others and not any(document_no in page for document_no in others)


def test_a_decision_needs_reasons_and_reaches_the_subject(
    browser: TestClient, passwords: dict[str, str], cases: dict[str, int], own_city: City
) -> None:
    token = sign_in(browser, "demo-reviewer", passwords["demo-reviewer"])
    case_id = cases["fresh"]
    url = f"/console/reviews/{case_id}/decision"
    assert browser.post(url, data={"outcome": "rejected", "reasons": "x"}).status_code == 403
    empty = browser.post(url, data={"outcome": "rejected", "reasons": " ", "csrf_token": token})
    assert empty.status_code == 422 and "未能作出决定" in empty.text
    decided = browser.post(
        url,
        data={"outcome": "rejected", "reasons": "评价结果依据充分。", "csrf_token": token},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    page = browser.get(f"/console/reviews/{case_id}").text
    assert "异议不成立" in page and 'action="/console/reviews/' not in page
    with own_city.factory() as session:
        assert session.get_one(RightsCase, case_id).reasons == "评价结果依据充分。"
    sign_in(browser, "demo-org-rep", passwords["demo-org-rep"])
    assert "评价结果依据充分。" in browser.get("/me/requests").text


def test_the_operator_console_counts_ingestion_per_authority(
    browser: TestClient, passwords: dict[str, str], own_city: City, cases: dict[str, int]
) -> None:
    with own_city.factory.begin() as session:
        records = session.scalar(
            select(func.count()).select_from(Record).where(Record.authority == "court.110105")
        )
        refused = dict(
            session.execute(
                select(QuarantinedRow.authority, func.count()).group_by(QuarantinedRow.authority)
            ).all()
        )
        evaluation = start_evaluation(
            session, engine="reference", as_of=china_today(), policies="p@1", policy_digest="d"
        )
        publish_evaluation(session, evaluation)
    report = own_city.settings.var_dir / "reports" / "raise-threshold"
    report.mkdir(parents=True)
    (report / "whatif.html").write_text("<html></html>")
    sign_in(browser, "demo-operator", passwords["demo-operator"])
    page = browser.get("/console/operator").text
    court = page.split('<span class="fine code" translate="no">court.110105</span>')[1].split(
        "</tr>"
    )[0]
    assert f"<td>{records}</td>" in court
    busiest = max(refused, key=lambda code: refused[code] or 0)
    assert f"/console/quarantine?authority={busiest}" in page
    assert f">{refused[busiest]}</a>" in page
    evaluations = page.split('id="evaluations"')[1].split("</section>")[0]
    assert f"<td>{evaluation} <span" in evaluations and "当前版本" in evaluations
    overdue = page.split('id="overdue"')[1].split("</section>")[0]
    assert f"<td>{cases['overdue']}</td>" in overdue
    assert "raise-threshold" in page and "whatif.html" in page


def test_the_quarantine_browser_pages_through_refused_rows_with_their_reasons(
    browser: TestClient, passwords: dict[str, str], own_city: City
) -> None:
    with own_city.factory.begin() as session:
        submission = session.scalar(select(func.max(QuarantinedRow.submission_id)))
        assert submission is not None
        session.add_all(
            QuarantinedRow(
                submission_id=submission,
                source="/in/paging.csv",
                source_digest="paging",
                row_no=n,
                authority="test.paging",
                field="decided_on",
                reason=f"not a date: row {n}",
                raw="{}",
                received_at=datetime.now(UTC),
            )
            for n in range(1, PAGE_SIZE + 6)
        )
    with own_city.factory() as session:
        total = session.scalar(select(func.count()).select_from(QuarantinedRow))
    sign_in(browser, "demo-operator", passwords["demo-operator"])
    first = browser.get("/console/quarantine").text
    assert f"共 {total} 行" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "not a date: row 55" in first and "<td>55</td>" in first and "paging.csv" in first
    only = browser.get("/console/quarantine", params={"authority": "test.paging"}).text
    assert f"共 {PAGE_SIZE + 5} 行" in only
    second = browser.get("/console/quarantine", params={"authority": "test.paging", "page": 2})
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    shown = re.findall(r"not a date: row (\d+)", second.text)
    assert sorted(int(n) for n in shown) == [1, 2, 3, 4, 5]
    assert browser.get("/console/quarantine", params={"page": 0}).status_code == 422


def test_an_application_is_decided_together_keeping_what_was_typed_and_confirmed(
    browser: TestClient, passwords: dict[str, str], own_city: City, national: Pack
) -> None:
    subject_id, listing, restriction = listed_and_restricted(own_city)
    with own_city.factory.begin() as session:
        case_id = file_objection(
            session,
            national,
            subject_id=subject_id,
            account_id=0,
            record=listing,
            entry=None,
            grounds="The debt was paid before the listing.",
            evidence=[],
            var_dir=own_city.settings.var_dir,
            now=datetime.now(UTC),
            also=[restriction],
        ).id
    token = sign_in(browser, "demo-reviewer", passwords["demo-reviewer"])
    page = browser.get(f"/console/reviews/{case_id}").text
    restriction_no = restriction.split("|")[2]
    assert (
        "同一案件" in page
        and f'name="together" type="checkbox" value="{case_id + 1}" checked' in page
    )
    url = f"/console/reviews/{case_id}/decision"
    typed = {
        "outcome": "upheld",
        "change": "correct",
        "amount": "1000.50",
        "reasons": "金额有误。",
        "together": str(case_id + 1),
        "csrf_token": token,
    }
    refused = browser.post(url, data=typed)
    # A correction changes one record: refused while the restriction is named with it, and
    # everything typed is still in the form.
    assert refused.status_code == 422 and "未能作出决定" in refused.text
    assert 'value="1000.50"' in refused.text and "金额有误。</textarea>" in refused.text
    assert 'id="change-correct" name="change" type="radio" value="correct" checked' in refused.text
    assert 'id="outcome-upheld" name="outcome" type="radio" value="upheld" required checked' in (
        refused.text
    )
    hostile = browser.post(url, data={**typed, "reasons": " ", "together": "9" * 5000})
    assert hostile.status_code == 422 and "未能作出决定" in hostile.text
    htmx = browser.post(url, data={**typed, "reasons": " "}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and 'id="decision"' in htmx.text
    decided = browser.post(
        url,
        data={
            "outcome": "upheld",
            "change": "withdraw",
            "reasons": "已履行完毕。",
            "together": str(case_id + 1),
            "csrf_token": token,
        },
        headers={"HX-Request": "true"},
        follow_redirects=False,
    )
    # htmx is sent to the case's page, which confirms the decision; a form post is redirected.
    assert decided.status_code == 200
    assert decided.headers["HX-Redirect"] == f"/console/reviews/{case_id}"
    confirmed = browser.get(decided.headers["HX-Redirect"]).text
    assert "已记录决定" in confirmed and restriction_no in confirmed and "已履行完毕。" in confirmed
    assert 'action="/console/reviews/' not in confirmed
    english = browser.get(f"/console/reviews/{case_id}?lang=en").text
    assert "Decision recorded" in english and "Records decided" in english
    with own_city.factory() as session:
        statuses = session.execute(
            select(RecordHead.document_key, RecordHead.status).where(
                RecordHead.document_key.in_((listing, restriction))
            )
        ).all()
    assert dict(statuses) == {listing: "withdrawn", restriction: "withdrawn"}


def test_the_auditor_console_shows_the_ledger_and_searches_the_logs_logging_each_search(
    browser: TestClient, passwords: dict[str, str], own_city: City
) -> None:
    assert browser.get("/console/audit", follow_redirects=False).status_code == 303
    sign_in(browser, "demo-reviewer", passwords["demo-reviewer"])
    assert browser.get("/console/audit").status_code == 403
    with own_city.factory.begin() as session:
        reviewer = session.scalars(select(Account).where(Account.username == "demo-reviewer")).one()
        subject_id, identifier = session.execute(
            select(Subject.id, Subject.identifier).order_by(Subject.id).limit(1)
        ).one()
        record_access(
            session,
            person=Person(reviewer.id, reviewer.username, reviewer.role, None, None, None),
            subject_id=subject_id,
            purpose="review of objection 1",
            what="evidence file 1 of case 1",
        )
        size = ledger_size(session)
        latest = latest_checkpoint(session)
    sign_in(browser, "demo-auditor", passwords["demo-auditor"])
    console = browser.get("/console/audit")
    assert console.status_code == 200 and "审计控制台" in console.text
    assert f"{size:,}" in console.text
    if latest is not None:
        assert "已用平台密钥验证" in console.text and "一致性证明已验证" in console.text

    found = browser.get("/console/audit/search", params={"kind": "staff", "subject": identifier})
    assert found.status_code == 200 and "evidence file 1 of case 1" in found.text
    assert "demo-reviewer" in found.text
    nobody = browser.get(
        "/console/audit/search",
        params={"kind": "staff", "subject": identifier, "staff": "someone-else"},
    )
    assert "共 0 行" in nobody.text and "<tbody>" not in nobody.text
    today = china_today().isoformat()
    checks = browser.get(
        "/console/audit/search",
        params={
            "kind": "checks",
            "relying_party": "ticket office",
            "from": "2000-01-01",
            "to": today,
        },
    )
    with own_city.factory() as session:
        asked = session.scalar(
            select(func.count())
            .select_from(CheckLogRow)
            .where(CheckLogRow.relying_party_label == "ticket office")
        )
    assert asked and checks.status_code == 200
    pages = -(-asked // AUDIT_PAGE_SIZE)
    assert checks.text.count("<tr>") == min(asked, AUDIT_PAGE_SIZE) + 1  # and the header
    if pages > 1:
        assert f"共 {pages} 页" in checks.text and 'rel="next"' in checks.text
    else:
        assert 'rel="next"' not in checks.text
    refused = browser.get("/console/audit/search", params={"from": "2026-13-01"})
    assert refused.status_code == 422 and "未能查询" in refused.text
    backwards = browser.get("/console/audit/search", params={"from": today, "to": "2001-01-01"})
    assert backwards.status_code == 422

    export = browser.get(
        "/console/audit/export", params={"from": "2000-01-01", "to": today, "format": "csv"}
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("kind,at,subject") and any(
        "evidence file 1 of case 1" in line for line in lines
    )
    assert browser.get("/console/audit/export", params={"from": today}).status_code == 422

    with own_city.factory() as session:
        logged = session.scalars(select(AuditSearch).order_by(AuditSearch.id)).all()
    assert [entry.action for entry in logged] == ["search"] * 3 + ["export"]
    assert all(
        entry.username == "demo-auditor" and entry.ledger_leaf is not None for entry in logged
    )
    assert logged[0].criteria["subject"] == identifier and logged[0].results == 1
    assert "审计人员最近的查询" in browser.get("/console/audit").text


def test_the_demo_reviewer_finds_the_demo_applicants_cases_waiting(
    client: TestClient, passwords: dict[str, str], city: City
) -> None:
    accounts = json.loads((city.settings.var_dir / "demo" / "accounts.json").read_text())
    subject = {item["username"]: item["subject"] for item in accounts}
    # On a subject of its own: the cases other tests file on the defaulter's and the
    # organisation's records are never already open.
    assert subject["demo-applicant"] not in (subject["demo-defaulter"], subject["demo-org-rep"])
    with city.factory() as session:
        filed = session.scalars(
            select(RightsCase)
            .join(Subject, Subject.id == RightsCase.subject_id)
            .where(Subject.identifier == subject["demo-applicant"])
            .order_by(RightsCase.id)
        ).all()
    kinds = [(case.kind, case.status) for case in filed]
    assert kinds == [
        ("objection", "rejected"),
        ("objection", "open"),
        ("objection", "open"),
        ("repair", "open"),
    ]
    decided, listing, restriction, repair = filed
    assert listing.application_id == restriction.application_id is not None
    assert {listing.document_key.split("|")[1], restriction.document_key.split("|")[1]} == {
        "court.defaulter_listing",
        "court.consumption_restriction",
    }

    sign_in(client, "demo-reviewer", passwords["demo-reviewer"])
    waiting = client.get("/console/reviews").text
    for case in (listing, restriction, repair):
        assert f'href="/console/reviews/{case.id}"' in waiting
    assert f'href="/console/reviews/{decided.id}"' not in waiting
    assert (
        f'href="/console/reviews/{decided.id}"' in client.get("/console/reviews?closed=true").text
    )
    together = client.get(f"/console/reviews/{listing.id}").text
    assert "同一案件" in together
    assert f'name="together" type="checkbox" value="{restriction.id}" checked' in together
    evidence = client.get(f"/console/reviews/{repair.id}/evidence/1")
    assert evidence.status_code == 200 and evidence.headers["content-type"] == "image/png"

    sign_in(client, "demo-applicant", passwords["demo-applicant"])
    requests = client.get("/me/requests").text
    assert all(f'id="case-{case.id}"' in requests for case in filed)
    assert requests.count("办理中") >= 3 and decided.reasons in requests
