"""Credit repair (信用修复): eligibility, the application, and what a grant changes.

Eligibility follows the 2026 NDRC repair rules: the minimum publicity period of the record's
grade has passed (counted from the decision date); the obligations are performed; the applicant
signs a credit commitment; and the pack does not mark the record type unrepairable. Where a
list's removal rule names the record that proves performance (``court.obligation_performed``),
that record must exist; otherwise the applicant declares it. No fee is asked, ever.

A grant ends the record's publicity: its head becomes ``repaired``, a ``repaired`` event goes
on the ledger, and the change is announced (``records_changed``), on which the subject's entries
and measures are refreshed at once, so the record no longer grounds any entry or measure from
the day of the grant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_day
from xinyong.policy import Pack, Polarity, Severity
from xinyong.policy.lists import RemovalRule
from xinyong.policy.rights import ProcedureCode
from xinyong.records.changes import RecordsChanged, records_changed
from xinyong.records.facts import add_months
from xinyong.records.models import Record, RecordEvent, RecordHead, of_types
from xinyong.rights.cases import (
    OPEN,
    CaseRefused,
    CurrentRecord,
    attach_evidence,
    current_record,
    deadlines,
    evidence_of,
    open_case,
    procedure,
)
from xinyong.rights.events import REPAIRED, append_record_event
from xinyong.rights.evidence import MAX_FILES, Evidence, EvidenceRefused, check_evidence
from xinyong.rights.models import RightsCase
from xinyong.rights.notices import REPAIR_GRANTED, enqueue_notice

MAX_TEXT = 10_000


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of repair: met, not met, or (``None``) to be given with the application."""

    code: str
    met: bool | None
    detail: str


@dataclass(slots=True)
class Eligibility:
    record: str
    record_id: int
    record_type: str
    severity: str
    possible_from: date | None
    """The first day an application can be made (the minimum period's end)."""
    decide_within: int
    close_within: int
    conditions: list[Condition] = field(default_factory=list)
    obligation_record_id: int | None = None
    ending: Ending | None = None
    """Records credit repair cannot end: how they do end."""

    @property
    def eligible(self) -> bool:
        return all(condition.met is not False for condition in self.conditions)

    def unmet(self) -> list[Condition]:
        return [condition for condition in self.conditions if condition.met is False]


def eligibility(
    session: Session, pack: Pack, subject_id: int, reference: str, today: date
) -> Eligibility:
    """Whether the subject may apply to repair the record today, condition by condition."""
    rules = procedure(pack, ProcedureCode.REPAIR)
    current = current_record(session, subject_id, reference)
    record = current.record
    if record.record_type not in pack.record_types:
        raise CaseRefused(
            409, f"policy pack {pack.name} no longer has record type {record.record_type}"
        )
    record_type = pack.record_type(record.record_type)
    period = record_type.severities.get(Severity(record.severity))
    possible_from = None if period is None else add_months(record.decided_on, period.min_months)
    result = Eligibility(
        record.document_key,
        record.id,
        record.record_type,
        record.severity,
        possible_from,
        rules.decide_within,
        rules.close_within,
    )
    result.conditions.append(_repairable(pack, current, rules.unrepairable))
    if not repairable_type(pack, record.record_type):
        result.ending = ending(pack, record.record_type)
    result.conditions.append(
        Condition(
            "minimum_period",
            possible_from is not None and today >= possible_from,
            f"the minimum publicity period of a {record.severity} {record.record_type} record "
            f"ends on {possible_from}"
            if period is not None
            else "the catalogue sets no period for this grade",
        )
    )
    removals = _removal_rules(pack, record.record_type)
    if removals:
        proof = _performance_record(session, record, removals, today)
        result.obligation_record_id = proof
        result.conditions.append(
            Condition(
                "obligations_performed",
                proof is not None,
                f"record {proof} shows the obligation performed"
                if proof is not None
                else "no record yet shows the obligation performed ("
                + ", ".join(sorted({t for rule in removals for t in rule.record_types}))
                + ")",
            )
        )
    else:
        result.conditions.append(
            Condition(
                "obligations_performed",
                None,
                "declare with the application that every obligation of the decision is performed",
            )
        )
    result.conditions.append(
        Condition(
            "credit_commitment",
            None,
            "sign a credit commitment with the application: the materials are true, and you "
            "accept the consequences if they are not",
        )
    )
    return result


