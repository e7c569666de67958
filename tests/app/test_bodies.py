"""Nothing a client sends can stop the service: bodies are counted before they are parsed, and
every field takes only what its type means, on SQLite and PostgreSQL alike."""

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.app.conftest import SUBJECTS, Site

from xinyong.accounts.deps import COOKIE as SESSION_COOKIE
from xinyong.accounts.throttle import FREE_FAILURES
from xinyong.app import MAX_BODY_BYTES
from xinyong.clock import utc_now
from xinyong.ingest.api import MAX_BYTES as SUBMISSION_BYTES
from xinyong.rights.evidence import MAX_UPLOAD_BYTES
from xinyong.testing import samples
from xinyong.testing.coroutines import run_alone
from xinyong.web import csrf

CHUNK = 64 * 1024
LONE_SURROGATE = b'{"username": "\\ud800", "password": "x"}'


def post_in_chunks(
    site: Site,
    path: str,
    chunks: Iterator[bytes],
    headers: dict[str, str],
    content_type: str = "application/json",
) -> tuple[int, bytes, int]:
    """POST a body that arrives chunk by chunk with no declared length, straight into the ASGI
    app: the answer's status and body, and how many chunks the app asked for."""
    asked = 0
    status = 0
    body = b""

    async def receive() -> dict[str, Any]:
        nonlocal asked
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        asked += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", content_type.encode()),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    run_alone(site.app(scope, receive, send))  # type: ignore[arg-type]
    return status, body, asked


