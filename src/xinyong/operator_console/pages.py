"""The operator console: ingestion per authority, the quarantine, evaluation versions, overdue
cases and what-if reports, for the people who run the platform."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import StringConstraints
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.deps import Person
from xinyong.accounts.pages import page_person
from xinyong.clock import china_day
from xinyong.operator_console.views import (
    evaluation_versions,
    ingestion_by_authority,
    quarantine_page,
    what_if_reports,
)
from xinyong.rights.api import get_now
from xinyong.rights.reviews import overdue_cases
from xinyong.web.deps import get_sessionmaker
from xinyong.web.templating import render
from xinyong.web.types import Line

router = APIRouter(include_in_schema=False)
Factory = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
Now = Annotated[datetime, Depends(get_now)]
OperatorPerson = Annotated[Person, Depends(page_person("operator"))]


@router.get("/console/operator", response_class=HTMLResponse, name="operator_console")
def operator_console(
    request: Request, person: OperatorPerson, factory: Factory, now: Now
) -> HTMLResponse:
    var_dir: Path = request.app.state.settings.var_dir
    with factory() as session:
        context = {
            "person": person,
            "ingestion": ingestion_by_authority(session, request.app.state.pack),
            "evaluations": evaluation_versions(session),
            "overdue": overdue_cases(session, china_day(now)),
            "reports": what_if_reports(var_dir),
        }
    return render(request, "operator_console/console.html", context)


@router.get("/console/quarantine", response_class=HTMLResponse, name="quarantine")
def quarantine(
    request: Request,
    person: OperatorPerson,
    factory: Factory,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    authority: Annotated[Line, StringConstraints(max_length=100)] = "",
) -> HTMLResponse:
    with factory() as session:
        found = quarantine_page(session, page, authority.strip() or None)
    return render(
        request,
        "operator_console/quarantine.html",
        {"person": person, "listing": found, "authority": authority},
    )
