"""The subject's pages over a copy of the demo city: signing in and out, the whole file,
objections with evidence, credit repair with its eligibility first, requests, the report."""

import json
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.web.conftest import PDF, PNG, City, listed_and_restricted, sign_in

from xinyong.accounts.service import create_account
from xinyong.audit.models import AccessLogRow
from xinyong.clock import china_today
from xinyong.policy import Pack, Polarity
from xinyong.policy.catalogue import Disclosure
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights.repairs import eligibility
from xinyong.web.redirects import safe_next


def _records(city: City, username: str, subjects: dict[str, str]) -> list[Record]:
    with city.factory() as session:
        return list(
            session.scalars(
                select(Record)
                .join(RecordHead, RecordHead.record_id == Record.id)
                .join(Subject, Subject.id == Record.subject_id)
                .where(Subject.identifier == subjects[username])
                .order_by(Record.id)
            )
        )


@pytest.fixture(scope="module")
def subjects(own_city: City) -> dict[str, str]:
    """The subject identifier of each demo subject account."""
    accounts = json.loads((own_city.settings.var_dir / "demo" / "accounts.json").read_text())
    return {item["username"]: item["subject"] for item in accounts if item["subject"]}


def _public_negative(city: City, subjects: dict[str, str], national: Pack) -> Record:
    return next(
        record
        for record in _records(city, "demo-org-rep", subjects)
        if national.record_type(record.record_type).disclosure == Disclosure.PUBLIC
        and national.record_type(record.record_type).polarity == Polarity.NEGATIVE
    )


