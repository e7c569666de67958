"""Filing an objection (异议): the record is marked disputed at once, in the same transaction.

An objection names one of the subject's records (by record id or document key) or one of its
list entries (then the entry's grounding record is the one disputed), and may name with it the
other records of the same case (``xinyong.rights.cases.same_case``: a court's defaulter listing
and the consumption restriction of the same enforcement case). Each record gets its own case,
all of one application, which the reviewer sees and decides together. The providing authority
and the reviewers then have the pack's working days to decide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_day
from xinyong.enforcement.models import EntryRow
from xinyong.policy import Pack
from xinyong.policy.rights import ProcedureCode
from xinyong.records.models import Record
from xinyong.rights.cases import (
    OPEN,
    CaseRefused,
    attach_evidence,
    current_record,
    deadlines,
    open_case,
    procedure,
    same_case,
)
from xinyong.rights.events import DISPUTED, append_record_event
from xinyong.rights.evidence import (
    MAX_FILES,
    Evidence,
    EvidenceRefused,
    check_evidence,
)
from xinyong.rights.models import RightsCase
from xinyong.rights.notices import OBJECTION_RECEIVED, enqueue_notice

MAX_GROUNDS = 10_000
MAX_ALSO = 20
"""More records of one case than any court or authority keeps."""


def object_to(
    factory: sessionmaker[Session],
    pack: Pack,
    *,
    subject_id: int,
    account_id: int,
    record: str | None,
    entry: int | None,
    grounds: str,
    files: Sequence[tuple[str, bytes]],
    var_dir: Path,
    now: datetime,
    also: Sequence[str] = (),
) -> int:
    """File an objection with the files sent as its evidence (each its name and content),
    and with it one to each record of ``also`` (other records of the same case); the first
    case's id. What the API and the subject's page both call.

    Refused (CaseRefused, EvidenceRefused) when there are too many files, one is too large
    or not a PDF, JPEG or PNG, or the objection itself is not admissible.
    """
    if len(files) > MAX_FILES:
        raise EvidenceRefused(422, f"at most {MAX_FILES} evidence files, not {len(files)}")
    evidence = check_evidence(list(files))
    with factory.begin() as session:
        return file_objection(
            session,
            pack,
            subject_id=subject_id,
            account_id=account_id,
            record=record,
            entry=entry,
            grounds=grounds,
            evidence=evidence,
            var_dir=var_dir,
            now=now,
            also=also,
        ).id


def file_objection(
    session: Session,
    pack: Pack,
    *,
    subject_id: int,
    account_id: int,
    record: str | None,
    entry: int | None,
    grounds: str,
    evidence: list[Evidence],
    var_dir: Path,
    now: datetime,
    also: Sequence[str] = (),
) -> RightsCase:
    """Open an objection (one case a record, all of one application when ``also`` names
    records of the same case), store its evidence and mark each record disputed; the first
    case."""
    rules = procedure(pack, ProcedureCode.OBJECTION)
    grounds = grounds.strip()
    if not grounds:
        raise CaseRefused(422, "grounds: say why the record is wrong")
    if len(grounds) > MAX_GROUNDS:
        raise CaseRefused(422, f"grounds: at most {MAX_GROUNDS} characters")
    if (record is None) == (entry is None):
        raise CaseRefused(422, "name either a record or an entry of your file")
    entry_id = None
    if entry is not None:
        found = session.execute(
            select(EntryRow.id, EntryRow.document_key).where(
                EntryRow.id == entry, EntryRow.subject_id == subject_id
            )
        ).first()
        if found is None:
            raise CaseRefused(404, f"no entry {entry} in your file")
        entry_id, record = found[0], found[1]
    assert record is not None
    current = current_record(session, subject_id, record)
    if current.status == "withdrawn":
        raise CaseRefused(409, "this record was withdrawn by its authority; nothing to object to")
    records = [current.record, *_same_case_named(session, pack, subject_id, current.record, also)]
    for disputed in records:
        already = open_case(session, ProcedureCode.OBJECTION.value, disputed.document_key)
        if already is not None:
            raise CaseRefused(
                409,
                f"an objection to record {disputed.document_key} is already open: case {already}",
            )
    received_on = china_day(now)
    due = deadlines(rules, received_on)
    cases: list[RightsCase] = []
    for disputed in records:
        case = RightsCase(
            kind=ProcedureCode.OBJECTION.value,
            subject_id=subject_id,
            account_id=account_id,
            document_key=disputed.document_key,
            record_id=disputed.id,
            authority=disputed.authority,
            entry_id=entry_id if disputed is current.record else None,
            grounds=grounds,
            status=OPEN,
            received_at=now,
            received_on=received_on,
            mark_due_on=due.mark_due_on,
            due_on=due.due_on,
            limit_on=due.limit_on,
            withdraw=False,
        )
        session.add(case)
        session.flush()
        cases.append(case)
        attach_evidence(session, var_dir, case.id, evidence)
        append_record_event(session, disputed.id, DISPUTED, now)
    first = cases[0]
    if len(cases) > 1:
        for case in cases:
            case.application_id = first.id
    keys = ", ".join(case.document_key for case in cases)
    enqueue_notice(
        session,
        subject_id=subject_id,
        kind=OBJECTION_RECEIVED,
        title=f"Objection {first.id} received",
        body=(
            f"Your objection to record{'s' if len(cases) > 1 else ''} {keys} was received on "
            f"{received_on}. The record{'s are' if len(cases) > 1 else ' is'} marked disputed. "
            f"A decision is due by {due.due_on}, "
            f"and the case ends by {due.limit_on} at the latest."
        ),
        reference=f"case:{first.id}",
    )
    return first


def _same_case_named(
    session: Session, pack: Pack, subject_id: int, record: Record, also: Sequence[str]
) -> list[Record]:
    """The records ``also`` names, each one of ``record``'s case (named by record id or
    document key, each once)."""
    if not also:
        return []
    if len(also) > MAX_ALSO:
        raise CaseRefused(422, f"also: at most {MAX_ALSO} records of the same case")
    offered = {other.document_key: other for other in same_case(session, pack, record)}
    named: dict[str, Record] = {}
    for reference in also:
        other = current_record(session, subject_id, reference)
        if other.record.document_key not in offered:
            raise CaseRefused(
                422,
                f"also: record {reference!r} is not another current record of the case "
                f"of {record.document_key}",
            )
        named[other.record.document_key] = other.record
    return list(named.values())
