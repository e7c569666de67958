"""An organisation's public credit report, for anyone: ``/subjects/{ref}/report.pdf|.html``.

The report shows the public file (``portal.public_file``) and nothing more, numbered and signed
like the subject's own report, so that whoever receives it can verify it at ``/verify``.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.portal.public_file import public_file
from xinyong.subjects.api import report_pdf, signed, verify_address
from xinyong.subjects.report import Report, public_report, render_html
from xinyong.web.types import SubjectRef

router = APIRouter(tags=["public"])


def _report(request: Request, ref: str) -> Report:
    with request.app.state.sessionmaker() as session:
        found = public_file(session, request.app.state.pack, ref, china_today())
    if found is None or found["subject"]["kind"] != "organisation":
        raise HTTPException(404, "no organisation with a public file has this code")
    settings: Settings = request.app.state.settings
    return public_report(found, settings.report_issuer, verify_address(request))


@router.get("/subjects/{ref}/report.html", response_class=HTMLResponse)
def public_report_html(request: Request, ref: SubjectRef) -> str:
    """An organisation's public credit report (HTML), numbered and verifiable."""
    report = _report(request, ref)
    return render_html(report, signed(request, report))


@router.get(
    "/subjects/{ref}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "no such file"}},
)
def public_report_pdf(request: Request, ref: SubjectRef) -> Response:
    """An organisation's public credit report (PDF), numbered and verifiable."""
    report = _report(request, ref)
    return report_pdf(report, signed(request, report), f"public-credit-report-{report.number}.pdf")
