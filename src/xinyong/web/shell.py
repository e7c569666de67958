"""The shell's own routes: static files, the icon and the robots' rules, the API documentation
pages, refused forms and the error pages."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from xinyong.web import api_docs, errors, forms

STATIC = Path(__file__).parent / "static"
DAY = 24 * 3600

ROBOTS = """\
# Public pages may be indexed; a person's own pages, the consoles and the API may not.
User-agent: *
Disallow: /me
Disallow: /console
Disallow: /sign-in
Disallow: /v1/
Allow: /
"""

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        STATIC / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": f"public, max-age={DAY}"},
    )


@router.get("/robots.txt")
def robots() -> PlainTextResponse:
    return PlainTextResponse(ROBOTS, headers={"Cache-Control": f"public, max-age={DAY}"})


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(api_docs.router)
    app.add_exception_handler(forms.FormRefused, forms.refused)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(RequestValidationError, errors.invalid_request)
    app.add_exception_handler(Exception, errors.server_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
