"""Routes of objections, credit repair and reviews: ``/v1/me/...`` and ``/v1/reviews``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import UploadFile as SentFile

from xinyong.accounts.deps import Person, require_person
from xinyong.clock import china_day, utc_now
from xinyong.policy import Pack
from xinyong.rights import objections, repairs, reviews
from xinyong.rights.cases import (
    CaseRefused,
    case_view,
    current_record,
    evidence_of,
    open_case,
    same_case,
    subject_requests,
)
from xinyong.rights.evidence import (
    MAX_BYTES,
    MAX_FILES,
    MAX_UPLOAD_BYTES,
    EvidenceRefused,
)
from xinyong.rights.evidence import evidence_path as stored_path
from xinyong.rights.models import RightsCase
from xinyong.rights.objections import MAX_ALSO
from xinyong.web.deps import get_pack, get_sessionmaker
from xinyong.web.types import Amount, Code, Id, JsonObject, Line, Ordinal, RecordRef, Text

router = APIRouter(prefix="/v1", tags=["rights"])
Result = TypeVar("Result")


def get_now() -> datetime:
    """The current instant; routes take it as a dependency so that tests can set the clock."""
    return utc_now()


Now = Annotated[datetime, Depends(get_now)]
Factory = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
CurrentPack = Annotated[Pack, Depends(get_pack)]
SubjectPerson = Annotated[Person, Depends(require_person("subject"))]
ReviewerPerson = Annotated[Person, Depends(require_person("reviewer", "authority"))]


class EvidenceView(BaseModel):
    n: int
    filename: str
    content_type: str
    size: int
    sha256: str


class CaseView(BaseModel):
    """An objection or a repair application: status, deadlines (working days) and decision."""

    id: int
    kind: Literal["objection", "repair"]
    application_id: int | None = Field(
        description="objections sent together about the records of one case: the id of the "
        "application's first case (the same on each of its cases); null: sent on its own"
    )
    status: Literal["open", "upheld", "rejected", "granted", "refused"]
    record: str = Field(description="document key of the record the case is about")
    record_id: int
    authority: str
    entry_id: int | None
    grounds: str
    received_at: datetime
    received_on: date
    mark_due_on: date | None = Field(description="objections: marked disputed by this day")
    due_on: date = Field(description="the decision is due by this day")
    limit_on: date = Field(description="the whole case ends by this day at the latest")
    overdue: bool
    beyond_limit: bool
    working_days_left: int
    decided_at: datetime | None
    reasons: str | None
    correction: dict[str, Any] | None
    withdraw: bool
    result_record_id: int | None
    obligations_declared: bool | None
    obligation_record_id: int | None
    commitment: str | None
    evidence: list[EvidenceView]


class ConditionView(BaseModel):
    code: str
    met: bool | None = Field(description="null: to be given with the application")
    detail: str


class EndingView(BaseModel):
    """How a record credit repair cannot end does end: by a record of its own authority."""

    record_types: list[str] = Field(description="record types whose records end it")
    ways: list[str] = Field(description="the ways those records give (their `how` field)")


class EligibilityView(BaseModel):
    record: str
    record_id: int
    record_type: str
    severity: str
    eligible: bool
    possible_from: date | None = Field(description="the first day an application can be made")
    decide_within: int = Field(description="working days the deciding authority has")
    close_within: int = Field(description="working days within which the case ends")
    conditions: list[ConditionView]
    obligation_record_id: int | None
    ending: EndingView | None = Field(
        description="records credit repair cannot end: who ends them and how"
    )
    fee: Literal[0] = Field(0, description="credit repair is free")


class RepairApplication(BaseModel):
    record: RecordRef = Field(description="record id or document key of one of your records")
    statement: Text = Field("", description="how the conduct was corrected")
    obligations_performed: bool = Field(
        False, description="you declare that every obligation of the decision is performed"
    )
    commitment_signed: bool = Field(description="you sign the credit commitment")
    commitment: Annotated[Text, StringConstraints(min_length=1)] = Field(
        description="the text of the credit commitment"
    )


class Correction(BaseModel):
    """The corrected values of an upheld objection; what is not named keeps its value."""

    model_config = ConfigDict(extra="forbid")

    subject_name: Annotated[Line, StringConstraints(min_length=1, max_length=200)] | None = None
    decided_on: date | None = None
    effective_on: date | None = None
    severity: Code | None = None
    amount: Amount | None = None
    fields: JsonObject | None = Field(
        None, description="changed fields of the record; fields not named keep their value"
    )


class SameCaseRecord(BaseModel):
    """Another current record of the same case, offered in the same objection."""

    record: str = Field(description="document key")
    record_id: int
    record_type: str
    document_no: str
    decided_on: date
    open_objection: int | None = Field(description="the open objection to it, if any")


class DecisionBody(BaseModel):
    outcome: Literal["upheld", "rejected", "granted", "refused"] = Field(
        description="objections: upheld or rejected; repairs: granted or refused"
    )
    reasons: Annotated[Text, StringConstraints(min_length=1)]
    correction: Correction | None = Field(None, description="upheld objections: the correction")
    withdraw: bool = Field(False, description="upheld objections: withdraw the record")
    together: list[Id] | None = Field(
        None,
        max_length=20,
        description="objections sent together: the other open cases of the application this "
        "decision also covers; omitted: every open case of it",
    )


def _subject_of(person: Person) -> int:
    if person.subject_id is None:
        raise HTTPException(403, "this account is not linked to a subject")
    return person.subject_id


def _reviewer(person: Person) -> reviews.Reviewer:
    return reviews.Reviewer(person.account_id, person.role, person.authority_code, person.username)


def _answer(action: Callable[[], Result]) -> Result:
    try:
        return action()
    except (CaseRefused, EvidenceRefused) as refused:
        raise HTTPException(refused.status, str(refused)) from None


async def object_to(
    factory: sessionmaker[Session],
    pack: Pack,
    *,
    subject_id: int,
    account_id: int,
    record: str | None,
    entry: int | None,
    grounds: str,
    files: Sequence[SentFile],
    var_dir: Path,
    now: datetime,
    also: Sequence[str] = (),
) -> int:
    """``objections.object_to`` with the files of a form: the route and the subject's page
    both file through it. A file is read up to one byte past the largest taken, so that too
    large is told (the body's size limit bounds how much is read); the service runs in a
    worker thread, since decoding evidence takes a while."""
    sent = [(file.filename or "", await file.read(MAX_BYTES + 1)) for file in files]
    return await run_in_threadpool(
        partial(
            objections.object_to,
            factory,
            pack,
            subject_id=subject_id,
            account_id=account_id,
            record=record,
            entry=entry,
            grounds=grounds,
            files=sent,
            var_dir=var_dir,
            now=now,
            also=also,
        )
    )


def _case(factory: sessionmaker[Session], case_id: int, today: date) -> CaseView:
    with factory() as session:
        case = session.get_one(RightsCase, case_id)
        return CaseView.model_validate(
            case_view(case, today, evidence_of(session, [case_id])[case_id])
        )


@router.post(
    "/me/objections",
    response_model=CaseView,
    status_code=201,
    summary="Object to a record or an entry of your file",
    max_body_size=MAX_UPLOAD_BYTES,
    responses={
        404: {"description": "no such record or entry in your file"},
        409: {"description": "already open"},
        413: {"description": "file too large"},
        415: {"description": "not a PDF, JPEG or PNG"},
        422: {"description": "invalid"},
    },
)
async def object_route(
    request: Request,
    person: SubjectPerson,
    factory: Factory,
    pack: CurrentPack,
    now: Now,
    grounds: Annotated[Text, Form(description="why the record is wrong")],
    record: Annotated[RecordRef | None, Form(description="record id or document key")] = None,
    entry: Annotated[Id | None, Form(description="entry id")] = None,
    also: Annotated[
        list[RecordRef] | None,
        Form(
            description="other records of the same case (see /v1/me/objections/same-case), "
            f"objected to in the same application; at most {MAX_ALSO}"
        ),
    ] = None,
    files: Annotated[
        list[UploadFile] | None,
        File(description=f"up to {MAX_FILES} PDF, JPEG or PNG files of {MAX_BYTES // 2**20} MB"),
    ] = None,
) -> CaseView:
    """The record is marked disputed at once; the case is decided within the pack's working
    days. Evidence files are checked by their content, not their name."""
    subject_id = _subject_of(person)
    try:
        case_id = await object_to(
            factory,
            pack,
            subject_id=subject_id,
            account_id=person.account_id,
            record=record,
            entry=entry,
            grounds=grounds,
            files=files or [],
            var_dir=request.app.state.settings.var_dir,
            now=now,
            also=also or (),
        )
    except (CaseRefused, EvidenceRefused) as refused:
        raise HTTPException(refused.status, str(refused)) from None
    return _case(factory, case_id, china_day(now))


@router.get(
    "/me/objections/same-case",
    response_model=list[SameCaseRecord],
    summary="The other records of a record's case, to object to together",
    responses={404: {"description": "no such record in your file"}},
)
def same_case_route(
    person: SubjectPerson,
    factory: Factory,
    pack: CurrentPack,
    record: Annotated[RecordRef, Query(description="record id or document key")],
) -> list[SameCaseRecord]:
    """Records of yours by the same authority with the same case number (a court's case
    number, else the decision's document number): name them in ``also`` when you object."""
    subject_id = _subject_of(person)
    with factory() as session:
        current = _answer(lambda: current_record(session, subject_id, record))
        return [
            SameCaseRecord(
                record=other.document_key,
                record_id=other.id,
                record_type=other.record_type,
                document_no=other.document_no,
                decided_on=other.decided_on,
                open_objection=open_case(session, "objection", other.document_key),
            )
            for other in same_case(session, pack, current.record)
        ]


@router.get("/me/requests", response_model=list[CaseView], summary="Your objections and repairs")
def requests_route(person: SubjectPerson, factory: Factory, now: Now) -> list[CaseView]:
    """Every objection and repair application of yours, newest first, with status, deadlines
    and, once decided, the decision and its reasons."""
    with factory() as session:
        found = subject_requests(session, _subject_of(person), china_day(now))
    return [CaseView.model_validate(case) for case in found]


@router.get(
    "/me/repairs/eligibility",
    response_model=EligibilityView,
    summary="Whether a record of yours can be repaired, and from when",
)
def eligibility_route(
    person: SubjectPerson,
    factory: Factory,
    pack: CurrentPack,
    now: Now,
    record: Annotated[RecordRef, Query(description="record id or document key")],
) -> EligibilityView:
    subject_id = _subject_of(person)
    with factory() as session:
        found = _answer(
            lambda: repairs.eligibility(session, pack, subject_id, record, china_day(now))
        )
    return EligibilityView(
        record=found.record,
        record_id=found.record_id,
        record_type=found.record_type,
        severity=found.severity,
        eligible=found.eligible,
        possible_from=found.possible_from,
        decide_within=found.decide_within,
        close_within=found.close_within,
        conditions=[
            ConditionView(code=item.code, met=item.met, detail=item.detail)
            for item in found.conditions
        ],
        obligation_record_id=found.obligation_record_id,
        ending=None
        if found.ending is None
        else EndingView(record_types=list(found.ending.record_types), ways=list(found.ending.ways)),
    )


@router.post(
    "/me/repairs",
    response_model=CaseView,
    status_code=201,
    summary="Apply for credit repair (free)",
    responses={
        409: {"description": "too early (the date it becomes possible is given)"},
        422: {"description": "a condition is not met"},
    },
)
def repair_route(
    body: RepairApplication, person: SubjectPerson, factory: Factory, pack: CurrentPack, now: Now
) -> CaseView:
    """Refused with the date it becomes possible when the minimum period has not passed."""
    subject_id = _subject_of(person)

    def apply() -> int:
        with factory.begin() as session:
            return repairs.apply_for_repair(
                session,
                pack,
                subject_id=subject_id,
                account_id=person.account_id,
                record=body.record,
                statement=body.statement,
                obligations_performed=body.obligations_performed,
                commitment_signed=body.commitment_signed,
                commitment=body.commitment,
                now=now,
            ).id

    return _case(factory, _answer(apply), china_day(now))


@router.post(
    "/me/repairs/{case_id}/evidence",
    response_model=CaseView,
    summary="Add evidence files to your open repair application",
    max_body_size=MAX_UPLOAD_BYTES,
    responses={
        404: {"description": "no such repair application of yours"},
        409: {"description": "already decided"},
        413: {"description": "file too large"},
        415: {"description": "not a PDF, JPEG or PNG"},
        422: {"description": "too many files"},
    },
)
async def repair_evidence_route(
    case_id: Id,
    request: Request,
    person: SubjectPerson,
    factory: Factory,
    now: Now,
    files: Annotated[
        list[UploadFile],
        File(description=f"up to {MAX_FILES} PDF, JPEG or PNG files of {MAX_BYTES // 2**20} MB"),
    ],
) -> CaseView:
    """Evidence of how the conduct was corrected (a receipt, a court's ruling), checked by its
    content as an objection's is; at most 5 files a case, before its decision."""
    subject_id = _subject_of(person)
    sent = [(file.filename or "", await file.read(MAX_BYTES + 1)) for file in files]
    await run_in_threadpool(
        partial(
            _answer,
            partial(
                repairs.add_evidence,
                factory,
                subject_id=subject_id,
                case_id=case_id,
                files=sent,
                var_dir=request.app.state.settings.var_dir,
            ),
        )
    )
    return _case(factory, case_id, china_day(now))


@router.get("/reviews", response_model=list[CaseView], summary="The review queue, by deadline")
def queue_route(
    person: ReviewerPerson,
    factory: Factory,
    now: Now,
    include_closed: bool = False,
) -> list[CaseView]:
    """Open cases sorted by the day they are due, overdue ones flagged. Authority staff see only
    cases about records their own authority provided."""
    with factory() as session:
        found = _answer(
            lambda: reviews.queue(
                session, _reviewer(person), china_day(now), include_closed=include_closed
            )
        )
    return [CaseView.model_validate(case) for case in found]


@router.get("/reviews/{case_id}", response_model=CaseView, summary="One case with its evidence")
def case_route(case_id: Id, person: ReviewerPerson, factory: Factory, now: Now) -> CaseView:
    with factory() as session:
        _answer(lambda: reviews.visible_case(session, _reviewer(person), case_id))
    return _case(factory, case_id, china_day(now))


@router.get(
    "/reviews/{case_id}/evidence/{n}",
    response_class=FileResponse,
    summary="Download an evidence file",
)
def evidence_route(
    case_id: Id, n: Ordinal, request: Request, person: ReviewerPerson, factory: Factory
) -> FileResponse:
    with factory.begin() as session:
        found = _answer(lambda: reviews.evidence_file(session, _reviewer(person), case_id, n))
        path = stored_path(request.app.state.settings.var_dir, found.sha256)
        if not path.is_file():
            raise HTTPException(410, f"evidence file {n} of case {case_id} is missing from storage")
        return FileResponse(path, media_type=found.content_type, filename=found.filename)


@router.post(
    "/reviews/{case_id}/decision",
    response_model=CaseView,
    summary="Decide an objection or a repair application",
)
def decision_route(
    case_id: Id,
    body: DecisionBody,
    person: ReviewerPerson,
    factory: Factory,
    pack: CurrentPack,
    now: Now,
) -> CaseView:
    """Upheld objections correct or withdraw the record and end its consequences at once;
    granted repairs end its publicity; every decision reaches the subject with its reasons.
    A decision on a case of an application covers its other open cases too (or those named
    in ``together``); a correction is decided on one case alone."""
    correction = (
        None
        if body.correction is None
        else body.correction.model_dump(mode="json", exclude_unset=True)
    )
    decision = reviews.Decision(
        body.outcome,
        body.reasons,
        correction,
        body.withdraw,
        None if body.together is None else tuple(body.together),
    )
    _answer(lambda: reviews.decide(factory, pack, _reviewer(person), case_id, decision, now))
    return _case(factory, case_id, china_day(now))
