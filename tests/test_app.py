"""The application's front door: the landing page, the OpenAPI contract, errors without traces."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.testing.store import migrated_sqlite


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = migrated_sqlite(tmp_path / "app.db")
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        yield client


def test_the_landing_page_says_what_exists(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/docs"' in page.text and "national" in page.text
    assert client.get("/docs").status_code == 200


def test_the_openapi_document_carries_the_contracted_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in (
        "/v1/submissions",
        "/v1/ledger/key",
        "/v1/ledger/checkpoint",
        "/v1/ledger/proof/inclusion",
        "/v1/ledger/proof/consistency",
    ):
        assert route in paths, route


def test_unknown_routes_and_bad_methods_are_clean_4xx(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    wrong = client.get("/v1/submissions")
    assert wrong.status_code == 405 and "Traceback" not in wrong.text
