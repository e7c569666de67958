"""Every public page, walked with the worst values a visitor can put in each query parameter it
takes: a NUL, a number past 64 bits, a negative one, a string of 10,000 characters, text that is
not UTF-8 once decoded. Each answer is the page or a 4xx, never a 500."""

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

HOSTILE = (
    "\x00",
    "9" * 30,
    "-1",
    "x" * 10_000,
    "\udcff".encode("utf-8", "surrogatepass").hex(),
    "=cmd|' /C calc'!A0",
)


def _query_names(dependant: Dependant) -> list[str]:
    """The query parameters of a route and of everything it depends on."""
    names = [param.alias for param in dependant.query_params]
    for inner in dependant.dependencies:
        names += _query_names(inner)
    return names


def _public_pages(app: FastAPI) -> list[tuple[str, list[str]]]:
    """The pages anyone may open without a path parameter, with their query parameters."""
    pages = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if "{" in route.path or route.path.startswith(("/v1", "/me", "/console", "/static")):
            continue
        names = _query_names(route.dependant)
        pages.append((route.path, names))
    return pages


def test_no_hostile_query_value_breaks_a_public_page(app: FastAPI, client: TestClient) -> None:
    pages = _public_pages(app)
    assert {"/publicity", "/commitments", "/defaulters", "/help", "/search"} <= {
        path for path, _ in pages
    }
    broken = []
    for path, names in pages:
        for name in names:
            for value in HOSTILE:
                status = client.get(path, params={name: value}).status_code
                if status >= 500 or status == 429:
                    broken.append(f"{path}?{name}={value[:20]!r}: {status}")
    assert broken == []
