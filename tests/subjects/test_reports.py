"""Credit reports anyone can verify: the subject's own and an organisation's public report,
numbered, paged, with embedded fonts, no codes, and a verification code that refuses any
change to the code or to the PDF."""

import base64
import itertools
import re
import zlib
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from tests.subjects.conftest import READ, City, opened_city

from xinyong.accounts.throttle import FREE_FAILURES
from xinyong.app import create_app
from xinyong.clock import utc_now
from xinyong.config import Settings
from xinyong.identifiers.regions import region_name
from xinyong.subjects.pdf import CURRENT
from xinyong.subjects.report import METADATA_PREFIX
from xinyong.testing import samples
from xinyong.web import csrf

FREE_RENDERS = FREE_FAILURES["render"]
GENUINE = "真实：本报告由平台出具"
NONSENSE = b"%PDF-1.4 nonsense"
"""An upload refused as no report at all (422) once it is read."""
RAW_CODES = ("None", "deny", "serious", "public", "active", "black", "staff_read")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def visitor(city: City, address: str) -> TestClient:
    """A client of the city's running app from an address of its own: its renders and uploads
    are counted apart from every other test's."""
    return TestClient(city.client.app, client=(address, 50000))


def upload(client: TestClient, data: bytes) -> Response:
    return client.post("/v1/verify/pdf", content=data, headers={"Content-Type": "application/pdf"})


def own_pdf(city: City) -> bytes:
    response = city.client.get("/v1/me/report.pdf", headers=city.signed_in["defaulter"])
    assert response.status_code == 200, response.text
    return response.content


@pytest.fixture(scope="module")
def reported(
    built: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[City, bytes]]:
    """A city and the defaulter's own report on it, rendered once (a tenth of a second a render) for
    the tests that only read the report and verify it. Verifying changes nothing in the store but
    the uploading address's count of renders (an upload is printed again), so each test that
    uploads comes from an address of its own (``visitor``)."""
    with opened_city(built, tmp_path_factory.mktemp("reported")) as city:
        yield city, own_pdf(city)