@dataclass(frozen=True, slots=True)
class Ending:
    """How a record that credit repair cannot end does end, as the pack says: by a record of
    its own authority of one of ``record_types``, given in one of ``ways`` (that record's
    ``how`` field: performance, a performed settlement, the court's revocation ...)."""

    record_types: tuple[str, ...]
    ways: tuple[str, ...]


def repairable_type(pack: Pack, record_type: str) -> bool:
    """Whether credit repair can end records of this type at all (the catalogue's
    ``repairable`` and the repair procedure's ``unrepairable``)."""
    found = pack.record_types.get(record_type)
    rules = pack.rights.get(ProcedureCode.REPAIR.value)
    return (
        found is not None
        and found.polarity is Polarity.NEGATIVE
        and found.repairable
        and (rules is None or record_type not in rules.unrepairable)
    )


def ending(pack: Pack, record_type: str) -> Ending:
    """The records that end records of ``record_type`` (the catalogue's ``ends`` and the
    removal rules of the lists it enters) and the ways they record."""
    enders = {code for code, other in pack.record_types.items() if record_type in other.ends} | {
        code for rule in _removal_rules(pack, record_type) for code in rule.record_types
    }
    ways: list[str] = []
    for code in sorted(enders):
        how = pack.record_type(code).fields.get("properties")
        found = how.get("how") if isinstance(how, dict) else None
        values = found.get("enum") if isinstance(found, dict) else None
        if isinstance(values, list):
            ways.extend(str(value) for value in values if str(value) not in ways)
    return Ending(tuple(sorted(enders)), tuple(ways))


def _repairable(pack: Pack, current: CurrentRecord, unrepairable: tuple[str, ...]) -> Condition:
    record = current.record
    if current.status != "active":
        return Condition("repairable", False, f"the record is {current.status}")
    if pack.record_type(record.record_type).polarity is not Polarity.NEGATIVE:
        return Condition("repairable", False, "only negative records are repaired")
    if record.record_type in unrepairable:
        return Condition(
            "repairable",
            False,
            f"policy pack {pack.name} marks {record.record_type} records as not repairable",
        )
    return Condition("repairable", True, "the record type can be repaired")


def _removal_rules(pack: Pack, record_type: str) -> list[RemovalRule]:
    return [
        credit_list.removal
        for credit_list in pack.lists.values()
        if credit_list.removal is not None
        and any(rule.record_type == record_type for rule in credit_list.entry)
    ]


def _performance_record(
    session: Session, record: Record, removals: list[RemovalRule], today: date
) -> int | None:
    """A standing record of the subject that performs the obligation, as a removal rule says."""
    types = sorted({code for rule in removals for code in rule.record_types})
    candidates = session.scalars(
        select(Record)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(
            Record.subject_id == record.subject_id,
            RecordHead.status == "active",
            of_types(types),
            Record.effective_on <= today,
            Record.effective_on >= record.effective_on,
        )
        .order_by(Record.effective_on, Record.id)
    )
    for candidate in candidates:
        for rule in removals:
            if candidate.record_type in rule.record_types and all(
                candidate.fields.get(name) == record.fields.get(name) for name in rule.same_fields
            ):
                return candidate.id
    return None


