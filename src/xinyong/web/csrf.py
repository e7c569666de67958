"""CSRF protection for every form: a double-submit token.

Each browser gets a random token in a cookie (SameSite=Lax, HttpOnly); pages put the same token
in a hidden ``csrf_token`` field of every form and in the ``X-CSRF-Token`` header htmx sends.
A state-changing request is accepted only if the two match: another site can make the browser
send the cookie, but cannot read it to fill in the field.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

COOKIE = "csrftoken"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


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
    expected = request.cookies.get(COOKIE)
    sent = request.headers.get(HEADER) or form.get(FIELD)
    if not expected or not isinstance(sent, str):
        return False
    return secrets.compare_digest(expected.encode(), sent.encode())
