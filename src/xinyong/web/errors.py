"""Errors as the visitor meets them: a page in their language, with the navigation, for a page;
JSON for the API (``/v1/...``), whose callers are programs."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from xinyong.web.templating import render
from xinyong.web.types import explain

API_PREFIXES = ("/v1/", "/openapi.json", "/healthz")
"""Paths whose callers are programs: they are answered in JSON, never with a page."""

log = logging.getLogger(__name__)


def for_a_program(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


async def http_error(request: Request, error: Exception) -> Response:
    """An HTTP error raised by a route or by the router (404, 405, 413 ...)."""
    assert isinstance(error, HTTPException)
    if for_a_program(request):
        detail = error.detail
        limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        if error.status_code == 413 and detail == "Content Too Large" and limit is not None:
            detail = f"the body is larger than this route takes ({limit:,} bytes)"
        return JSONResponse(
            {"detail": detail}, status_code=error.status_code, headers=error.headers
        )
    # The detail is for programs and in English: the page says what happened in words of its own.
    answer = render(request, "error.html", {"status": error.status_code}, error.status_code)
    answer.headers.update(error.headers or {})
    return answer


async def server_error(request: Request, error: Exception) -> Response:
    """Anything a route did not expect: logged with its trace, and never shown to the visitor."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    if for_a_program(request):
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)
    try:
        return render(request, "error.html", {"status": 500}, status_code=500)
    except Exception:  # the page itself failed (the store is gone, say): a line of text then
        log.exception("the error page failed too")
        return PlainTextResponse("500 internal error", status_code=500)


async def invalid_request(request: Request, error: Exception) -> Response:
    """A parameter or body the route's types refuse: each problem named, for a program; for a
    page, the error page (the problems are in the API's English)."""
    assert isinstance(error, RequestValidationError)
    if not for_a_program(request):
        return render(request, "error.html", {"status": 422}, status_code=422)
    problems = [
        f"{'.'.join(str(part) for part in item.get('loc', ()))}: {explain(item)}"
        for item in error.errors()
    ]
    return JSONResponse({"detail": "; ".join(problems), "errors": problems}, status_code=422)
