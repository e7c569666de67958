"""An organisation's public credit report, for anyone: ``/subjects/{ref}/report.pdf|.html``.

The report shows the public file (``portal.public_file``) and nothing more, numbered and signed
like the subject's own report, so that whoever receives it can verify it at ``/verify``. A
report is rendered once per state of the file and served again while the file is unchanged;
a render is throttled per client address (``portal.renders``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from xinyong.accounts.deps import admit_render
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.portal.public_file import public_file
from xinyong.portal.renders import Rendered, RenderedReports, file_state
from xinyong.subjects.api import signed, verify_address
from xinyong.subjects.report import public_report, render_html, render_pdf
from xinyong.web.types import SubjectRef

router = APIRouter(tags=["public"])
Format = Literal["html", "pdf"]


def _rendered(request: Request, ref: str, kind: Format) -> Rendered:
    with request.app.state.sessionmaker() as session:
        found = public_file(session, request.app.state.pack, ref, china_today())
    if found is None or found["subject"]["kind"] != "organisation":
        raise HTTPException(404, "no organisation with a public file has this code")
    settings: Settings = request.app.state.settings
    verify_at = verify_address(request)
    state = file_state({"file": found, "issuer": settings.report_issuer, "verify": verify_at})
    kept: RenderedReports = request.app.state.public_reports
    rendered = kept.get(kind, state)
    if rendered is None:
        admit_render(request)
        report = public_report(found, settings.report_issuer, verify_at)
        code = signed(request, report)
        body = render_pdf(report, code) if kind == "pdf" else render_html(report, code).encode()
        rendered = Rendered(report.number, body)
        kept.put(kind, state, rendered)
    return rendered


@router.get(
    "/subjects/{ref}/report.html",
    response_class=HTMLResponse,
    responses={404: {"description": "no such file"}, 429: {"description": "too many renders"}},
)
def public_report_html(request: Request, ref: SubjectRef) -> Response:
    """An organisation's public credit report (HTML), numbered and verifiable."""
    return HTMLResponse(_rendered(request, ref, "html").body)


@router.get(
    "/subjects/{ref}/report.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        404: {"description": "no such file"},
        429: {"description": "too many renders from this address: wait Retry-After seconds"},
    },
)
def public_report_pdf(request: Request, ref: SubjectRef) -> Response:
    """An organisation's public credit report (PDF), numbered and verifiable."""
    rendered = _rendered(request, ref, "pdf")
    return Response(
        rendered.body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="public-credit-report-{rendered.number}.pdf"'
        },
    )