def apply_for_repair(
    session: Session,
    pack: Pack,
    *,
    subject_id: int,
    account_id: int,
    record: str,
    statement: str,
    obligations_performed: bool,
    commitment_signed: bool,
    commitment: str,
    now: datetime,
    evidence: Sequence[Evidence] = (),
    var_dir: Path | None = None,
) -> RightsCase:
    """Open a repair case with its evidence files (checked, stored under ``var_dir``, as an
    objection's), or refuse with the reason (and the date, when it is too early)."""
    today = china_day(now)
    found = eligibility(session, pack, subject_id, record, today)
    for condition in found.unmet():
        if condition.code == "minimum_period" and found.possible_from is not None:
            raise CaseRefused(
                409,
                f"too early: repair of this record becomes possible on {found.possible_from} "
                f"({condition.detail})",
            )
        raise CaseRefused(422, f"{condition.code}: {condition.detail}")
    if found.obligation_record_id is None and not obligations_performed:
        raise CaseRefused(
            422, "obligations_performed: declare that every obligation of the decision is performed"
        )
    if not commitment_signed or not commitment.strip():
        raise CaseRefused(
            422, "commitment: sign the credit commitment (commitment_signed and its text)"
        )
    if len(commitment) > MAX_TEXT or len(statement) > MAX_TEXT:
        raise CaseRefused(422, f"statement and commitment: at most {MAX_TEXT} characters each")
    already = open_case(session, ProcedureCode.REPAIR.value, found.record)
    if already is not None:
        raise CaseRefused(409, f"a repair application for this record is open: case {already}")
    due = deadlines(procedure(pack, ProcedureCode.REPAIR), today)
    current = session.get_one(Record, found.record_id)
    case = RightsCase(
        kind=ProcedureCode.REPAIR.value,
        subject_id=subject_id,
        account_id=account_id,
        document_key=found.record,
        record_id=found.record_id,
        authority=current.authority,
        grounds=statement.strip(),
        obligations_declared=found.obligation_record_id is None and obligations_performed,
        obligation_record_id=found.obligation_record_id,
        commitment=commitment.strip(),
        status=OPEN,
        received_at=now,
        received_on=today,
        due_on=due.due_on,
        limit_on=due.limit_on,
        withdraw=False,
    )
    session.add(case)
    session.flush()
    if evidence:
        if var_dir is None:
            raise ValueError("evidence files need the var folder to be stored in")
        attach_evidence(session, var_dir, case.id, evidence)
    return case


def add_evidence(
    factory: sessionmaker[Session],
    *,
    subject_id: int,
    case_id: int,
    files: Sequence[tuple[str, bytes]],
    var_dir: Path,
) -> None:
    """Add files to the subject's own open repair application, after those it has (at most
    ``MAX_FILES`` in all). Another subject's case is answered as one that does not exist."""
    evidence = check_evidence(list(files))
    with factory.begin() as session:
        case = session.execute(
            select(RightsCase).where(RightsCase.id == case_id).with_for_update()
        ).scalar_one_or_none()
        if case is None or case.subject_id != subject_id or case.kind != "repair":
            raise CaseRefused(404, f"no repair application {case_id} of yours")
        if case.status != OPEN:
            raise CaseRefused(409, f"repair application {case_id} was decided ({case.status})")
        held = evidence_of(session, [case_id])[case_id]
        if len(held) + len(evidence) > MAX_FILES:
            raise EvidenceRefused(
                422,
                f"at most {MAX_FILES} evidence files a case: {len(held)} held, "
                f"{len(evidence)} sent",
            )
        attach_evidence(session, var_dir, case_id, evidence, first=len(held) + 1)


def end_publicity(
    session: Session, pack: Pack, document_key: str, now: datetime
) -> RecordEvent | str:
    """End a record's publicity and every consequence it grounds, from today: the
    ``repaired`` event; or, for a record that is not active, its status (nothing changes).

    A repair granted here, or at another node of the network (its decision arrives by batch)."""
    head = session.execute(
        select(RecordHead).where(RecordHead.document_key == document_key).with_for_update()
    ).scalar_one()
    if head.status != "active":
        return head.status
    head.status = REPAIRED
    event = append_record_event(session, head.record_id, REPAIRED, now)
    session.flush()
    records_changed.send(RecordsChanged(session, pack, {head.subject_id}, china_day(now)))
    return event


def grant_repair(session: Session, pack: Pack, case: RightsCase, now: datetime) -> None:
    """End the record's publicity and every consequence it grounds, from today."""
    ended = end_publicity(session, pack, case.document_key, now)
    if isinstance(ended, str):
        raise CaseRefused(409, f"the record is {ended}; it cannot be repaired now")
    enqueue_notice(
        session,
        subject_id=case.subject_id,
        kind=REPAIR_GRANTED,
        title=f"Credit repair {case.id} granted",
        body=(
            f"Your application to repair record {case.document_key} was granted on "
            f"{china_day(now)}. The record is no longer published and no longer grounds any "
            "list entry or measure."
        ),
        reference=f"case:{case.id}",
    )
