"""Every answer tells the browser what it may load, frame and sniff; session cookies stay with
this site, away from scripts, and travel only over TLS once the site is behind it."""

import re
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.web.conftest import City, sign_in

from xinyong.app import create_app
from xinyong.web.headers import style_hash
from xinyong.web.templating import TEMPLATES

PATHS = (
    "/",
    "/search?q=北京",
    "/defaulters",
    "/stats",
    "/rules",
    "/sign-in",
    "/subjects/0",
    "/no-such-page",
    "/static/site.css",
    "/static/vendor/htmx.min.js",
    "/openapi.json",
    "/v1/public/defaulters",
    "/v1/public/search?q=%00",
    "/v1/ledger/checkpoint",
    "/v1/reviews",
    "/healthz",
)


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'" and policy["base-uri"] == "'none'"
    sources = " ".join(policy.values()).split()
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    assert not [source for source in sources if "." in source or "//" in source or source == "*"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # plain http: nothing to pin


def test_the_credit_report_style_is_the_one_inline_style_allowed(
    client: TestClient, passwords: dict[str, str]
) -> None:
    sign_in(client, "demo-defaulter", passwords["demo-defaulter"])
    report = client.get("/v1/me/report.html")
    assert report.status_code == 200
    style_sources = re.search(r"style-src ([^;]+)", report.headers["content-security-policy"])
    assert style_sources is not None
    (allowed,) = re.findall(r"'sha256-[^']+'", style_sources.group(1))
    assert allowed == style_hash(report.text)
    assert report.headers["cache-control"] == "no-store"  # a personal file, never cached


def test_templates_hold_no_inline_script_style_or_handler() -> None:
    for template in Path(TEMPLATES).rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        scripts = re.findall(r"<script\b[^>]*>", text)
        inline = [tag for tag in scripts if "src=" not in tag and "application/json" not in tag]
        assert inline == [], template
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", text), template


def _cookie(answer_headers: list[str], name: str) -> str:
    (found,) = [header for header in answer_headers if header.startswith(f"{name}=")]
    return found.lower()


def test_the_session_cookie_is_http_only_and_same_site(
    client: TestClient, passwords: dict[str, str]
) -> None:
    form = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/sign-in",
        data={
            "username": "demo-defaulter",
            "password": passwords["demo-defaulter"],
            "csrf_token": token.group(1),
        },
        follow_redirects=False,
    )
    session = _cookie(answer.headers.get_list("set-cookie"), "xinyong_session")
    assert "httponly" in session and "samesite=lax" in session and "secure" not in session
    parsed = SimpleCookie(answer.headers["set-cookie"])
    assert parsed["xinyong_session"]["path"] == "/"


def _signs_in_securely(client: TestClient, passwords: dict[str, str], **headers: str) -> bool:
    answer = client.post(
        "/v1/auth/login",
        json={"username": "demo-defaulter", "password": passwords["demo-defaulter"]},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    session = _cookie(answer.headers.get_list("set-cookie"), "xinyong_session")
    assert "httponly" in session and "samesite=lax" in session
    return "secure" in session


def test_over_tls_cookies_are_secure_and_the_site_is_pinned(
    app: FastAPI, passwords: dict[str, str]
) -> None:
    client = TestClient(app, base_url="https://testserver")
    assert _signs_in_securely(client, passwords)
    headers = client.get("/").headers
    assert headers["strict-transport-security"].startswith("max-age=")
    assert "secure" in _cookie(headers.get_list("set-cookie"), "csrftoken")


def test_behind_a_trusted_proxy_tls_is_believed_and_from_anyone_else_not(
    city: City, passwords: dict[str, str]
) -> None:
    settings = city.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    app = create_app(settings)
    via_proxy = TestClient(app, client=("127.0.0.1", 40000))
    assert _signs_in_securely(via_proxy, passwords, **{"X-Forwarded-Proto": "https"})
    assert not _signs_in_securely(via_proxy, passwords)
    stranger = TestClient(app, client=("127.0.0.2", 40000))
    assert not _signs_in_securely(stranger, passwords, **{"X-Forwarded-Proto": "https"})
    # Without the setting no proxy is believed, not even one on this machine.
    untrusting = TestClient(create_app(city.settings), client=("127.0.0.1", 40000))
    assert not _signs_in_securely(untrusting, passwords, **{"X-Forwarded-Proto": "https"})
