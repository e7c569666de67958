"""What objections and repairs share: refusals, deadlines, the record a case is about, views.

Deadlines are working days (``xinyong.rights.calendar``) counted from the day after receipt,
with the numbers of the pack's ``rights.yaml``: a case is overdue once the day it had to be
decided by has passed, and beyond its limit once the whole case should have ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.policy import Pack
from xinyong.policy.rights import ProcedureCode, RightsProcedure
from xinyong.records.history import shown_identifier
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights.calendar import add_working_days, working_days_between
from xinyong.rights.evidence import Evidence, store_evidence
from xinyong.rights.models import EvidenceFile, RightsCase
from xinyong.store.filters import unindexed

OPEN = "open"


class CaseRefused(Exception):
    """A request about a case that cannot be done, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def procedure(pack: Pack, code: ProcedureCode) -> RightsProcedure:
    """The pack's deadlines for ``code``; a pack without them cannot take such cases."""
    found = pack.rights.get(code.value)
    if found is None:
        raise CaseRefused(
            409, f"policy pack {pack.name} has no {code.value} procedure in its rights.yaml"
        )
    return found


@dataclass(frozen=True, slots=True)
class Deadlines:
    mark_due_on: date | None
    due_on: date
    limit_on: date


def deadlines(rules: RightsProcedure, received_on: date) -> Deadlines:
    return Deadlines(
        None if rules.mark_within is None else add_working_days(received_on, rules.mark_within),
        add_working_days(received_on, rules.decide_within),
        add_working_days(received_on, rules.close_within),
    )


@dataclass(frozen=True, slots=True)
class CurrentRecord:
    """The current version of one of a subject's decisions, with its status."""

    record: Record
    status: str


def current_record(session: Session, subject_id: int, reference: str) -> CurrentRecord:
    """The subject's decision named by a record id (any of its versions) or a document key.

    Another subject's record is answered exactly like a record that does not exist.
    """
    key = reference.strip()
    # Only ASCII digits make an id (int() would read "²" or "٣" too), and only one that fits
    # the id column (32 bits on PostgreSQL).
    if key.isascii() and key.isdigit() and len(key) <= 10 and int(key) < 2**31:
        key = session.scalar(select(Record.document_key).where(Record.id == int(key))) or ""
    row = session.execute(
        select(Record, RecordHead.status)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(RecordHead.document_key == key, RecordHead.subject_id == subject_id)
    ).first()
    if row is None:
        raise CaseRefused(404, f"no record {reference!r} in your file")
    return CurrentRecord(row[0], row[1])


def case_number(record: Record) -> str:
    """The number of the case a record belongs to: a court's case number (``case_no``) where
    the record has one, else its own document number (决定书文号)."""
    number = record.fields.get("case_no") if isinstance(record.fields, dict) else None
    return number if isinstance(number, str) and number else record.document_no


def same_case(session: Session, pack: Pack, record: Record) -> list[Record]:
    """The subject's other current records of ``record``'s case: by the same authority, with
    the same case number, of the same polarity (a listing and its restriction, never the
    record of performance that ended them), and not withdrawn."""
    number = case_number(record)
    polarity = _polarity(pack, record.record_type)
    found = session.scalars(
        select(Record)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(
            Record.subject_id == record.subject_id,
            RecordHead.status == "active",
            Record.authority == record.authority,
            Record.document_key != record.document_key,
        )
        .order_by(Record.decided_on, Record.id)
    )
    return [
        other
        for other in found
        if case_number(other) == number and _polarity(pack, other.record_type) == polarity
    ]


def _polarity(pack: Pack, record_type: str) -> str | None:
    found = pack.record_types.get(record_type)
    return None if found is None else str(found.polarity)


def application_cases(session: Session, case: RightsCase) -> list[RightsCase]:
    """Every case of ``case``'s application, in the order they were sent (itself alone when
    it was sent on its own)."""
    if case.application_id is None:
        return [case]
    return list(
        session.scalars(
            select(RightsCase)
            .where(RightsCase.application_id == case.application_id)
            .order_by(RightsCase.id)
        )
    )


