"""What FastAPI's OpenAPI document leaves out or gets wrong about this app: the security schemes
callers authenticate with, and which of them each operation takes, read from the route's
dependencies (``xinyong.web.credentials``); and the shape of a refusal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from xinyong.web.credentials import BEARER, SESSION, SESSION_COOKIE, credentials
from xinyong.web.csrf import COOKIE as CSRF_COOKIE
from xinyong.web.csrf import HEADER as CSRF_HEADER
from xinyong.web.csrf import SAFE_METHODS

CSRF = "csrf_token"
SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`xy_…`, made with `xinyong keys create`) or a session "
        "token (`xs_…`, from `POST /v1/auth/login`).",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The session cookie that signing in sets: how a browser is signed in.",
    },
    CSRF: {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": f"With the session cookie, every change repeats the `{CSRF_COOKIE}` "
        "cookie's value in this header.",
    },
}
_CREDENTIAL_PARAMETERS = {("header", "authorization"), ("cookie", SESSION_COOKIE)}
REFUSAL = {
    "title": "Refused",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what was refused, where and why"},
        "errors": {
            "type": "array",
            "items": {"type": "string"},
            "description": "an invalid request: each problem (body.field, query.name ...)",
        },
    },
}
"""How every refusal reads: the app answers invalid requests with readable messages, not with
FastAPI's list of error objects."""


def requirement(taken: frozenset[str], method: str) -> list[dict[str, list[str]]]:
    """The operation's ``security``: any one of the listed combinations will do."""
    alternatives: list[dict[str, list[str]]] = []
    if BEARER in taken:
        alternatives.append({BEARER: []})
    if SESSION in taken:
        alternatives.append({SESSION: []} if method in SAFE_METHODS else {SESSION: [], CSRF: []})
    return alternatives


def declare_refusals(schema: dict[str, Any]) -> None:
    """Describe the 422 answers as the app gives them (see ``REFUSAL``)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "HTTPValidationError" in components:
        components["HTTPValidationError"] = REFUSAL
        components.pop("ValidationError", None)


def declare_security(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Add the security schemes to ``schema`` and each operation's requirement; the credentials
    leave the operations' parameters, which the schemes now describe."""
    schema.setdefault("components", {})["securitySchemes"] = SCHEMES
    for route in iter_route_contexts(routes):
        original = route.original_route
        if not isinstance(original, APIRoute) or not route.include_in_schema:
            continue
        taken = credentials(original)
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            alternatives = requirement(taken, method)
            if alternatives:
                operation.setdefault("security", alternatives)
            kept = [
                parameter
                for parameter in operation.get("parameters", [])
                if (parameter["in"], parameter["name"]) not in _CREDENTIAL_PARAMETERS
            ]
            if kept:
                operation["parameters"] = kept
            else:
                operation.pop("parameters", None)
