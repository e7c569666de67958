"""The API documentation works offline: /docs and /redoc render in Chromium with every request
to another origin refused, under the same content security policy as the rest of the site."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Route
from tests.web.conftest import CHROMIUM, SCREENSHOTS

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps installs it)"
)


@pytest.fixture
def blocked_on_purpose() -> list[str]:
    """ReDoc shows the Redocly logo from Redocly's server; the policy blocks it, and ReDoc then
    leaves the logo out."""
    return ["https://cdn.redoc.ly/redoc/logo-mini.svg"]


@pytest.fixture
def offline(page: Page, server: str) -> Iterator[list[str]]:
    """The page with the network cut off but for the app; yields what it tried to fetch
    from anywhere else."""
    elsewhere: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_the_app)
    yield elsewhere
    assert elsewhere == []


def test_swagger_ui_renders_offline(page: Page, server: str, offline: list[str]) -> None:
    page.goto(f"{server}/docs")
    page.locator(".opblock").first.wait_for()
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/submissions" in {text.replace("\u200b", "") for text in operations}
    assert page.locator(".btn.authorize").is_visible()  # the security schemes are declared
    page.screenshot(path=str(SCREENSHOTS / "api-swagger.png"))


def test_redoc_renders_offline(page: Page, server: str, offline: list[str]) -> None:
    page.goto(f"{server}/redoc")
    page.locator("h2", has_text="Submit, correct or withdraw records").wait_for()
    assert page.get_by_role("heading", name="xinyong public credit information platform").count()
    page.screenshot(path=str(SCREENSHOTS / "api-redoc.png"))


def test_the_documentation_pages_load_only_this_site(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "//" not in page.text.replace("<!doctype html>", "")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy


def test_the_openapi_document_declares_how_to_authenticate(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session_cookie"]["in"] == "cookie"
    assert schemes["csrf_token"] == {
        **schemes["csrf_token"],
        "in": "header",
        "name": "X-CSRF-Token",
    }
    paths = document["paths"]
    assert paths["/v1/checks"]["post"]["security"] == [{"bearer": []}]
    assert paths["/v1/submissions"]["post"]["security"] == [{"bearer": []}]
    assert paths["/v1/me/objections"]["post"]["security"] == [
        {"bearer": []},
        {"session_cookie": [], "csrf_token": []},
    ]
    assert paths["/v1/me/file"]["get"]["security"] == [{"bearer": []}, {"session_cookie": []}]
    assert "security" not in paths["/v1/public/search"]["get"]
    assert "security" not in paths["/v1/auth/login"]["post"]
    names = {
        parameter["name"]
        for operations in paths.values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
    }
    assert not names & {"authorization", "xinyong_session"}
