"""The auditor's console: the ledger's state, the access log and the check log searched by
subject, staff member, relying party and period with paging, and the period export of
``xinyong audit export``. Read-only; each search and export is logged (``xinyong.audit.search``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import StringConstraints
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.deps import Person
from xinyong.accounts.pages import page_person
from xinyong.audit.export import CsvSink, accesses, count_accesses, period, write_jsonl
from xinyong.audit.search import (
    STAFF_READS,
    Criteria,
    SearchRefused,
    ledger_state,
    log_search,
    recent_searches,
    search,
)
from xinyong.ledger.checkpoint import signing_verifier
from xinyong.web.deps import get_sessionmaker
from xinyong.web.templating import render
from xinyong.web.types import Line

router = APIRouter(include_in_schema=False)
Factory = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
AuditorPerson = Annotated[Person, Depends(page_person("auditor"))]
Field = Annotated[Line, StringConstraints(max_length=100)]
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SearchRefused(f"{name}: a day as YYYY-MM-DD, not {text!r}") from None


def _typed(**fields: str) -> dict[str, str]:
    return {name: value.strip() for name, value in fields.items()}


@router.get("/console/audit", response_class=HTMLResponse, name="audit_console")
def audit_console(request: Request, person: AuditorPerson, factory: Factory) -> HTMLResponse:
    key = signing_verifier(request.app.state.settings.ledger_key_path)
    with factory() as session:
        context = {
            "person": person,
            "ledger": ledger_state(session, key),
            "searches": recent_searches(session),
            "typed": _typed(
                kind=STAFF_READS, subject="", staff="", relying_party="", first="", last=""
            ),
        }
    return render(request, "audit/console.html", context)


@router.get("/console/audit/search", response_class=HTMLResponse, name="audit_search")
def audit_search(
    request: Request,
    person: AuditorPerson,
    factory: Factory,
    kind: Field = STAFF_READS,
    subject: Field = "",
    staff: Field = "",
    relying_party: Field = "",
    first: Annotated[Field, Query(alias="from")] = "",
    last: Annotated[Field, Query(alias="to")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    typed = _typed(
        kind=kind, subject=subject, staff=staff, relying_party=relying_party, first=first, last=last
    )
    try:
        criteria = Criteria(
            kind, subject, staff, relying_party, _day(first, "from"), _day(last, "to"), page
        )
    except SearchRefused as refused:
        refusal = {"person": person, "typed": typed, "error": str(refused), "listing": None}
        return render(request, "audit/search.html", refusal, status_code=422)
    with factory.begin() as session:
        listing = search(session, criteria)
        log_search(session, person, "search", criteria.as_json(), len(listing["rows"]))
    context: dict[str, Any] = {
        "person": person,
        "typed": typed,
        "error": None,
        "listing": listing,
        "criteria": criteria,
    }
    return render(request, "audit/search.html", context)


@router.get("/console/audit/export", name="audit_export")
def audit_export(
    request: Request,
    person: AuditorPerson,
    factory: Factory,
    first: Annotated[Field, Query(alias="from")] = "",
    last: Annotated[Field, Query(alias="to")] = "",
    kind: Annotated[Field, Query(alias="format")] = "csv",
) -> Response:
    """Every staff read and check of the period, oldest first, as ``xinyong audit export``
    writes them (CSV cells that look like formulas are defused)."""
    try:
        start_day, end_day = _day(first, "from"), _day(last, "to")
        if start_day is None or end_day is None:
            raise SearchRefused("an export needs its first and last day")
        if kind not in FORMATS:
            raise SearchRefused(f"format: csv or jsonl, not {kind!r}")
        start, end = period(start_day, end_day)
    except (SearchRefused, ValueError) as refused:
        key = signing_verifier(request.app.state.settings.ledger_key_path)
        with factory() as session:
            context = {
                "person": person,
                "ledger": ledger_state(session, key),
                "searches": recent_searches(session),
                "typed": _typed(
                    kind=STAFF_READS, subject="", staff="", relying_party="", first=first, last=last
                ),
                "export_error": str(refused),
            }
        return render(request, "audit/console.html", context, status_code=422)
    with factory.begin() as session:
        total = count_accesses(session, start, end)
        criteria = {"from": start_day.isoformat(), "to": end_day.isoformat(), "format": kind}
        log_search(session, person, "export", criteria, total)
    name = f"accesses-{start_day.isoformat()}-{end_day.isoformat()}.{kind}"
    return StreamingResponse(
        _exported(factory, start, end, kind),
        media_type=FORMATS[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _exported(
    factory: sessionmaker[Session], start: datetime, end: datetime, kind: str
) -> Iterator[bytes]:
    with factory() as session:
        if kind == "jsonl":
            for access in accesses(session, start, end):
                out = io.BytesIO()
                write_jsonl(out, access)
                yield out.getvalue()
            return
        text = io.StringIO()
        sink = CsvSink(text)
        for access in accesses(session, start, end):
            sink.write(access)
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
        yield text.getvalue().encode()
