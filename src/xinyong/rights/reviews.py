"""The review queue and decisions on objections and repair applications.

Reviewers see every case; staff of a providing authority see only the cases about records their
own authority provided. An upheld objection corrects or withdraws the record through the ingest
path (the same validation, events, ledger leaves and refresh of entries and measures as an
authority's own correction), so every consequence ends at once. Every decision ends the
``disputed`` mark of an objection and tells the subject, with the reasons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_day
from xinyong.ingest.service import IngestJob
from xinyong.policy import Pack
from xinyong.policy.rights import ProcedureCode
from xinyong.records.models import Record, Subject
from xinyong.rights.calendar import working_days_between
from xinyong.rights.cases import OPEN, CaseRefused, case_view, evidence_of
from xinyong.rights.events import RESOLVED, append_record_event
from xinyong.rights.models import EvidenceFile, RightsCase
from xinyong.rights.notices import enqueue_notice
from xinyong.rights.repairs import grant_repair

REVIEWER = "reviewer"
AUTHORITY = "authority"
CORRECTABLE = ("subject_name", "decided_on", "effective_on", "severity", "amount", "fields")
OUTCOMES = {
    ProcedureCode.OBJECTION.value: ("upheld", "rejected"),
    ProcedureCode.REPAIR.value: ("granted", "refused"),
}


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who reviews: a reviewer (every case) or staff of one providing authority."""

    account_id: int
    role: str
    authority_code: str | None

    def scope(self) -> str | None:
        """The authority whose cases this reviewer sees; ``None`` for every case."""
        if self.role == REVIEWER:
            return None
        if self.role == AUTHORITY and self.authority_code:
            return self.authority_code
        raise CaseRefused(403, "only reviewers and authority staff review cases")


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    reasons: str
    correction: dict[str, Any] | None = None
    withdraw: bool = False


def queue(
    session: Session, reviewer: Reviewer, today: date, *, include_closed: bool = False
) -> list[dict[str, Any]]:
    """The cases this reviewer may see, the most urgent first (by deadline, then receipt)."""
    query = select(RightsCase).order_by(RightsCase.due_on, RightsCase.received_at, RightsCase.id)
    scope = reviewer.scope()
    if scope is not None:
        query = query.where(RightsCase.authority == scope)
    if not include_closed:
        query = query.where(RightsCase.status == OPEN)
    cases = list(session.scalars(query))
    files = evidence_of(session, [case.id for case in cases])
    return [case_view(case, today, files[case.id]) for case in cases]


def visible_case(session: Session, reviewer: Reviewer, case_id: int) -> RightsCase:
    """The case, if this reviewer may see it; a case outside the reviewer's scope is a 404."""
    case = session.get(RightsCase, case_id)
    scope = reviewer.scope()
    if case is None or (scope is not None and case.authority != scope):
        raise CaseRefused(404, f"no case {case_id} in your queue")
    return case


def evidence_file(
    session: Session, reviewer: Reviewer, case_id: int, position: int
) -> EvidenceFile:
    visible_case(session, reviewer, case_id)
    found = session.scalar(
        select(EvidenceFile).where(
            EvidenceFile.case_id == case_id, EvidenceFile.position == position
        )
    )
    if found is None:
        raise CaseRefused(404, f"case {case_id} has no evidence file {position}")
    return found


def decide(
    factory: sessionmaker[Session],
    pack: Pack,
    reviewer: Reviewer,
    case_id: int,
    decision: Decision,
    now: datetime,
) -> RightsCase:
    """Decide a case: apply what the outcome requires, record it and tell the subject."""
    with factory() as session:
        case = visible_case(session, reviewer, case_id)
        _check(case, decision)
        kind, document_key, record_id = case.kind, case.document_key, case.record_id
    result_record_id = None
    if kind == ProcedureCode.OBJECTION.value and decision.outcome == "upheld":
        # The ingest job commits in its own transaction, before the decision is recorded: if
        # the process stops in between, deciding again finds the change already made.
        result_record_id = _apply_upheld(factory, pack, reviewer, record_id, decision, now)
    with factory.begin() as session:
        case = session.execute(
            select(RightsCase).where(RightsCase.id == case_id).with_for_update()
        ).scalar_one()
        if case.status != OPEN:
            raise CaseRefused(409, f"case {case_id} was decided already ({case.status})")
        case.status = decision.outcome
        case.decided_at = now
        case.decided_by = reviewer.account_id
        case.reasons = decision.reasons.strip()
        case.correction = decision.correction
        case.withdraw = decision.withdraw
        case.result_record_id = result_record_id
        if kind == ProcedureCode.OBJECTION.value:
            append_record_event(session, record_id, RESOLVED, now)
        elif decision.outcome == "granted":
            grant_repair(session, pack, case, now)
        _notify(session, case, document_key, china_day(now))
        session.flush()
        session.expunge(case)
    return case