def test_the_own_report_is_numbered_paged_and_verifiable(city: City) -> None:
    city.client.get(
        f"/v1/subjects/{city.defaulter}", headers={**city.signed_in["operator"], **READ}
    )
    data = own_pdf(city)
    reader = PdfReader(BytesIO(data))
    text = pdf_text(data)
    number = re.search(r"XY-\d{8}-[A-Z2-7]{10}", text)
    assert number is not None
    total = len(reader.pages)
    for page, content in enumerate(reader.pages, start=1):
        assert f"Page {page} of {total}" in content.extract_text()
    assert "公共信用信息平台" in text and "信用主体本人" in text and "严重" in text
    for code in RAW_CODES:
        found = re.search(rf"\b{code}\b", text)
        assert found is None, text[found.start() - 60 : found.end() + 20].replace("\n", "|")
    code = str(reader.metadata["/Keywords"])
    verdict = city.client.post("/v1/verify", json={"code": code})
    assert verdict.status_code == 200, verdict.text
    body = verdict.json()
    assert body["genuine"] and body["number"] == number.group(0)
    assert body["identifier"] == city.defaulter and body["covering"].startswith("信用主体本人")
    uploaded = city.client.post(
        "/v1/verify/pdf", content=data, headers={"Content-Type": "application/pdf"}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["number"] == number.group(0)


def test_every_font_of_the_pdf_is_embedded(reported: tuple[City, bytes]) -> None:
    reader = PdfReader(BytesIO(reported[1]))
    fonts = {}
    for page in reader.pages:
        for name, font in page["/Resources"]["/Font"].items():
            fonts[name] = font.get_object()
    used = [font for font in fonts.values() if font["/BaseFont"] != "/Helvetica"]
    assert used and all("NotoSansSC" in str(font["/BaseFont"]) for font in used)
    assert all("/FontFile2" in font["/FontDescriptor"] for font in used)


def test_a_changed_pdf_is_refused(reported: tuple[City, bytes]) -> None:
    city, data = reported
    client = visitor(city, "192.0.2.1")
    # Rewritten by another program with the same metadata: the text is the same, the bytes not.
    writer = PdfWriter(clone_from=BytesIO(data))
    rewritten = BytesIO()
    writer.write(rewritten)
    refused = client.post("/v1/verify/pdf", content=rewritten.getvalue())
    assert refused.status_code == 422 and "altered" in refused.json()["detail"]
    # The content in the metadata changed and the visible text with it: the digest fails.
    reader = PdfReader(BytesIO(data))
    packed = str(reader.metadata["/Subject"]).removeprefix(METADATA_PREFIX)
    content = orjson.loads(zlib.decompress(base64.b64decode(packed)))
    content["name"] = "李四"
    forged = PdfWriter(clone_from=BytesIO(data))
    forged.add_metadata(
        {
            "/Subject": METADATA_PREFIX
            + base64.b64encode(
                zlib.compress(orjson.dumps(content, option=orjson.OPT_SORT_KEYS))
            ).decode()
        }
    )
    out = BytesIO()
    forged.write(out)
    refused = client.post("/v1/verify/pdf", content=out.getvalue())
    assert refused.status_code == 422 and "content was altered" in refused.json()["detail"]
    assert client.post("/v1/verify/pdf", content=NONSENSE).status_code == 422
    # Naming a renderer the platform does not have: refused with the reason, not an error.
    named = data.replace(f"({CURRENT})".encode(), f"({CURRENT[:-1]}9)".encode(), 1)
    assert named != data
    refused = client.post("/v1/verify/pdf", content=named)
    assert refused.status_code == 422 and "renderer" in refused.json()["detail"]


@pytest.mark.parametrize("position", [8, 40, -10])
def test_a_changed_code_is_refused(reported: tuple[City, bytes], position: int) -> None:
    city, data = reported
    code = str(PdfReader(BytesIO(data)).metadata["/Keywords"])
    changed = code[:position] + ("A" if code[position] != "A" else "B") + code[position + 1 :]
    refused = city.client.post("/v1/verify", json={"code": changed})
    assert refused.status_code == 422, refused.text
    page = city.client.get("/verify", params={"code": changed})
    assert page.status_code == 422 and "未通过验证" in page.text
    assert city.client.post("/v1/verify", json={"code": "hello"}).status_code == 422


def test_anyone_downloads_an_organisations_public_report(city: City) -> None:
    firm = samples.organisation(1)
    city.client.cookies.clear()
    response = city.client.get(f"/subjects/{firm}/report.pdf")
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    assert "北京示例科技有限公司" in text and "京朝市监登〔2020〕1号" in text
    assert "公众 Anyone" in text and "李四" not in text.split("法定代表人")[0]
    for code in RAW_CODES:
        found = re.search(rf"\b{code}\b", text)
        assert found is None, text[found.start() - 60 : found.end() + 20].replace("\n", "|")
    html = city.client.get(f"/subjects/{firm}/report.html")
    assert html.status_code == 200 and 'name="viewport"' in html.text and "<svg" in html.text
    link = re.search(r'href="([^"]*/verify\?code=[^"]+)"', html.text)
    assert link is not None
    page = city.client.get(link.group(1).replace("http://testserver", ""))
    assert page.status_code == 200 and "真实" in page.text and firm in page.text
    # A person's file is not a downloadable report, and neither is an unknown code.
    assert city.client.get(f"/subjects/{city.defaulter}/report.pdf").status_code == 404
    assert city.client.get(f"/subjects/{samples.organisation(9)}/report.pdf").status_code == 404


def upload_on_page(client: TestClient, data: bytes, code: str = "") -> Response:
    """The /verify page's form sent with ``data`` as the PDF (none if empty) and ``code``."""
    if csrf.COOKIE not in client.cookies:
        client.get("/verify")  # the form's CSRF cookie
    files = {"report": ("report.pdf", data, "application/pdf")} if data else None
    fields = {csrf.FIELD: client.cookies[csrf.COOKIE], "code": code}
    return client.post("/verify", data=fields, files=files)


def test_the_verify_page_takes_the_pdf_itself(reported: tuple[City, bytes]) -> None:
    city, data = reported
    client = visitor(city, "192.0.2.2")
    sent = upload_on_page(client, data)
    assert sent.status_code == 200 and GENUINE in sent.text and city.defaulter in sent.text
    refused = upload_on_page(client, data.replace(b"/Producer", b"/Producex", 1))
    assert refused.status_code == 422 and "未通过验证" in refused.text


def test_uploads_to_verify_are_counted_with_the_addresss_renders_before_the_pdf_is_read(
    reported: tuple[City, bytes],
) -> None:
    city, data = reported
    code = str(PdfReader(BytesIO(data)).metadata["/Keywords"])
    here = visitor(city, "198.51.100.1")
    # The clock stands still: the wait the last free upload starts cannot run out mid-test.
    with time_machine.travel(utc_now(), tick=False):
        for _ in range(FREE_RENDERS):
            assert upload(here, NONSENSE).status_code == 422  # read, and counted
        refused = upload(here, data)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert "uploaded reports to verify" in refused.json()["detail"]
        # Refused unread: what would be refused as no report at all is not even opened.
        assert upload(here, NONSENSE).status_code == 429
        # One budget with the downloads and the public reports.
        assert _download(here).status_code == 429
        # A code is a signature check, not a print: still answered from the same address.
        assert here.post("/v1/verify", json={"code": code}).status_code == 200
        elsewhere = upload(visitor(city, "198.51.100.2"), data)
        assert elsewhere.status_code == 200 and elsewhere.json()["identifier"] == city.defaulter


Ask = Callable[[TestClient, str], Response]
COSTLY: dict[str, Ask] = {
    # Each answered 200 or 422 when admitted, 429 when not.
    "upload": lambda client, code: upload(client, NONSENSE),
    "upload on the page": lambda client, code: upload_on_page(client, NONSENSE),
    "download": lambda client, code: _download(client),
}
FREE: dict[str, Ask] = {
    "code": lambda client, code: client.post("/v1/verify", json={"code": code}),
    "code on the page": lambda client, code: upload_on_page(client, b"", code),
}
ADDRESSES = (f"2001:db8:{n:x}::1" for n in itertools.count(1))
"""One address (a /64 of its own) per example: each starts with every render free."""


@settings(max_examples=25)
@given(
    costly=st.lists(
        st.sampled_from(sorted(COSTLY)), min_size=FREE_RENDERS + 2, max_size=FREE_RENDERS + 2
    ),
    free=st.lists(
        st.tuples(st.integers(0, FREE_RENDERS + 2), st.sampled_from(sorted(FREE))), max_size=4
    ),
)
def test_uploads_and_downloads_share_one_budget_and_codes_are_free(
    reported: tuple[City, bytes], costly: list[str], free: list[tuple[int, str]]
) -> None:
    city, data = reported
    code = str(PdfReader(BytesIO(data)).metadata["/Keywords"])
    asked = list(costly)
    for position, name in sorted(free, reverse=True):
        asked.insert(position, name)
    here = visitor(city, next(ADDRESSES))
    counted = 0
    with time_machine.travel(utc_now(), tick=False):
        for name in asked:
            status = (COSTLY | FREE)[name](here, code).status_code
            counted += name in COSTLY
            refused = name in COSTLY and counted > FREE_RENDERS
            assert (status == 429) == refused, (name, counted, status)


def test_the_verify_page_says_when_an_upload_must_wait(reported: tuple[City, bytes]) -> None:
    city, data = reported
    code = str(PdfReader(BytesIO(data)).metadata["/Keywords"])
    here = visitor(city, "198.51.100.3")
    with time_machine.travel(utc_now(), tick=False):
        for _ in range(FREE_RENDERS):
            assert _download(here).status_code == 200  # the renders an upload is counted with
        waiting = upload_on_page(here, data)
        assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) >= 1
        assert "请求过于频繁" in waiting.text and "秒后重试" in waiting.text
        assert GENUINE not in waiting.text and "未通过验证" not in waiting.text
        assert 'name="report"' in waiting.text and "<nav" in waiting.text  # the page, its form
        # Refused before it is opened: what would be refused as no report at all.
        assert upload_on_page(here, NONSENSE).status_code == 429
        # The code, sent with the form and no file, is checked at once.
        by_code = upload_on_page(here, b"", code)
        assert by_code.status_code == 200 and GENUINE in by_code.text
        assert upload_on_page(visitor(city, "198.51.100.4"), data).status_code == 200


