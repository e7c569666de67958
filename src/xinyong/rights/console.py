"""The reviewers' console: the queue of objections and repair applications, each case with
its evidence and the record it is about, and the decision form.

Reviewers (and staff of a providing authority, for their own authority's records) work it
through ``xinyong.rights.reviews``, the same services as ``/v1/reviews``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.deps import Person
from xinyong.accounts.pages import page_person
from xinyong.clock import china_day
from xinyong.policy import Pack
from xinyong.rights import reviews
from xinyong.rights.api import get_now
from xinyong.rights.cases import CaseRefused, case_view, disputed_record, evidence_of
from xinyong.rights.evidence import evidence_path
from xinyong.web import csrf
from xinyong.web.deps import get_pack, get_sessionmaker
from xinyong.web.forms import read_form
from xinyong.web.templating import render
from xinyong.web.types import Id, Ordinal

router = APIRouter(include_in_schema=False)
Factory = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
CurrentPack = Annotated[Pack, Depends(get_pack)]
Now = Annotated[datetime, Depends(get_now)]
ReviewerPerson = Annotated[Person, Depends(page_person("reviewer", "authority"))]
OUTCOMES = {"objection": ("upheld", "rejected"), "repair": ("granted", "refused")}


def _reviewer(person: Person) -> reviews.Reviewer:
    return reviews.Reviewer(person.account_id, person.role, person.authority_code)


@router.get("/console/reviews", response_class=HTMLResponse, name="review_queue")
def review_queue(
    request: Request, person: ReviewerPerson, factory: Factory, now: Now, closed: bool = False
) -> HTMLResponse:
    with factory() as session:
        cases = reviews.queue(session, _reviewer(person), china_day(now), include_closed=closed)
    context = {"person": person, "cases": cases, "closed": closed}
    return render(request, "rights/queue.html", context)


def _case_page(
    request: Request,
    person: Person,
    factory: sessionmaker[Session],
    today_at: datetime,
    case_id: int,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with factory() as session:
        try:
            case = reviews.visible_case(session, _reviewer(person), case_id)
        except CaseRefused:
            return render(request, "rights/no_case.html", {"person": person}, status_code=404)
        view = case_view(case, china_day(today_at), evidence_of(session, [case_id])[case_id])
        record = disputed_record(session, request.app.state.pack, case.record_id)
    context = {
        "person": person,
        "case": view,
        "record": record,
        "outcomes": OUTCOMES[view["kind"]],
        "error": error,
    }
    return render(request, "rights/case.html", context, status_code=status_code)


@router.get("/console/reviews/{case_id}", response_class=HTMLResponse, name="review_case")
def review_case(
    request: Request, case_id: Id, person: ReviewerPerson, factory: Factory, now: Now
) -> HTMLResponse:
    return _case_page(request, person, factory, now, case_id)


@router.get("/console/reviews/{case_id}/evidence/{n}", name="evidence_inline")
def evidence_inline(
    request: Request, case_id: Id, n: Ordinal, person: ReviewerPerson, factory: Factory
) -> Response:
    """An evidence file shown in the page (images inline, PDFs embedded), never run as a page:
    the sandbox policy keeps a file that claims to be a PDF from scripting this site."""
    with factory() as session:
        try:
            found = reviews.evidence_file(session, _reviewer(person), case_id, n)
        except CaseRefused:
            return render(request, "rights/no_case.html", {"person": person}, status_code=404)
    path = evidence_path(request.app.state.settings.var_dir, found.sha256)
    if not path.is_file():
        return render(request, "rights/no_case.html", {"person": person}, status_code=410)
    return FileResponse(
        path,
        media_type=found.content_type,
        filename=found.filename,
        content_disposition_type="inline",
        # Framed only by this site's case page, and sandboxed there.
        headers={
            "Content-Security-Policy": "sandbox; frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


@router.post("/console/reviews/{case_id}/decision", name="decide_case")
async def decide_case(
    request: Request,
    case_id: Id,
    person: ReviewerPerson,
    factory: Factory,
    pack: CurrentPack,
    now: Now,
) -> Response:
    form = await read_form(request)
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    outcome = str(form.get("outcome") or "")
    upheld = outcome == "upheld"
    correction = _correction(form.get("amount"), form.get("severity")) if upheld else None
    withdraw = upheld and form.get("change") != "correct"
    decision = reviews.Decision(
        outcome,
        str(form.get("reasons") or ""),
        correction if upheld and not withdraw else None,
        withdraw,
    )
    try:
        await run_in_threadpool(
            reviews.decide, factory, pack, _reviewer(person), case_id, decision, now
        )
    except CaseRefused as refused:
        return await run_in_threadpool(
            _case_page, request, person, factory, now, case_id, str(refused), refused.status
        )
    return RedirectResponse(f"/console/reviews/{case_id}", status_code=303)


def _correction(amount: Any, severity: Any) -> dict[str, Any]:
    """The corrected values typed in the decision form; what is left empty keeps its value."""
    correction: dict[str, Any] = {}
    if isinstance(amount, str) and amount.strip():
        try:
            correction["amount"] = float(amount)
        except ValueError:
            correction["amount"] = amount  # ingest refuses it with its own reason
    if isinstance(severity, str) and severity.strip():
        correction["severity"] = severity.strip()
    return correction