def _check(case: RightsCase, decision: Decision) -> None:
    if case.status != OPEN:
        raise CaseRefused(409, f"case {case.id} was decided already ({case.status})")
    allowed = OUTCOMES[case.kind]
    if decision.outcome not in allowed:
        raise CaseRefused(
            422,
            f"outcome: a {case.kind} is decided {' or '.join(allowed)}, not {decision.outcome!r}",
        )
    if not decision.reasons.strip():
        raise CaseRefused(422, "reasons: give the reasons for the decision")
    changes = decision.correction is not None or decision.withdraw
    if decision.outcome != "upheld" and changes:
        raise CaseRefused(422, "only an upheld objection corrects or withdraws the record")
    if decision.outcome == "upheld":
        if (decision.correction is not None) == decision.withdraw:
            raise CaseRefused(
                422, "an upheld objection either corrects the record (correction) or withdraws it"
            )
        if not isinstance((decision.correction or {}).get("fields", {}), dict):
            raise CaseRefused(422, "correction.fields: an object of the fields to change")
        unknown = sorted(set(decision.correction or {}) - set(CORRECTABLE))
        if unknown:
            raise CaseRefused(
                422,
                f"correction: cannot change {', '.join(unknown)}; "
                f"correctable: {', '.join(CORRECTABLE)}",
            )


def _apply_upheld(
    factory: sessionmaker[Session],
    pack: Pack,
    reviewer: Reviewer,
    record_id: int,
    decision: Decision,
    now: datetime,
) -> int | None:
    """Correct or withdraw the record as its authority would; the new version's id, if any."""
    with factory() as session:
        record, identifier = session.execute(
            select(Record, Subject.identifier)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.id == record_id)
        ).one()
        row = _row(record, identifier, decision)
    raw = orjson.dumps(row).decode()
    job = IngestJob(factory, pack, today=china_day(now), authority=record.authority)
    summary = job.run_rows(
        [(1, raw, row)],
        source_name=f"review:{reviewer.account_id}",
        digest=hashlib.sha256(raw.encode()).hexdigest(),
        key_id=f"account:{reviewer.account_id}",
    )
    [outcome] = summary.outcomes
    if outcome.status == "rejected":
        raise CaseRefused(422, f"the correction was refused: {outcome.field}: {outcome.reason}")
    if outcome.status == "duplicate" and not decision.withdraw:
        raise CaseRefused(422, "the correction changes nothing in the record")
    return outcome.record_id if decision.correction is not None else None


def _row(record: Record, identifier: str, decision: Decision) -> dict[str, Any]:
    row: dict[str, Any] = {
        "op": "withdraw" if decision.withdraw else "correct",
        "record_type": record.record_type,
        "subject_id": identifier,
        "subject_name": record.subject_name,
        "authority": record.authority,
        "document_no": record.document_no,
        "decided_on": record.decided_on.isoformat(),
        "effective_on": record.effective_on.isoformat(),
        "severity": record.severity,
        "amount": None if record.amount is None else float(record.amount),
        "fields": dict(record.fields),
    }
    correction = dict(decision.correction or {})
    # Fields are corrected one by one; a field not named keeps its value.
    row["fields"].update(correction.pop("fields", None) or {})
    row.update(correction)
    return row


def _notify(session: Session, case: RightsCase, document_key: str, today: date) -> None:
    if case.status == "granted":
        return  # grant_repair tells the subject what the grant changed
    body = {
        "upheld": (
            f"Your objection to record {document_key} was upheld on {today}: the record was "
            + ("withdrawn" if case.withdraw else "corrected")
            + " and every consequence it grounded was ended."
        ),
        "rejected": f"Your objection to record {document_key} was rejected on {today}.",
        "refused": f"Your application to repair record {document_key} was refused on {today}.",
    }[case.status]
    noun = "Objection" if case.kind == ProcedureCode.OBJECTION.value else "Credit repair"
    enqueue_notice(
        session,
        subject_id=case.subject_id,
        kind=f"{case.kind}_{case.status}",
        title=f"{noun} {case.id} {case.status}",
        body=f"{body} Reasons: {case.reasons}",
        reference=f"case:{case.id}",
    )


def overdue_cases(session: Session, today: date) -> list[dict[str, Any]]:
    """Open cases past their decision deadline, the longest overdue first (for the operator
    dashboard and ``xinyong rights overdue``)."""
    cases: Sequence[RightsCase] = list(
        session.scalars(
            select(RightsCase)
            .where(RightsCase.status == OPEN, RightsCase.due_on < today)
            .order_by(RightsCase.due_on, RightsCase.id)
        )
    )
    return [
        {
            "id": case.id,
            "kind": case.kind,
            "record": case.document_key,
            "authority": case.authority,
            "received_on": case.received_on,
            "due_on": case.due_on,
            "limit_on": case.limit_on,
            "working_days_overdue": working_days_between(case.due_on, today),
            "beyond_limit": today > case.limit_on,
        }
        for case in cases
    ]
