"""Which credentials a route takes, read from its dependencies (the route table is the truth).

A route takes a bearer credential (an API key or a session token) when one of its dependencies
reads the ``Authorization`` header, and the session cookie when one reads ``xinyong_session``.
The CSRF guard and the OpenAPI security requirements both follow from this.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

BEARER = "bearer"
SESSION = "session_cookie"
SESSION_COOKIE = "xinyong_session"
"""The cookie that carries a signed-in person's session token (``xinyong.accounts``)."""


def _parameters(dependant: Dependant) -> Iterator[tuple[str, str]]:
    for field in dependant.header_params:
        yield "header", field.alias.lower()
    for field in dependant.cookie_params:
        yield "cookie", field.alias
    for inner in dependant.dependencies:
        yield from _parameters(inner)


def credentials(route: APIRoute) -> frozenset[str]:
    """``BEARER`` and/or ``SESSION``: what the route reads to know its caller."""
    found = set(_parameters(route.dependant))
    return frozenset(
        name
        for name, parameter in (
            (BEARER, ("header", "authorization")),
            (SESSION, ("cookie", SESSION_COOKIE)),
        )
        if parameter in found
    )
