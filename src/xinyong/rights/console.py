"""The reviewers' console: the queue of objections and repair applications, each case with
its evidence and the record it is about, and the decision form.

Reviewers (and staff of a providing authority, for their own authority's records) work it
through ``xinyong.rights.reviews``, the same services as ``/v1/reviews``. A case of an
application shows the other records of its case and decides them together. A refused decision
shows the form again as it was typed; a recorded one is confirmed on the case's page, which is
where the form's post leads (with htmx, a refusal swaps the form's section and a decision loads
the page).
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
from xinyong.rights.cases import (
    CaseRefused,
    application_cases,
    case_view,
    disputed_record,
    evidence_of,
)
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
    return reviews.Reviewer(person.account_id, person.role, person.authority_code, person.username)


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
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    today = china_day(today_at)
    pack = request.app.state.pack
    with factory() as session:
        try:
            case = reviews.visible_case(session, _reviewer(person), case_id)
        except CaseRefused:
            return render(request, "rights/no_case.html", {"person": person}, status_code=404)
        cases = application_cases(session, case)
        files = evidence_of(session, [each.id for each in cases])
        view = case_view(case, today, files[case_id])
        together = [
            {
                **case_view(each, today, files[each.id]),
                "detail": disputed_record(session, pack, each.record_id),
            }
            for each in cases
            if each.id != case_id
        ]
        record = disputed_record(session, pack, case.record_id)
    # What a decision recorded on this case covered: the cases decided at the same instant.
    decided_with = [
        other
        for other in together
        if view["decided_at"] and other["decided_at"] == view["decided_at"]
    ]
    context = {
        "person": person,
        "case": view,
        "record": record,
        "together": together,
        "decided_with": decided_with,
        "outcomes": OUTCOMES[view["kind"]],
        "error": error,
        "typed": typed or {"together": [str(other["id"]) for other in together]},
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
    with factory.begin() as session:
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
    typed: dict[str, Any] = {
        name: str(form.get(name) or "")
        for name in ("outcome", "change", "amount", "severity", "reasons")
    }
    typed["together"] = [str(value) for value in form.getlist("together")]
    upheld = typed["outcome"] == "upheld"
    correction = _correction(typed["amount"], typed["severity"]) if upheld else None
    withdraw = upheld and typed["change"] != "correct"
    decision = reviews.Decision(
        typed["outcome"],
        typed["reasons"],
        correction if upheld and not withdraw else None,
        withdraw,
        tuple(int(value) for value in typed["together"] if _is_id(value)),
    )
    try:
        await run_in_threadpool(
            reviews.decide, factory, pack, _reviewer(person), case_id, decision, now
        )
    except CaseRefused as refused:
        # htmx swaps only a successful answer: it gets the refused form with 200.
        status = 200 if request.headers.get("HX-Request") else refused.status
        return await run_in_threadpool(
            _case_page, request, person, factory, now, case_id, str(refused), status, typed
        )
    confirmed = f"/console/reviews/{case_id}"
    if request.headers.get("HX-Request"):
        # The whole case changed (its status, the records decided): htmx loads the page again
        # (without a fragment, which would only scroll the page already shown).
        return Response(status_code=200, headers={"HX-Redirect": confirmed})
    return RedirectResponse(f"{confirmed}#decision", status_code=303)


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


def _is_id(value: str) -> bool:
    """A case id as a form sends it: ASCII digits that fit the id column (so a hostile form
    cannot make Python parse a ten-thousand-digit number)."""
    return value.isascii() and value.isdigit() and len(value) <= 10
