"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc): the API documentation, served from this site.

Both viewers are vendored from the npm registry at build time (``make web-assets``), so the
pages work without internet and load nothing from another origin. ReDoc styles itself with
``<style>`` elements it writes at run time and searches in a worker it makes from a blob; its
page alone allows those (still no inline script, still no other origin).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from xinyong.web.headers import policy
from xinyong.web.templating import ENVIRONMENT

router = APIRouter(include_in_schema=False)
REDOC_POLICY = policy({"style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:"})


def _page(request: Request, viewer: str, content_policy: str) -> HTMLResponse:
    html = ENVIRONMENT.get_template("docs/viewer.html").render(
        viewer=viewer, title=request.app.title, openapi_url=request.app.openapi_url
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": content_policy})


@router.get("/docs", response_class=HTMLResponse, name="swagger_ui")
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(request, "swagger", request.app.content_policy)


@router.get("/redoc", response_class=HTMLResponse, name="redoc")
def redoc(request: Request) -> HTMLResponse:
    return _page(request, "redoc", REDOC_POLICY)