def test_pages_for_subjects_send_strangers_to_the_sign_in_form(browser: TestClient) -> None:
    answer = browser.get("/me/requests", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fme%2Frequests"
    form = browser.get(answer.headers["location"])
    assert 'name="next" value="/me/requests"' in form.text
    assert '<label for="username">' in form.text and '<label for="password">' in form.text


def test_signing_in_needs_the_csrf_token_and_the_right_password(
    browser: TestClient, passwords: dict[str, str]
) -> None:
    browser.get("/sign-in")
    forged = browser.post(
        "/sign-in", data={"username": "demo-org-rep", "password": passwords["demo-org-rep"]}
    )
    assert forged.status_code == 403 and "xinyong_session" not in browser.cookies
    token = browser.cookies["csrftoken"]
    wrong = browser.post(
        "/sign-in", data={"username": "demo-org-rep", "password": "nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    away = browser.post(
        "/sign-in",
        data={
            "username": "demo-org-rep",
            "password": passwords["demo-org-rep"],
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert away.status_code == 303 and away.headers["location"] == "/me"


def test_signing_out_ends_the_session(browser: TestClient, passwords: dict[str, str]) -> None:
    token = sign_in(browser, "demo-org-rep", passwords["demo-org-rep"])
    session_cookie = browser.cookies["xinyong_session"]
    assert browser.get("/me").status_code == 200
    again = browser.get("/sign-in", follow_redirects=False)  # signed in: straight on
    assert again.status_code == 303 and again.headers["location"] == "/me"
    assert browser.post("/sign-out", data={}).status_code == 403  # no CSRF token
    out = browser.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and "xinyong_session" not in browser.cookies
    browser.cookies.set("xinyong_session", session_cookie)
    assert browser.get("/me", follow_redirects=False).status_code == 303


def test_the_whole_file_shows_every_record_with_its_disclosure_and_the_report_links(
    browser: TestClient,
    passwords: dict[str, str],
    own_city: City,
    subjects: dict[str, str],
    national: Pack,
) -> None:
    sign_in(browser, "demo-org-rep", passwords["demo-org-rep"])
    page = browser.get("/me")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    records = _records(own_city, "demo-org-rep", subjects)
    disclosures = {national.record_type(r.record_type).disclosure for r in records}
    assert Disclosure.SHARED in disclosures  # a non-public record is in the file too
    for record in records:
        assert record.document_no in page.text
    assert "部门间共享" in page.text and "公开" in page.text
    assert "今日核查将得到的结果" in page.text and "谁查询了您的非公开信息" in page.text
    assert (
        "本平台评分方案: 纳税信用级别" in page.text
    )  # scores, named as the platform's, with reasons
    assert 'href="/v1/me/report.pdf"' in page.text and 'href="/v1/me/report.html"' in page.text
    report = browser.get("/v1/me/report.pdf")  # the page's session cookie opens the report
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    english = browser.get("/me?lang=en")
    assert (
        '<html lang="en">' in english.text and "Who looked at your non-public data" in english.text
    )


def test_an_objection_with_evidence_marks_the_record_disputed_and_shows_its_deadline(
    browser: TestClient,
    passwords: dict[str, str],
    own_city: City,
    subjects: dict[str, str],
    national: Pack,
) -> None:
    token = sign_in(browser, "demo-org-rep", passwords["demo-org-rep"])
    record = _public_negative(own_city, subjects, national)
    form = browser.get("/me/objections/new", params={"record": record.document_key})
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    assert '<label for="grounds">' in form.text and '<label for="files">' in form.text
    data = {"record": record.document_key, "grounds": "已缴清罚款。", "csrf_token": token}
    not_evidence = browser.post(
        "/me/objections",
        data=data,
        files=[("files", ("note.pdf", b"just text", "application/pdf"))],
    )
    assert not_evidence.status_code == 415 and "PDF, JPEG or PNG" in not_evidence.text
    six = [("files", (f"p{n}.png", PNG, "image/png")) for n in range(6)]
    assert browser.post("/me/objections", data=data, files=six).status_code == 422
    assert browser.post("/me/objections", data={**data, "csrf_token": "x"}).status_code == 403
    filed = browser.post(
        "/me/objections",
        data=data,
        files=[
            ("files", ("receipt.png", PNG, "image/png")),
            ("files", ("receipt.pdf", PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert filed.status_code == 303 and filed.headers["location"].startswith("/me/requests#case-")
    case_id = filed.headers["location"].rsplit("-", 1)[1]
    requests = browser.get("/me/requests").text
    assert f'id="case-{case_id}"' in requests and "receipt.png" in requests
    assert "决定期限" in requests and "办理中" in requests
    file = browser.get("/me").text
    row = file.split(f'id="record-{record.id}"')[1].split("</tr>")[0]
    assert "异议中" in row and f"/me/requests#case-{case_id}" in row
    again = browser.post("/me/objections", data=data)
    assert again.status_code == 409


def test_another_subjects_record_is_not_in_your_file(
    browser: TestClient,
    passwords: dict[str, str],
    own_city: City,
    subjects: dict[str, str],
) -> None:
    token = sign_in(browser, "demo-defaulter", passwords["demo-defaulter"])
    theirs = _records(own_city, "demo-org-rep", subjects)[0]
    assert (
        browser.get("/me/objections/new", params={"record": theirs.document_key}).status_code == 404
    )
    assert browser.get("/me/repairs/new", params={"record": theirs.document_key}).status_code == 404
    sent = browser.post(
        "/me/objections",
        data={"record": theirs.document_key, "grounds": "x", "csrf_token": token},
    )
    assert sent.status_code == 404


def test_repair_shows_eligibility_first_with_the_date_it_becomes_possible(
    browser: TestClient,
    passwords: dict[str, str],
    own_city: City,
    subjects: dict[str, str],
    national: Pack,
) -> None:
    token = sign_in(browser, "demo-defaulter", passwords["demo-defaulter"])
    listing = next(
        record
        for record in _records(own_city, "demo-defaulter", subjects)
        if record.record_type == "court.defaulter_listing"
    )
    page = browser.get("/me/repairs/new", params={"record": listing.document_key})
    assert page.status_code == 200
    with own_city.factory() as session:
        subject_id = session.scalar(
            select(Subject.id).where(Subject.identifier == subjects["demo-defaulter"])
        )
        assert subject_id is not None
        expected = eligibility(session, national, subject_id, listing.document_key, china_today())
    assert not expected.eligible and expected.possible_from is not None
    assert "这条记录能否修复？" in page.text
    # A court listing is not repairable: the page says who ends it and how (from the pack:
    # the court's record of performance, and the ways it records), and offers no date to apply
    # from (the minimum period's end is still shown as a fact).
    assert expected.ending is not None
    assert expected.ending.record_types == ("court.obligation_performed",)
    assert set(expected.ending.ways) == {
        "performed",
        "settlement_performed",
        "enforcement_terminated",
        "basis_revoked",
    }
    assert "信用修复不能结束此记录" in page.text and "履行生效法律文书义务信息" in page.text
    assert "和解协议已履行" in page.text and "执行依据被撤销" in page.text
    assert "起可以申请" not in page.text
    file = browser.get("/me").text
    for record in _records(own_city, "demo-defaulter", subjects):
        if record.record_type in ("court.defaulter_listing", "court.consumption_restriction"):
            row = file.split(f'id="record-{record.id}"')[1].split("</tr>")[0]
            assert "/me/repairs/new" not in row, record.document_key
            assert "信用修复不能结束" in row or 'status-active"' not in row
    assert f"最短公示期于{expected.possible_from.year}年" in page.text
    assert 'action="/me/repairs"' not in page.text  # not repairable: no application form
    refused = browser.post(
        "/me/repairs",
        data={
            "record": listing.document_key,
            "commitment": "承诺",
            "commitment_signed": "yes",
            "obligations_performed": "yes",
            "csrf_token": token,
        },
    )
    assert refused.status_code in (409, 422) and "未受理" in refused.text


def test_an_eligible_record_can_be_repaired_from_the_page(
    browser: TestClient,
    passwords: dict[str, str],
    own_city: City,
    subjects: dict[str, str],
    national: Pack,
) -> None:
    token = sign_in(browser, "demo-org-rep", passwords["demo-org-rep"])
    record = _public_negative(own_city, subjects, national)
    page = browser.get("/me/repairs/new", params={"record": record.document_key})
    assert page.status_code == 200 and 'action="/me/repairs"' in page.text
    assert '<label for="commitment">' in page.text and "不收取任何费用" in page.text
    unsigned = browser.post(
        "/me/repairs",
        data={"record": record.document_key, "commitment": "承诺", "csrf_token": token},
    )
    assert unsigned.status_code == 422
    assert 'enctype="multipart/form-data"' in page.text and '<label for="files">' in page.text
    data = {
        "record": record.document_key,
        "statement": "罚款已缴清。",
        "obligations_performed": "yes",
        "commitment": "本人承诺所提交材料真实有效。",
        "commitment_signed": "yes",
        "csrf_token": token,
    }
    not_evidence = browser.post(
        "/me/repairs", data=data, files=[("files", ("note.pdf", b"text", "application/pdf"))]
    )
    # Refused like an objection's file, with what was typed kept.
    assert not_evidence.status_code == 415 and "罚款已缴清。" in not_evidence.text
    applied = browser.post(
        "/me/repairs",
        data=data,
        files=[("files", ("receipt.pdf", PDF, "application/pdf"))],
        follow_redirects=False,
    )
    assert applied.status_code == 303
    case_id = applied.headers["location"].rsplit("-", 1)[1]
    requests = browser.get("/me/requests").text
    assert f'id="case-{case_id}"' in requests and "罚款已缴清。" in requests
    assert "receipt.pdf" in requests
    sign_in(browser, "demo-reviewer", passwords["demo-reviewer"])
    review = browser.get(f"/console/reviews/{case_id}").text
    assert f'data="/console/reviews/{case_id}/evidence/1"' in review
    assert browser.get(f"/console/reviews/{case_id}/evidence/1").content == PDF
    with own_city.factory() as session:
        read = session.scalars(
            select(AccessLogRow.what).where(AccessLogRow.username == "demo-reviewer")
        ).all()
    assert f"evidence file 1 of case {case_id}" in read


@example("/me")  # a kept target, so the check below runs whatever is drawn
@given(st.text(alphabet=st.sampled_from("/\\\t\n .:@%?#ae"), max_size=12))
def test_after_signing_in_the_browser_never_leaves_the_site(target: str) -> None:
    kept = safe_next(target)
    if kept is not None:
        # What a browser makes of a location: tabs and newlines dropped, backslashes as slashes.
        read = kept.replace("\t", "").replace("\n", "").replace("\\", "/")
        assert urlsplit(urljoin("https://xinyong.example/me", read)).netloc == "xinyong.example"


def test_a_path_on_the_site_is_kept_as_the_place_to_return_to() -> None:
    assert safe_next("/me/requests?lang=en#case-3") == "/me/requests?lang=en#case-3"
    assert safe_next("https://evil.example/") is None
    assert safe_next("/\\evil.example") is None


def test_an_objection_offers_the_other_records_of_the_same_case(
    browser: TestClient, own_city: City
) -> None:
    subject_id, listing, restriction = listed_and_restricted(own_city)
    with own_city.factory.begin() as session:
        identifier = session.get_one(Subject, subject_id).identifier
        create_account(
            session,
            username="same-case",
            password="same case password",
            role="subject",
            subject_identifier=identifier,
        )
    token = sign_in(browser, "same-case", "same case password")
    form = browser.get("/me/objections/new", params={"record": listing})
    assert form.status_code == 200 and "同一案件的其他记录" in form.text
    assert f'name="also" type="checkbox" value="{restriction}" checked' in form.text
    data = {"record": listing, "csrf_token": token, "also": [restriction]}
    refused = browser.post("/me/objections", data={**data, "grounds": " "})
    # Refused without grounds: the ticked record stays ticked, nothing was filed.
    assert refused.status_code == 422
    assert f'value="{restriction}" checked' in refused.text
    unticked = browser.post(
        "/me/objections", data={"record": listing, "csrf_token": token, "grounds": " "}
    )
    assert f'value="{restriction}">' in unticked.text  # offered, not ticked
    filed = browser.post(
        "/me/objections", data={**data, "grounds": "已履行完毕。"}, follow_redirects=False
    )
    assert filed.status_code == 303
    requests = browser.get("/me/requests").text
    assert requests.count("已履行完毕。") == 2
    assert listing in requests and restriction in requests
