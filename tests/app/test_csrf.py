"""Every state change a browser's session cookie can make needs the CSRF token: every unsafe
route of the app's route table (pages and JSON alike), for every kind of signed-in person.

A route is taken to act on the session when a request with the cookie (and the token) is
answered otherwise than one without any cookie; there, the same request without the token
must be refused as a forgery."""

import secrets

from fastapi.routing import APIRoute, iter_route_contexts
from httpx import Response
from tests.app.conftest import PASSWORD, Site

from xinyong.accounts.deps import COOKIE as SESSION_COOKIE
from xinyong.accounts.service import login
from xinyong.web import csrf
from xinyong.web.i18n import LANG_COOKIE

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PEOPLE = ("subject_1", "operator", "reviewer", "auditor", "authority_staff")


def unsafe_routes(site: Site) -> list[tuple[str, str]]:
    routes = [
        (method, route.path.replace("{case_id}", "1"))
        for route in iter_route_contexts(site.app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in sorted((route.methods or set()) & UNSAFE)
    ]
    assert ("POST", "/v1/me/objections") in routes and ("POST", "/me/objections") in routes
    return routes


def refused_for_csrf(answer: Response) -> bool:
    if answer.status_code != 403:
        return False
    if answer.headers["content-type"].startswith("application/json"):
        return "CSRF" in answer.json()["detail"]
    return "did not carry this browser's security token" in answer.text


def test_a_cookie_session_cannot_change_anything_without_the_token(site: Site) -> None:
    admitted = []
    for method, path in unsafe_routes(site):
        for person in PEOPLE:
            # A session of its own for each try: the sign-out routes end the one they are sent.
            with site.factory.begin() as session:
                token = login(session, person, PASSWORD)
            browser_token = secrets.token_urlsafe(16)
            cookies = {SESSION_COOKIE: token, csrf.COOKIE: browser_token, LANG_COOKIE: "en"}
            site.client.cookies.clear()
            site.client.cookies.update(cookies)
            forged = site.client.request(method, path, follow_redirects=False)
            genuine = site.client.request(
                method, path, headers={csrf.HEADER: browser_token}, follow_redirects=False
            )
            site.client.cookies.clear()
            anonymous = site.client.request(method, path, follow_redirects=False)
            signed_in = genuine.status_code not in (401, 403) and (
                genuine.status_code != anonymous.status_code
            )
            if signed_in:
                # The cookie admitted this person here: only the missing token refused it.
                assert refused_for_csrf(forged), (method, path, person, forged.text)
                admitted.append((path, person))
            assert not refused_for_csrf(genuine), (method, path, person)
    admitted_paths = {path for path, _ in admitted}
    for path in ("/v1/me/objections", "/v1/me/repairs", "/v1/reviews/1/decision"):
        assert path in admitted_paths
    for path in ("/me/objections", "/console/reviews/1/decision", "/sign-out", "/v1/auth/logout"):
        assert path in admitted_paths


def test_a_bearer_token_needs_no_csrf_token(site: Site) -> None:
    site.client.cookies.clear()
    answer = site.client.post(
        "/v1/me/repairs",
        json={"record": "999", "commitment_signed": True, "commitment": "I will comply."},
        headers=site.headers("subject_1"),
    )
    assert answer.status_code == 404 and "no record" in answer.json()["detail"]
