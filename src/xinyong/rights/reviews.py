"""The review queue and decisions on objections and repair applications.

Reviewers see every case; staff of a providing authority see only the cases about records their
own authority provided. An upheld objection corrects or withdraws the record through the ingest
path (the same validation, events, ledger leaves and refresh of entries and measures as an
authority's own correction), so every consequence ends at once: the entries resting on the
record end, checks answer from the refreshed measures index, and mirrors and feeds learn of it
through the index's change counter. Every decision ends the ``disputed`` mark of an objection
and tells the subject, with the reasons.

The cases of one application (records of one case, objected to together) are decided
together: a decision on one of them covers every open case of the application, or those the
reviewer names, with the same outcome and reasons. A correction changes values of one record,
so it is decided on a case of its own.
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
from xinyong.rights.cases import OPEN, CaseRefused, application_cases, case_view, evidence_of
from xinyong.rights.events import RESOLVED, append_record_event
from xinyong.rights.models import EvidenceFile, RightsCase
from xinyong.rights.notices import enqueue_notice
from xinyong.rights.repairs import grant_repair
from xinyong.signals import Signal

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
    username: str = ""

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
    together: tuple[int, ...] | None = None
    """Open cases of the same application decided with this one; ``None``: all of them."""


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


@dataclass(frozen=True, slots=True)
class EvidenceRead:
    """A reviewer opened an evidence file of a subject's case (in ``session``'s transaction):
    the access log keeps it, as every staff read of a subject's non-public data."""

    session: Session
    account_id: int
    username: str
    role: str
    authority_code: str | None
    subject_id: int
    case_id: int
    kind: str
    position: int


evidence_read: Signal[EvidenceRead] = Signal("evidence read")


def evidence_file(
    session: Session, reviewer: Reviewer, case_id: int, position: int
) -> EvidenceFile:
    """An evidence file of a case this reviewer may see; the read is announced
    (``evidence_read``), so ``session`` must be one that commits."""
    case = visible_case(session, reviewer, case_id)
    found = session.scalar(
        select(EvidenceFile).where(
            EvidenceFile.case_id == case_id, EvidenceFile.position == position
        )
    )
    if found is None:
        raise CaseRefused(404, f"case {case_id} has no evidence file {position}")
    evidence_read.send(
        EvidenceRead(
            session,
            reviewer.account_id,
            reviewer.username,
            reviewer.role,
            reviewer.authority_code,
            case.subject_id,
            case_id,
            case.kind,
            position,
        )
    )
    return found


def decide(
    factory: sessionmaker[Session],
    pack: Pack,
    reviewer: Reviewer,
    case_id: int,
    decision: Decision,
    now: datetime,
) -> list[RightsCase]:
    """Decide a case (and the cases of its application decided with it): apply what the
    outcome requires, record it and tell the subject; the cases decided, ``case_id`` first."""
    with factory() as session:
        case = visible_case(session, reviewer, case_id)
        cases = _decided_together(session, case, decision.together)
        for each in cases:
            _check(each, decision)
        if decision.correction is not None and len(cases) > 1:
            raise CaseRefused(
                422,
                "a correction changes one record: decide it on its own case "
                f"(cases {', '.join(str(each.id) for each in cases)} were named together)",
            )
        kind = case.kind
        targets = [(each.id, each.record_id) for each in cases]
    results: dict[int, int | None] = {}
    if kind == ProcedureCode.OBJECTION.value and decision.outcome == "upheld":
        # The ingest job commits in its own transaction, before the decision is recorded: if
        # the process stops in between, deciding again finds the change already made.
        results = _apply_upheld(
            factory, pack, reviewer, case_id, [record_id for _, record_id in targets], decision, now
        )
    decided = []
    with factory.begin() as session:
        for target_id, record_id in targets:
            target = session.execute(
                select(RightsCase).where(RightsCase.id == target_id).with_for_update()
            ).scalar_one()
            if target.status != OPEN:
                raise CaseRefused(409, f"case {target_id} was decided already ({target.status})")
            target.status = decision.outcome
            target.decided_at = now
            target.decided_by = reviewer.account_id
            target.reasons = decision.reasons.strip()
            target.correction = decision.correction
            target.withdraw = decision.withdraw
            target.result_record_id = results.get(record_id)
            if kind == ProcedureCode.OBJECTION.value:
                append_record_event(session, record_id, RESOLVED, now)
            elif decision.outcome == "granted":
                grant_repair(session, pack, target, now)
            _notify(session, target, target.document_key, china_day(now))
            decided.append(target)
        session.flush()
        for target in decided:
            session.expunge(target)
    return decided


def _decided_together(
    session: Session, case: RightsCase, together: tuple[int, ...] | None
) -> list[RightsCase]:
    """``case`` first, then the open cases of its application decided with it."""
    others = [
        other
        for other in application_cases(session, case)
        if other.id != case.id and other.status == OPEN
    ]
    if together is None:
        return [case, *others]
    open_ids = {other.id for other in others}
    stray = sorted(set(together) - open_ids - {case.id})
    if stray:
        raise CaseRefused(
            422,
            f"together: case{'s' if len(stray) > 1 else ''} {', '.join(map(str, stray))} "
            f"{'are' if len(stray) > 1 else 'is'} not open in the application of case {case.id}",
        )
    return [case, *(other for other in others if other.id in together)]


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
    case_id: int,
    record_ids: list[int],
    decision: Decision,
    now: datetime,
) -> dict[int, int | None]:
    """Correct or withdraw the records as their authority would, in one submission whose
    source names the case and the reviewer (the ledger's leaves point at it); each record's
    new version's id, if any."""
    with factory() as session:
        found = session.execute(
            select(Record, Subject.identifier)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.id.in_(record_ids))
        ).all()
    by_id = {record.id: (record, identifier) for record, identifier in found}
    rows = [_row(*by_id[record_id], decision) for record_id in record_ids]
    raws = [orjson.dumps(row).decode() for row in rows]
    authority = by_id[record_ids[0]][0].authority
    job = IngestJob(factory, pack, today=china_day(now), authority=authority)
    summary = job.run_rows(
        [(n, raw, row) for n, (raw, row) in enumerate(zip(raws, rows, strict=True), start=1)],
        source_name=f"objection:{case_id}:review:{reviewer.account_id}",
        digest=hashlib.sha256("\n".join(raws).encode()).hexdigest(),
        key_id=f"account:{reviewer.account_id}",
    )
    results: dict[int, int | None] = {}
    for record_id, outcome in zip(record_ids, summary.outcomes, strict=True):
        if outcome.status == "rejected":
            raise CaseRefused(422, f"the correction was refused: {outcome.field}: {outcome.reason}")
        if outcome.status == "duplicate" and not decision.withdraw:
            raise CaseRefused(422, "the correction changes nothing in the record")
        results[record_id] = outcome.record_id if decision.correction is not None else None
    return results


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
