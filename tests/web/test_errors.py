"""Errors as a visitor meets them: a page in their language with the navigation; JSON for the
API; the icon and the robots' rules served as what they are."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.testing.store import migrated_sqlite

USCC = "91110108MA01A1B2C3"
NAVIGATION = ('href="/search"', 'href="/defaulters"', 'href="/rules"')


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = migrated_sqlite(tmp_path / "app.db")
    return url


@pytest.fixture
def client(store: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=store, var_dir=tmp_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _is_page(answer: httpx.Response) -> None:
    assert answer.headers["content-type"].startswith("text/html")
    for link in NAVIGATION:
        assert link in answer.text
    assert "Traceback" not in answer.text


def test_an_unknown_page_is_a_branded_404_in_the_visitors_language(client: TestClient) -> None:
    chinese = client.get("/no/such/page")
    assert chinese.status_code == 404
    _is_page(chinese)
    assert '<html lang="zh-CN">' in chinese.text and "页面不存在" in chinese.text
    assert "Not Found" not in chinese.text
    english = client.get("/no/such/page", params={"lang": "en"})
    assert english.status_code == 404
    _is_page(english)
    assert "Page not found" in english.text and "页面不存在" not in english.text


def test_api_routes_keep_answering_json(client: TestClient) -> None:
    missing = client.get("/v1/no-such-route")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    invalid = client.get("/v1/public/defaulters", params={"page": "0"})
    assert invalid.status_code == 422 and "page" in invalid.json()["detail"]


def test_a_value_a_page_does_not_take_is_a_page_not_json(client: TestClient) -> None:
    answer = client.get("/defaulters", params={"page": "0"})
    assert answer.status_code == 422
    _is_page(answer)
    assert "无法识别的地址" in answer.text


def test_a_method_a_page_does_not_take_is_a_page(client: TestClient) -> None:
    answer = client.post("/rules")
    assert answer.status_code == 405
    _is_page(answer)


def test_a_failure_is_a_500_page_for_pages_and_json_for_the_api(
    client: TestClient, store: str
) -> None:
    engine = create_engine(store)
    with engine.begin() as connection:  # the store loses a table the public file reads
        connection.execute(text("DROP TABLE subjects"))
    engine.dispose()
    page = client.get(f"/subjects/{USCC}", params={"lang": "en"})
    assert page.status_code == 500
    _is_page(page)
    assert "Something went wrong" in page.text
    assert "no such table" not in page.text and "OperationalError" not in page.text
    api = client.get(f"/v1/public/subjects/{USCC}")
    assert api.status_code == 500
    assert api.json() == {"detail": "internal error; it has been logged"}


def test_the_icon_and_the_robots_rules_are_served_as_what_they_are(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # the ICO header
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    rules = robots.text.splitlines()
    assert "User-agent: *" in rules and "Disallow: /me" in rules and "Disallow: /console" in rules
