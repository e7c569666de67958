"""CSRF protection for every form and every JSON route a browser's cookie can sign in to.

Each browser gets a random token in a cookie (SameSite=Lax, HttpOnly); pages put the same token
in a hidden ``csrf_token`` field of every form and in the ``X-CSRF-Token`` header htmx sends.
A state-changing request is accepted only if the two match: another site can make the browser
send the cookie, but cannot read it to fill in the field.

Pages check the form with ``is_genuine``. The JSON routes take the same token in the header,
through the ``cookie_sessions_send_the_token`` dependency: a change to a route that takes the
session cookie needs it when the cookie signs it in; one signed in with ``Authorization:
Bearer`` does not (no other site can make a browser send that header).
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import Response

from xinyong.web.credentials import SESSION, SESSION_COOKIE, credentials

COOKIE = "csrftoken"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(request: Request) -> str:
    """The browser's token, or a new one that ``remember`` will hand it."""
    token = request.cookies.get(COOKIE)
    if token:
        return token
    if not hasattr(request.state, "csrf_token"):
        request.state.csrf_token = secrets.token_urlsafe(32)
    fresh: str = request.state.csrf_token
    return fresh


def remember(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(COOKIE) != token:
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def is_genuine(request: Request, form: FormData) -> bool:
    """Whether a state-changing request carries the token of the browser that sent it."""
    return _matches(request.cookies.get(COOKIE), request.headers.get(HEADER) or form.get(FIELD))


def _matches(expected: str | None, sent: object) -> bool:
    if not expected or not isinstance(sent, str):
        return False
    return secrets.compare_digest(expected.encode(), sent.encode())


def cookie_sessions_send_the_token(request: Request) -> None:
    """A dependency of the JSON routes: a state change signed in by the session cookie alone
    must repeat the ``csrftoken`` cookie in the ``X-CSRF-Token`` header (a 403 otherwise)."""
    route = request.scope.get("route")
    if (
        request.method in SAFE_METHODS
        or "authorization" in request.headers
        or SESSION_COOKIE not in request.cookies
        or not (isinstance(route, APIRoute) and SESSION in credentials(route))
    ):
        return
    if not _matches(request.cookies.get(COOKIE), request.headers.get(HEADER)):
        raise HTTPException(
            403,
            f"signed in by the session cookie, a change needs the {HEADER} header with the "
            f"value of the {COOKIE} cookie (CSRF protection); or send the session token as "
            "'Authorization: Bearer <token>'",
        )
