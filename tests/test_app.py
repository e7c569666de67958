"""The application's front door: the landing page, the OpenAPI contract, errors without traces."""

import subprocess
import sys
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


# Libraries only some requests need: each process serving the app would otherwise pay for
# loading them at start-up (together over half a second of processor time).
ON_FIRST_USE = ("reportlab", "fontTools", "pypdf", "PIL", "xlsxwriter", "pypinyin", "holidays")


def test_the_app_loads_the_libraries_of_pdfs_workbooks_pinyin_and_holidays_on_first_use() -> None:
    probe = (
        "import sys, xinyong.app; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(run.stdout.split())
    assert "fastapi" in loaded  # the probe did load the app
    assert not loaded & set(ON_FIRST_USE)
