"""The subject's own pages: the whole file, objections, credit repair, requests, the report.

Everything here goes through the rights services (``xinyong.rights``) and the whole file of
``xinyong.subjects``: the pages decide nothing themselves, they show what those services say
and hand them what the subject typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from xinyong.accounts.deps import Person
from xinyong.accounts.pages import PageRefused, page_person
from xinyong.clock import china_day
from xinyong.policy import Pack
from xinyong.rights import repairs
from xinyong.rights.api import get_now, object_to
from xinyong.rights.cases import CaseRefused, current_record, same_case, subject_requests
from xinyong.rights.evidence import (
    MAX_BYTES,
    MAX_UPLOAD_BYTES,
    EvidenceRefused,
    check_evidence,
)
from xinyong.rights.repairs import ending, repairable_type
from xinyong.scoring.packs import served_packs
from xinyong.subjects.service import whole_file
from xinyong.web import csrf
from xinyong.web.deps import get_pack, get_sessionmaker
from xinyong.web.forms import read_form
from xinyong.web.templating import render
from xinyong.web.types import Line

router = APIRouter(include_in_schema=False)
Factory = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
CurrentPack = Annotated[Pack, Depends(get_pack)]
Now = Annotated[datetime, Depends(get_now)]
SubjectPerson = Annotated[Person, Depends(page_person("subject"))]
PARSED_FILES = 20


def _marks(file: dict[str, Any], cases: Sequence[dict[str, Any]], pack: Pack) -> None:
    """Add to each record the subject's open cases about it, the outcome of its last decided
    objection, and, where credit repair cannot end it, how it does end (from the pack)."""
    open_cases = {
        (case["record"], case["kind"]): case for case in cases if case["status"] == "open"
    }
    # Cases come newest first: the first decided objection seen is the last one decided.
    decided: dict[str, dict[str, Any]] = {}
    for case in cases:
        if case["kind"] == "objection" and case["status"] != "open":
            decided.setdefault(case["record"], case)
    for record in file["records"]:
        key = f"{record['authority']}|{record['record_type']}|{record['document_no']}"
        record["key"] = key
        record["open_objection"] = open_cases.get((key, "objection"))
        record["open_repair"] = open_cases.get((key, "repair"))
        record["decided_objection"] = decided.get(key)
        record["repairable"] = repairable_type(pack, record["record_type"])
        record["ending"] = (
            None
            if record["repairable"] or record["polarity"] != "negative"
            else _ending_named(pack, record["record_type"])
        )


def _ending_named(pack: Pack, record_type: str) -> dict[str, Any]:
    """How a record credit repair cannot end does end, with the names a page shows."""
    found = ending(pack, record_type)
    return {
        "record_types": [pack.record_type(code).name.model_dump() for code in found.record_types],
        "ways": list(found.ways),
    }


def _own(person: Person) -> tuple[int, str]:
    if person.subject_id is None or person.subject_identifier is None:
        raise PageRefused(person, ("subject",))
    return person.subject_id, person.subject_identifier


@router.get("/me", response_class=HTMLResponse, name="my_file")
def my_file(
    request: Request, person: SubjectPerson, factory: Factory, pack: CurrentPack, now: Now
) -> HTMLResponse:
    subject_id, identifier = _own(person)
    today = china_day(now)
    with factory() as session:
        file = whole_file(session, identifier, pack, today, served_packs())
        cases = subject_requests(session, subject_id, today)
        _marks(file, cases, pack)
    context = {"person": person, "file": file, "cases": cases, "scores": file["scores"]}
    return render(request, "subjects/file.html", context)


@router.get("/me/requests", response_class=HTMLResponse, name="my_requests")
def my_requests(
    request: Request, person: SubjectPerson, factory: Factory, now: Now
) -> HTMLResponse:
    subject_id, _ = _own(person)
    with factory() as session:
        cases = subject_requests(session, subject_id, china_day(now))
    return render(request, "subjects/requests.html", {"person": person, "cases": cases})


def _record_of(file: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((record for record in file["records"] if record["key"] == key), None)


def _one_record(
    factory: sessionmaker[Session], pack: Pack, identifier: str, key: str, today: date
) -> dict[str, Any] | None:
    with factory() as session:
        file = whole_file(session, identifier, pack, today, served_packs())
        _marks(file, [], pack)
    return _record_of(file, key)


@router.get("/me/objections/new", response_class=HTMLResponse, name="new_objection")
def objection_form(
    request: Request,
    person: SubjectPerson,
    factory: Factory,
    pack: CurrentPack,
    now: Now,
    record: Line = "",
) -> HTMLResponse:
    return _objection_page(request, person, factory, pack, china_day(now), record)


def _objection_page(
    request: Request,
    person: Person,
    factory: sessionmaker[Session],
    pack: Pack,
    today: date,
    key: str,
    refused: CaseRefused | EvidenceRefused | None = None,
    grounds: str = "",
    also: Sequence[str] | None = None,
) -> HTMLResponse:
    """The objection form, with the other records of the same case offered beside the record
    (ticked unless the subject untick them before a refusal)."""
    subject_id, identifier = _own(person)
    with factory() as session:
        file = whole_file(session, identifier, pack, today, served_packs())
        _marks(file, subject_requests(session, subject_id, today), pack)
        found = _record_of(file, key)
        if found is None:
            return render(request, "subjects/no_record.html", {"person": person}, status_code=404)
        current = current_record(session, subject_id, key)
        keys = [other.document_key for other in same_case(session, pack, current.record)]
    others = [record for record in file["records"] if record["key"] in keys]
    context = {
        "person": person,
        "record": found,
        "same_case": others,
        "also": [record["key"] for record in others] if also is None else list(also),
        "error": None if refused is None else str(refused),
        "grounds": grounds,
    }
    status = 200 if refused is None else refused.status
    return render(request, "subjects/objection.html", context, status_code=status)


def _files(form: FormData) -> list[UploadFile]:
    # A file input left empty still sends one part, with no name and no content.
    return [
        item
        for item in form.getlist("files")
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]


@router.post("/me/objections", name="file_objection", max_body_size=MAX_UPLOAD_BYTES)
async def file_objection(
    request: Request, person: SubjectPerson, factory: Factory, pack: CurrentPack, now: Now
) -> Response:
    subject_id, _ = _own(person)
    try:
        # Parse more files than are taken, so that too many is told as such, with the form.
        form = await read_form(request, max_files=PARSED_FILES)
    except MultiPartException:
        form = FormData()  # far too many parts: refused below like any unreadable form
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    key = str(form.get("record") or "")
    grounds = str(form.get("grounds") or "")
    also = [str(value) for value in form.getlist("also")]
    try:
        case_id = await object_to(
            factory,
            pack,
            subject_id=subject_id,
            account_id=person.account_id,
            record=key,
            entry=None,
            grounds=grounds,
            files=_files(form),
            var_dir=request.app.state.settings.var_dir,
            now=now,
            also=also,
        )
    except (CaseRefused, EvidenceRefused) as refused:
        return await run_in_threadpool(
            _objection_page,
            request,
            person,
            factory,
            pack,
            china_day(now),
            key,
            refused,
            grounds,
            also,
        )
    return RedirectResponse(f"/me/requests#case-{case_id}", status_code=303)


@router.get("/me/repairs/new", response_class=HTMLResponse, name="new_repair")
def repair_form(
    request: Request,
    person: SubjectPerson,
    factory: Factory,
    pack: CurrentPack,
    now: Now,
    record: Line = "",
) -> HTMLResponse:
    return _repair_page(request, person, factory, pack, china_day(now), record, None, {})


def _repair_page(
    request: Request,
    person: Person,
    factory: sessionmaker[Session],
    pack: Pack,
    today: date,
    key: str,
    error: CaseRefused | EvidenceRefused | None,
    typed: dict[str, str],
) -> HTMLResponse:
    subject_id, identifier = _own(person)
    found = _one_record(factory, pack, identifier, key, today)
    if found is None:
        return render(request, "subjects/no_record.html", {"person": person}, status_code=404)
    with factory() as session:
        try:
            eligibility = repairs.eligibility(session, pack, subject_id, key, today)
        except CaseRefused as refused:
            error = error or refused
            eligibility = None
    context = {
        "person": person,
        "record": found,
        "eligibility": eligibility,
        "error": None if error is None else str(error),
        "typed": typed,
    }
    return render(
        request,
        "subjects/repair.html",
        context,
        status_code=200 if error is None else error.status,
    )


@router.post("/me/repairs", name="apply_for_repair", max_body_size=MAX_UPLOAD_BYTES)
async def apply_for_repair(
    request: Request, person: SubjectPerson, factory: Factory, pack: CurrentPack, now: Now
) -> Response:
    subject_id, _ = _own(person)
    try:
        form = await read_form(request, max_files=PARSED_FILES)
    except MultiPartException:
        form = FormData()  # far too many parts: refused below like any unreadable form
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    key = str(form.get("record") or "")
    typed = {name: str(form.get(name) or "") for name in ("statement", "commitment")}
    # Read one byte past the largest file taken, so that too large is told as such.
    sent = [(file.filename or "", await file.read(MAX_BYTES + 1)) for file in _files(form)]
    var_dir = request.app.state.settings.var_dir

    def apply() -> int:
        evidence = check_evidence(sent)
        with factory.begin() as session:
            return repairs.apply_for_repair(
                session,
                pack,
                subject_id=subject_id,
                account_id=person.account_id,
                record=key,
                statement=typed["statement"],
                obligations_performed=form.get("obligations_performed") == "yes",
                commitment_signed=form.get("commitment_signed") == "yes",
                commitment=typed["commitment"],
                now=now,
                evidence=evidence,
                var_dir=var_dir,
            ).id

    try:
        case_id = await run_in_threadpool(apply)
    except (CaseRefused, EvidenceRefused) as refused:
        return await run_in_threadpool(
            _repair_page, request, person, factory, pack, china_day(now), key, refused, typed
        )
    return RedirectResponse(f"/me/requests#case-{case_id}", status_code=303)
