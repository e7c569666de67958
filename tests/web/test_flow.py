"""The whole redress flow in a real browser (Debian's Chromium driven by Playwright): search,
the public profile, the subject signs in and objects with a file, the reviewer upholds, and the
public profile no longer shows the record. Every self-service and console page is saved as a
screenshot under var/screenshots/.

The app runs in this process (uvicorn on a thread) over a copy of the demo city, since the flow
changes it.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.web.conftest import CHROMIUM, PNG, SCREENSHOTS, City

from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.policy import Pack, Polarity
from xinyong.portal.public_file import public_file
from xinyong.records.models import Record, RecordHead, Subject

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps installs it)"
)


@pytest.fixture(scope="module")
def site(own_city: City) -> Iterator[str]:
    """The app over the copied city, served on 127.0.0.1 from a thread of this process."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(own_city.settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    listening.close()


def _shot(page: Page, name: str) -> None:
    """Save the page, after checking that every field on it has a label."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter((field) => field.labels.length === 0).map((field) => field.outerHTML)"""
    )
    assert unlabelled == [], name
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, site: str, username: str, password: str) -> None:
    """Sign in with the keyboard only: the username field has the focus when the form opens."""
    page.goto(f"{site}/")
    page.get_by_role("link", name="登录").click()
    page.wait_for_url("**/sign-in*")
    expect(page.get_by_label("用户名")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("密码")).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/")


@pytest.fixture(scope="module")
def accounts(own_city: City) -> dict[str, dict[str, str]]:
    found = json.loads((own_city.settings.var_dir / "demo" / "accounts.json").read_text())
    return {item["username"]: item for item in found}


def _records(city: City, national: Pack, identifier: str) -> tuple[Subject, Record, Record]:
    """The organisation, a record its public profile shows today (not its registration), and
    a negative record of its file (which may be repaired)."""
    with city.factory() as session:
        subject = session.scalars(select(Subject).where(Subject.identifier == identifier)).one()
        shown = public_file(session, national, identifier, china_today())
        assert shown is not None
        keys = [
            record["document_key"]
            for group in shown["record_groups"]
            for record in group["records"]
            if record["record_type"] != "market.registration"
        ]
        records = list(
            session.scalars(
                select(Record)
                .join(RecordHead, RecordHead.record_id == Record.id)
                .where(Record.subject_id == subject.id)
                .order_by(Record.id)
            )
        )
    public = next(record for record in records if record.document_key in keys)
    negative = next(
        record
        for record in records
        if national.record_type(record.record_type).polarity == Polarity.NEGATIVE
    )
    return subject, public, negative