def open_case(session: Session, kind: str, document_key: str) -> int | None:
    return session.scalar(
        select(RightsCase.id).where(
            RightsCase.kind == kind,
            RightsCase.document_key == document_key,
            unindexed(RightsCase.status) == OPEN,
        )
    )


def case_view(case: RightsCase, today: date, evidence: list[EvidenceFile]) -> dict[str, Any]:
    """A case as its subject and its reviewers see it: status, deadlines, decision."""
    is_open = case.status == OPEN
    return {
        "id": case.id,
        "kind": case.kind,
        "application_id": case.application_id,
        "status": case.status,
        "record": case.document_key,
        "record_id": case.record_id,
        "authority": case.authority,
        "entry_id": case.entry_id,
        "grounds": case.grounds,
        "received_at": case.received_at,
        "received_on": case.received_on,
        "mark_due_on": case.mark_due_on,
        "due_on": case.due_on,
        "limit_on": case.limit_on,
        "overdue": is_open and today > case.due_on,
        "beyond_limit": is_open and today > case.limit_on,
        "working_days_left": (
            working_days_between(today, case.due_on) if is_open and today <= case.due_on else 0
        ),
        "decided_at": case.decided_at,
        "reasons": case.reasons,
        "correction": case.correction,
        "withdraw": case.withdraw,
        "result_record_id": case.result_record_id,
        "obligations_declared": case.obligations_declared,
        "obligation_record_id": case.obligation_record_id,
        "commitment": case.commitment,
        "evidence": [
            {
                "n": file.position,
                "filename": file.filename,
                "content_type": file.content_type,
                "size": file.size,
                "sha256": file.sha256,
            }
            for file in evidence
        ],
    }


def attach_evidence(
    session: Session,
    var_dir: Path,
    case_id: int,
    evidence: Sequence[Evidence],
    *,
    first: int = 1,
) -> None:
    """Store checked files and list them on the case from position ``first``, in the order
    they were sent (an objection's and a repair application's alike)."""
    for position, file in enumerate(evidence, start=first):
        store_evidence(var_dir, file)
        session.add(
            EvidenceFile(
                case_id=case_id,
                position=position,
                filename=file.filename,
                content_type=file.content_type,
                size=len(file.content),
                sha256=file.sha256,
            )
        )


def evidence_of(session: Session, case_ids: list[int]) -> dict[int, list[EvidenceFile]]:
    found: dict[int, list[EvidenceFile]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        for file in session.scalars(
            select(EvidenceFile)
            .where(EvidenceFile.case_id.in_(case_ids))
            .order_by(EvidenceFile.case_id, EvidenceFile.position)
        ):
            found[file.case_id].append(file)
    return found


def subject_requests(session: Session, subject_id: int, today: date) -> list[dict[str, Any]]:
    """Every objection and repair of the subject, newest first (``GET /v1/me/requests``)."""
    cases = list(
        session.scalars(
            select(RightsCase)
            .where(RightsCase.subject_id == subject_id)
            .order_by(RightsCase.received_at.desc(), RightsCase.id.desc())
        )
    )
    files = evidence_of(session, [case.id for case in cases])
    return [case_view(case, today, files[case.id]) for case in cases]


def disputed_record(session: Session, pack: Pack, record_id: int) -> dict[str, Any]:
    """The record version a case is about: what a reviewer needs, and no more of the file."""
    record, subject = session.execute(
        select(Record, Subject)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.id == record_id)
    ).one()
    record_type = pack.record_types.get(record.record_type)
    authority = pack.authorities.get(record.authority)
    return {
        "record_type": record.record_type,
        "record_type_name": record_type.name.model_dump() if record_type else None,
        "authority": record.authority,
        "authority_name": authority.name.model_dump() if authority else None,
        "document_no": record.document_no,
        "version": record.version,
        "subject_name": subject.name,
        "subject_id": shown_identifier(subject.identifier, subject.kind),
        "decided_on": record.decided_on,
        "effective_on": record.effective_on,
        "severity": record.severity,
        "amount": record.amount,
        "fields": record.fields,
        "severities": [str(grade) for grade in record_type.severities] if record_type else [],
    }