def test_a_body_over_the_limit_is_refused_while_it_arrives(site: Site) -> None:
    hundred_mib = itertools.repeat(b" " * CHUNK, 100 * 2**20 // CHUNK)
    status, body, asked = post_in_chunks(site, "/v1/auth/login", hundred_mib, {})
    assert status == 413
    assert f"{MAX_BODY_BYTES:,} bytes" in orjson.loads(body)["detail"]
    # Refused at the first chunk past the limit: the other 99 MiB were never read.
    assert asked == MAX_BODY_BYTES // CHUNK + 1


def test_a_declared_length_over_the_limit_is_refused_unread(site: Site) -> None:
    answer = site.client.post(
        "/v1/auth/login",
        content=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413 and answer.text == "Content Too Large"


def test_an_upload_to_verify_past_the_addresss_renders_is_refused_unread(site: Site) -> None:
    """Verifying an upload prints the report again: past the address's renders, not one chunk
    of the next upload is asked for, let alone opened as a PDF."""
    nonsense = b"%PDF-1.4 nonsense"
    with time_machine.travel(utc_now(), tick=False):  # the waits stand still
        for _ in range(FREE_FAILURES["render"]):
            status, _, asked = post_in_chunks(
                site, "/v1/verify/pdf", iter([nonsense]), {}, "application/pdf"
            )
            assert (status, asked) == (422, 1)  # read, refused as no report, and counted
        pdf = itertools.repeat(nonsense + b" " * CHUNK, 8)
        status, body, asked = post_in_chunks(site, "/v1/verify/pdf", pdf, {}, "application/pdf")
        assert (status, asked) == (429, 0), body
        assert "uploaded reports to verify" in orjson.loads(body)["detail"]
        # Counted per address: another one (the test client's) is still answered.
        assert site.client.post("/v1/verify/pdf", content=nonsense).status_code == 422


def test_submissions_take_more_than_the_default_and_no_more_than_their_own(site: Site) -> None:
    rows = [
        samples.defaulter_listing(SUBJECTS[0], n, subject_name="张" * 10_000) for n in range(100)
    ]
    big = orjson.dumps(rows)
    assert MAX_BODY_BYTES < len(big) < SUBMISSION_BYTES
    answer = site.client.post(
        "/v1/submissions",
        content=big,
        headers={**site.headers("authority_110105"), "content-type": "application/json"},
    )
    assert answer.status_code != 413, answer.text
    too_big = itertools.repeat(b" " * CHUNK, SUBMISSION_BYTES // CHUNK + 100)
    status, _, asked = post_in_chunks(
        site, "/v1/submissions", too_big, site.headers("authority_110105")
    )
    assert status == 413 and asked == SUBMISSION_BYTES // CHUNK + 1


def test_evidence_uploads_take_their_files_and_no_more(site: Site) -> None:
    files = [
        ("files", (f"scan-{n}.pdf", b"%PDF-1.4\n" + b" " * 2**20, "application/pdf"))
        for n in range(2)
    ]
    answer = site.client.post(
        "/v1/me/objections",
        data={"grounds": "paid", "record": "999"},
        files=files,
        headers=site.headers("subject_1"),
    )
    assert answer.status_code not in (413, 500), answer.text
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n\r\n'
    chunks = itertools.chain([part], itertools.repeat(b"%" * CHUNK, MAX_UPLOAD_BYTES // CHUNK + 99))
    status, _, asked = post_in_chunks(
        site,
        "/v1/me/objections",
        chunks,
        site.headers("subject_1"),
        "multipart/form-data; boundary=b",
    )
    assert status == 413 and asked == MAX_UPLOAD_BYTES // CHUNK + 1


def test_nesting_is_bounded(site: Site) -> None:
    fields: Any = "deep"
    for _ in range(12):
        fields = {"a": fields}
    decision = {
        "outcome": "upheld",
        "reasons": "wrong amount",
        "correction": {"fields": fields},
    }
    answer = site.client.post(
        "/v1/reviews/1/decision", json=decision, headers=site.headers("reviewer")
    )
    assert answer.status_code == 422 and "nested at most 8 deep" in answer.json()["detail"]
    bottomless = b"[" * 200_000 + b"]" * 200_000
    answer = site.client.post(
        "/v1/reviews/1/decision",
        content=bottomless[: MAX_BODY_BYTES - 1],
        headers={**site.headers("reviewer"), "content-type": "application/json"},
    )
    assert answer.status_code in (400, 422)


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/v1/reviews/99999999999999999999", "path.case_id"),
        ("/v1/reviews/%C2%B2", "path.case_id"),
        ("/v1/reviews/0", "path.case_id"),
        ("/v1/reviews/1/evidence/%D9%A3", "path.n"),
        ("/v1/me/repairs/eligibility?record=%C2%B2", "query.record"),
        ("/v1/me/repairs/eligibility?record=99999999999999999999", "query.record"),
        ("/v1/public/search?q=a%00b", "query.q"),
        ("/v1/public/subjects/11010519491231002X%00", "path.ref"),
        (f"/v1/subjects/{SUBJECTS[0]}%00", "path.identifier"),
        ("/v1/stats/%00", "path.section"),
        ("/v1/public/defaulters?list=%0A", "query.list"),
    ],
)
def test_numbers_and_texts_take_only_what_their_type_means(
    site: Site, path: str, where: str
) -> None:
    role = "subject_1" if "/me/" in path else "reviewer" if "/reviews/" in path else "operator"
    answer = site.client.get(path, headers={**site.headers(role), "X-Purpose": "audit"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(where)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"username": "a\x00b", "password": "x"}, "control characters"),
        ({"username": "\ud800", "password": "x"}, "unicode"),
        ({"username": "a", "password": "x" * 1001}, "at most 1000"),
    ],
)
def test_sign_in_takes_only_clean_text(site: Site, body: dict[str, str], problem: str) -> None:
    # orjson will not write a lone surrogate; a hostile client writes the escape by hand.
    raw = orjson.dumps(body) if body["username"] != "\ud800" else LONE_SURROGATE
    answer = site.client.post(
        "/v1/auth/login", content=raw, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert problem in answer.json()["detail"]


@pytest.mark.parametrize(
    "correction",
    [
        b'{"amount": NaN}',
        b'{"amount": 1e300}',
        b'{"fields": {"n": 123456789012345678901234567890}}',
        b'{"severity": "serious\\u0000"}',
        b'{"subject_name": "\\u0000"}',
    ],
)
def test_a_correction_takes_only_finite_amounts_and_clean_fields(
    site: Site, correction: bytes
) -> None:
    body = b'{"outcome": "upheld", "reasons": "r", "correction": ' + correction + b"}"
    answer = site.client.post(
        "/v1/reviews/1/decision",
        content=body,
        headers={**site.headers("reviewer"), "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("body.correction")


def test_a_check_purpose_with_nul_is_refused(site: Site) -> None:
    answer = site.client.post(
        "/v1/checks",
        json={"subject_id": SUBJECTS[0], "action": "buy_air_ticket", "purpose": "sale\x00"},
        headers=site.headers("relying_party"),
    )
    assert answer.status_code == 422 and "purpose" in answer.json()["detail"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ref=st.text(max_size=80), case=st.integers() | st.text(max_size=30))
def test_no_text_or_number_in_a_path_is_a_server_error(site: Site, ref: str, case: Any) -> None:
    """Arbitrary text where a subject goes and any integer or text where a case id goes."""
    ref, case = quote(ref, safe=""), quote(str(case), safe="")
    for path, role in (
        (f"/v1/public/subjects/{ref}", "anonymous"),
        (f"/v1/subjects/{ref}", "operator"),
        (f"/v1/reviews/{case}", "reviewer"),
        (f"/v1/reviews/{case}/evidence/{case}", "authority_staff"),
        (f"/v1/me/repairs/eligibility?record={ref}", "subject_1"),
    ):
        answer = site.client.get(path, headers={**site.headers(role), "X-Purpose": "audit"})
        assert answer.status_code < 500, (path, answer.text)


def test_a_hostile_evidence_file_is_refused_with_its_reason_and_nothing_is_kept(
    site: Site,
) -> None:
    record = "court.110105|court.defaulter_listing|(2024)京0105执1号"
    polyglot = samples.png() + b"PK\x05\x06" + b"\x00" * 18  # a PNG that is also a ZIP
    answer = site.client.post(
        "/v1/me/objections",
        data={"grounds": "paid", "record": record},
        files=[("files", ("receipt.png", polyglot, "image/png"))],
        headers=site.headers("subject_1"),
    )
    assert answer.status_code == 422
    assert "receipt.png" in answer.json()["detail"] and "data follows the end" in answer.text
    assert site.client.get("/v1/me/requests", headers=site.headers("subject_1")).json() == []
    assert not (site.var_dir / "evidence").exists()
    taken = site.client.post(
        "/v1/me/objections",
        data={"grounds": "paid", "record": record},
        files=[("files", ("receipt.png", samples.png(), "image/png"))],
        headers=site.headers("subject_1"),
    )
    assert taken.status_code == 201, taken.text


def test_no_page_form_is_a_server_error_whatever_its_fields_hold(
    site: Site, city: dict[str, str]
) -> None:
    """Every form a page posts, signed in as a person the page serves, with NUL, a huge number
    and a foreign digit in every field."""
    hostile = {"record": "²", "grounds": "a\x00b", "statement": "\x00", "commitment": "\x00"}
    forms = {
        "/sign-in": ("anonymous", {"username": "demo\x00", "password": "\x00", "next": "\x00"}),
        "/lang": ("anonymous", {"lang": "en\x00", "next": "/\x00"}),
        "/me/objections": ("subject_1", hostile),
        "/me/repairs": ("subject_1", {**hostile, "record": "99999999999999999999"}),
        f"/console/reviews/{city['case_id']}/decision": (
            "reviewer",
            {"outcome": "upheld", "reasons": "\x00", "amount": "1e400", "severity": "\x00"},
        ),
    }
    for path, (role, form) in forms.items():
        site.client.cookies.clear()
        cookies = {csrf.COOKIE: "t"}
        if role != "anonymous":
            cookies[SESSION_COOKIE] = site.bearer[role]
        site.client.cookies.update(cookies)
        answer = site.client.post(
            path, data=form, headers={csrf.HEADER: "t"}, follow_redirects=False
        )
        assert answer.status_code < 500, (path, answer.text)
        if "\x00" in "".join(form.values()):
            assert answer.status_code == 422 and "control characters" in answer.text, path
