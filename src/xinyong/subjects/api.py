"""The subject's own file and credit report (``/v1/me``), and staff reads (``/v1/subjects``).

A subject's look at itself is free, unlimited and not logged. A member of staff must state a
purpose in ``X-Purpose``; the read and the purpose are written to the access log in the same
transaction, so there is no read without its log.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from xinyong.accounts.deps import Person, require_person
from xinyong.accounts.service import STAFF_ROLES, SUBJECT
from xinyong.audit.service import MAX_PURPOSE, record_access
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.ledger.api import MAX_POSITION, PENDING_RESPONSE, ledger_key, pending_answer, refuse
from xinyong.ledger.bundle import InclusionBundle, NotYetProvable, inclusion_bundle
from xinyong.ledger.checkpoint import CheckpointError, VerifierKey
from xinyong.ledger.merkle import ProofError
from xinyong.ledger.service import LedgerDamaged, NotInLedger
from xinyong.policy import Pack
from xinyong.records.lookup import UnknownSubject, find_subject
from xinyong.scoring.packs import served_packs
from xinyong.subjects.proofs import attach_proofs, event_subject
from xinyong.subjects.report import Report, credit_report, render_html, render_pdf
from xinyong.subjects.service import staff_file, whole_file
from xinyong.subjects.verification import issue, report_key
from xinyong.web.deps import get_pack, get_session
from xinyong.web.types import SubjectRef

router = APIRouter(tags=["subjects"])

SignedInSubject = Annotated[Person, Depends(require_person(SUBJECT))]
SignedInStaff = Annotated[Person, Depends(require_person(*STAFF_ROLES))]
StoreSession = Annotated[Session, Depends(get_session)]
ActivePack = Annotated[Pack, Depends(get_pack)]


def _own_file(session: Session, person: Person, pack: Pack) -> dict[str, Any]:
    if person.subject_identifier is None:
        raise HTTPException(404, "this account is not linked to a subject")
    return whole_file(session, person.subject_identifier, pack, china_today(), served_packs())


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _with_proofs(request: Request, session: Session, file: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(request)
    attach_proofs(session, file, settings.ledger_key_path, settings.checkpoint_interval)
    return file


def _header_text(value: str) -> str:
    """A header as the client wrote it: HTTP hands headers over as Latin-1, so a purpose sent
    in UTF-8 (Chinese, say) is decoded again; anything else is kept as it came."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


@router.get("/v1/me/file")
def my_file(
    request: Request, person: SignedInSubject, session: StoreSession, pack: ActivePack
) -> dict[str, Any]:
    """Everything held on the signed-in subject: every record (public or not) with its
    versions, events and disclosure level; list entries with their ends; what every action
    check would decide today; and every access to its non-public data (who, role, purpose,
    when). Each record event and staff read carries, under ``proof``, its inclusion bundle
    opened in full (check it offline with ``xinyong ledger verify-proof``), or when it will be
    provable. Free and unlimited."""
    return _with_proofs(request, session, _own_file(session, person, pack))


@router.get(
    "/v1/me/proof/inclusion",
    response_model=InclusionBundle,
    responses={**PENDING_RESPONSE, 404: {"description": "no such event in your file"}},
)
def my_proof(
    request: Request,
    person: SignedInSubject,
    session: StoreSession,
    key: Annotated[VerifierKey, Depends(ledger_key)],
    event: Annotated[int, Query(ge=0, le=MAX_POSITION, description="the event's leaf index")],
) -> InclusionBundle | JSONResponse:
    """The inclusion bundle of one event of the signed-in subject's file (a record event or a
    staff read), opened in full: the "proof" links of the file lead here."""
    if person.subject_id is None or event_subject(session, event) != person.subject_id:
        raise HTTPException(404, f"there is no event {event} in your file")
    try:
        return inclusion_bundle(
            session, event, None, key, None, interval=_settings(request).checkpoint_interval
        )
    except NotYetProvable as error:
        return pending_answer(error)
    except (NotInLedger, ProofError, LedgerDamaged) as error:
        raise refuse(error) from None


def verify_address(request: Request) -> str:
    """Where a report's reader verifies it: the configured public address, or this one."""
    base = _settings(request).public_url or str(request.base_url)
    return base.rstrip("/") + "/verify"


def signed(request: Request, report: Report) -> str:
    """The report's verification code, signed with the platform's report key."""
    try:
        key = report_key(_settings(request).report_key_path)
    except (OSError, CheckpointError) as error:
        raise HTTPException(503, f"reports cannot be signed: {error}") from None
    return issue(report, key)


def _own_report(request: Request, session: Session, person: Person, pack: Pack) -> Report:
    file = _own_file(session, person, pack)
    return credit_report(file, pack, _settings(request).report_issuer, verify_address(request))


def report_pdf(report: Report, code: str, filename: str) -> Response:
    return Response(
        render_pdf(report, code),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/v1/me/report.html", response_class=HTMLResponse)
def my_report_html(
    request: Request, person: SignedInSubject, session: StoreSession, pack: ActivePack
) -> str:
    """The whole file as a printable credit report (HTML), numbered and verifiable."""
    report = _own_report(request, session, person, pack)
    return render_html(report, signed(request, report))


@router.get(
    "/v1/me/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def my_report_pdf(
    request: Request, person: SignedInSubject, session: StoreSession, pack: ActivePack
) -> Response:
    """The whole file as a printable credit report (PDF), numbered and verifiable."""
    report = _own_report(request, session, person, pack)
    return report_pdf(report, signed(request, report), f"credit-report-{report.number}.pdf")


@router.get(
    "/v1/subjects/{identifier}",
    responses={
        400: {"description": "no X-Purpose header"},
        404: {"description": "no such subject"},
    },
)
def staff_read(
    request: Request,
    identifier: SubjectRef,
    person: SignedInStaff,
    session: StoreSession,
    pack: ActivePack,
    x_purpose: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """A subject's file as the signed-in member of staff's role allows. States its purpose in
    the ``X-Purpose`` header; the read is logged and the subject sees it in its file. Each
    record event (and, for auditors, each staff read) carries its inclusion bundle, opened."""
    purpose = _header_text(x_purpose or "").strip()
    if not purpose:
        raise HTTPException(
            400, "state why you read this file in the X-Purpose header; every read is logged"
        )
    if len(purpose) > MAX_PURPOSE:
        raise HTTPException(422, f"X-Purpose: at most {MAX_PURPOSE} characters")
    try:
        subject = find_subject(session, identifier)
    except UnknownSubject as error:
        raise HTTPException(404, str(error)) from None
    file = staff_file(
        session,
        subject,
        pack,
        china_today(),
        role=person.role,
        authority=person.authority_code,
    )
    record_access(
        session,
        person=person,
        subject_id=subject.id,
        purpose=purpose,
        what=f"subject file ({person.role} view)",
    )
    session.commit()
    return _with_proofs(request, session, file)
