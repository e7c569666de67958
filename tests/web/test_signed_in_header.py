"""Whoever is signed in sees it on every page: their name and role, a link to their own space,
and sign-out; signed out, every page offers sign-in again."""

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import sign_in

PUBLIC_PAGES = ("/", "/search?q=北京", "/publicity", "/defaulters", "/lists", "/stats", "/rules")


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("demo-defaulter", "/me"),
        ("demo-reviewer", "/console/reviews"),
        ("demo-operator", "/console/operator"),
    ],
)
def test_every_page_shows_who_is_signed_in(
    browser: TestClient, passwords: dict[str, str], username: str, home: str
) -> None:
    token = sign_in(browser, username, passwords[username])
    for path in (*PUBLIC_PAGES, "/no/such/page", home):
        page = browser.get(path)
        assert username in page.text, path
        assert f'href="{home}"' in page.text and 'action="/sign-out"' in page.text, path
        assert 'class="sign-in" href="/sign-in' not in page.text, path
    browser.post("/sign-out", data={"csrf_token": token})
    for path in PUBLIC_PAGES:
        page = browser.get(path)
        assert username not in page.text and 'href="/sign-in' in page.text, path