def test_a_public_report_is_rendered_once_per_state_of_the_file(city: City) -> None:
    firm = samples.organisation(1)
    first = city.client.get(f"/subjects/{firm}/report.pdf")
    assert first.status_code == 200, first.text
    # More repeats than the free burst: a kept report costs no render and counts against no one.
    for _ in range(FREE_RENDERS + 2):
        again = city.client.get(f"/subjects/{firm}/report.pdf")
        assert again.status_code == 200 and again.content == first.content
    assert _download(city.client).status_code == 200  # the address still has renders left


def _download(client: TestClient, **headers: str) -> Response:
    return client.get("/defaulters", params={"download": "csv"}, headers=headers)


def test_a_burst_of_renders_from_one_address_waits_but_not_the_subjects_own_report(
    city: City,
) -> None:
    firm = samples.organisation(1)
    kept = city.client.get(f"/subjects/{firm}/report.pdf")
    assert kept.status_code == 200
    for _ in range(FREE_RENDERS - 1):
        assert _download(city.client).status_code == 200
    refused = _download(city.client)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "请求过于频繁" in refused.text and "<nav" in refused.text  # the branded page
    assert city.client.get(f"/subjects/{firm}/report.html").status_code == 429  # a new render
    assert city.client.get(f"/subjects/{firm}/report.pdf").content == kept.content
    own = city.client.get("/v1/me/report.pdf", headers=city.signed_in["defaulter"])
    assert own.status_code == 200 and own.content.startswith(b"%PDF")


def test_behind_a_trusted_proxy_each_client_has_its_own_renders(city: City, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}", var_dir=tmp_path, trusted_proxies="*"
    )
    with TestClient(create_app(settings)) as client:
        for _ in range(FREE_RENDERS):
            assert _download(client, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 200
        assert _download(client, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429
        assert _download(client, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 200


def test_the_public_report_names_the_region(city: City) -> None:
    firm = samples.organisation(1)
    page = city.client.get(f"/subjects/{firm}")
    assert f'href="/subjects/{firm}/report.pdf"' in page.text
    assert f'href="/subjects/{firm}/report.html"' in page.text
    report = city.client.get(f"/subjects/{firm}/report.html")
    region = city.client.get(f"/v1/public/subjects/{firm}").json()["subject"]["region"]
    assert region and f"{region_name(region)}（{region}）" in report.text
