"""Filing an objection (异议): the record is marked disputed at once, in the same transaction.

An objection names one of the subject's records (by record id or document key) or one of its
list entries (then the entry's grounding record is the one disputed). The providing authority
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
from xinyong.rights.cases import (
    OPEN,
    CaseRefused,
    current_record,
    deadlines,
    open_case,
    procedure,
)
from xinyong.rights.events import DISPUTED, append_record_event
from xinyong.rights.evidence import (
    MAX_FILES,
    Evidence,
    EvidenceRefused,
    check_evidence,
    store_evidence,
)
from xinyong.rights.models import EvidenceFile, RightsCase
from xinyong.rights.notices import OBJECTION_RECEIVED, enqueue_notice

MAX_GROUNDS = 10_000


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
) -> int:
    """File an objection with the files sent as its evidence (each its name and content);
    the new case's id. What the API and the subject's page both call.

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
) -> RightsCase:
    """Open an objection, store its evidence and mark the record disputed."""
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
    document_key = current.record.document_key
    already = open_case(session, ProcedureCode.OBJECTION.value, document_key)
    if already is not None:
        raise CaseRefused(409, f"an objection to this record is already open: case {already}")
    received_on = china_day(now)
    due = deadlines(rules, received_on)
    case = RightsCase(
        kind=ProcedureCode.OBJECTION.value,
        subject_id=subject_id,
        account_id=account_id,
        document_key=document_key,
        record_id=current.record.id,
        authority=current.record.authority,
        entry_id=entry_id,
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
    for position, file in enumerate(evidence, start=1):
        store_evidence(var_dir, file)
        session.add(
            EvidenceFile(
                case_id=case.id,
                position=position,
                filename=file.filename,
                content_type=file.content_type,
                size=len(file.content),
                sha256=file.sha256,
            )
        )
    append_record_event(session, current.record.id, DISPUTED, now)
    enqueue_notice(
        session,
        subject_id=subject_id,
        kind=OBJECTION_RECEIVED,
        title=f"Objection {case.id} received",
        body=(
            f"Your objection to record {document_key} was received on {received_on}. "
            f"The record is marked disputed. A decision is due by {due.due_on}, "
            f"and the case ends by {due.limit_on} at the latest."
        ),
        reference=f"case:{case.id}",
    )
    return case