def test_an_upheld_objection_takes_the_record_off_the_public_profile(
    page: Page, site: str, own_city: City, national: Pack, accounts: dict[str, dict[str, str]]
) -> None:
    representative = accounts["demo-org-rep"]
    organisation, record, negative = _records(own_city, national, representative["subject"])

    # The public finds the organisation and its record.
    page.goto(f"{site}/")
    page.get_by_label("按名称、拼音、统一社会信用代码或身份证号码查询").fill(organisation.name)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=organisation.name).first.click()
    page.wait_for_url(f"**/subjects/{organisation.identifier}")
    expect(page.get_by_text(record.document_no)).to_be_visible()

    # The organisation's representative signs in and objects, with a photo of the receipt.
    _sign_in(page, site, representative["username"], representative["password"])
    page.wait_for_url("**/me")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    _shot(page, "me-file")
    page.locator(f"#record-{negative.id}").get_by_role("link", name="信用修复").click()
    expect(page.get_by_role("heading", name="这条记录能否修复？")).to_be_visible()
    _shot(page, "me-repair")
    page.go_back()
    page.locator(f"#record-{record.id}").get_by_role("link", name="提出异议").click()
    page.get_by_label("记录有误的理由").fill("罚款决定已被复议撤销，见附件。")
    page.get_by_label("证明材料", exact=False).set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": PNG}]
    )
    _shot(page, "me-objection")
    page.get_by_role("button", name="提交异议").click()
    page.wait_for_url("**/me/requests#case-*")
    case_id = page.url.rsplit("-", 1)[1]
    expect(page.locator(f"#case-{case_id}")).to_contain_text("receipt.png")
    _shot(page, "me-requests")
    page.goto(f"{site}/me")
    expect(page.locator(f"#record-{record.id}")).to_contain_text("异议中")
    # The public profile marks it too, at once.
    page.goto(f"{site}/subjects/{organisation.identifier}")
    disputed = page.get_by_role("row").filter(has_text=record.document_no)
    expect(disputed).to_contain_text("异议处理中")

    # A subject cannot open a console.
    page.goto(f"{site}/console/reviews")
    expect(page.get_by_role("heading", level=1)).to_have_text("您的账号无权访问此页面")
    _shot(page, "console-denied")
    _sign_out(page)

    # The reviewer sees the case in the queue, looks at the evidence and upholds.
    reviewer = accounts["demo-reviewer"]
    _sign_in(page, site, reviewer["username"], reviewer["password"])
    page.wait_for_url("**/console/reviews")
    _shot(page, "console-queue")
    page.get_by_role("link", name=f"案件 {case_id}", exact=True).click()
    evidence = page.get_by_role("img", name="证明材料 1：receipt.png")
    expect(evidence).to_be_visible()
    # Visible is not loaded: wait for the image's load (or error) before reading its size.
    loaded = (
        "image => image.complete ? image.naturalWidth : new Promise(done => "
        "{ image.onload = image.onerror = () => done(image.naturalWidth); })"
    )
    assert evidence.evaluate(loaded) == 1
    _shot(page, "console-case")
    page.get_by_label("异议成立").check()
    page.get_by_label("理由（将告知信用主体）").fill("行政复议决定已撤销该处罚。")
    page.get_by_role("button", name="记录决定").click()
    page.wait_for_url(f"**/console/reviews/{case_id}")
    expect(page.locator(f"#case-{case_id}")).to_contain_text("异议成立")
    _shot(page, "console-case-decided")

    # A reviewer has no way into a subject's file outside the queue.
    page.goto(f"{site}/me")
    expect(page.get_by_role("heading", level=1)).to_have_text("您的账号无权访问此页面")
    _sign_out(page)

    # The public profile no longer shows the record.
    page.goto(f"{site}/subjects/{organisation.identifier}")
    expect(page.get_by_role("heading", level=1)).to_have_text(organisation.name)
    expect(page.get_by_text(record.document_no)).to_have_count(0)


def test_the_operator_console_and_quarantine_in_the_browser(
    page: Page, site: str, accounts: dict[str, dict[str, str]]
) -> None:
    operator = accounts["demo-operator"]
    _sign_in(page, site, operator["username"], operator["password"])
    page.wait_for_url("**/console/operator")
    expect(page.get_by_role("heading", name="各部门数据归集情况")).to_be_visible()
    _shot(page, "console-operator")
    page.get_by_role("link", name="隔离区").first.click()
    page.wait_for_url("**/console/quarantine")
    expect(page.locator("tbody tr").first).to_be_visible()
    _shot(page, "console-quarantine")
    page.goto(f"{site}/console/operator?lang=en")
    expect(page.get_by_role("heading", name="Ingestion per authority")).to_be_visible()
    _shot(page, "console-operator-en")


def test_signing_in_with_a_wrong_password_says_so(page: Page, site: str) -> None:
    page.goto(f"{site}/sign-in")
    _shot(page, "sign-in")
    page.get_by_label("用户名").fill("demo-operator")
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")


def test_self_service_pages_read_without_javascript(
    chromium: Browser, site: str, accounts: dict[str, dict[str, str]]
) -> None:
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    subject = accounts["demo-defaulter"]
    _sign_in(page, site, subject["username"], subject["password"])
    page.wait_for_url("**/me")
    expect(page.get_by_role("heading", name="名单信息")).to_be_visible()
    expect(page.locator("tr.denied").first).to_be_visible()  # a check denied today
    _shot(page, "me-file-defaulter-without-javascript")
    context.close()
