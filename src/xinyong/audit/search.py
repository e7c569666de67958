"""What the auditor's console reads: the access log and the check log searched by subject,
staff member, relying party and period, page by page; the ledger's state; and the log of the
auditors' own searches.

Every search and export is itself logged (``audit_searches``, and a leaf of kind
``audit.search`` on the ledger, whose payload the ledger keeps), in the same transaction as the
read, so no auditor reads the logs unseen.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from xinyong.audit.models import AccessLogRow, AuditSearch
from xinyong.audit.service import Reader
from xinyong.clock import as_utc, china_midnight, utc_now
from xinyong.enforcement.models import CheckLogRow, checks_about
from xinyong.ledger import LeafInput, append
from xinyong.ledger.checkpoint import Checkpoint, CheckpointError, VerifierKey, open_checkpoint
from xinyong.ledger.merkle import ProofError, verify_consistency
from xinyong.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerWitnessAlarm
from xinyong.ledger.service import consistency_proof, latest_checkpoint, tree_head
from xinyong.records.models import Subject
from xinyong.tracing import REQUEST_ID

PAGE_SIZE = 50
KIND = "audit.search"
STAFF_READS = "staff"
CHECKS = "checks"
MAX_TEXT = 100


class SearchRefused(ValueError):
    """Criteria that cannot be searched, with what to correct."""


@dataclass(frozen=True, slots=True)
class Criteria:
    """What an auditor asks of the logs: staff reads or checks, narrowed by subject (its
    identifier), staff member (username), relying party (key id or label) and China's days."""

    kind: str = STAFF_READS
    subject: str = ""
    staff: str = ""
    relying_party: str = ""
    first: date | None = None
    last: date | None = None
    page: int = 1

    def __post_init__(self) -> None:
        if self.kind not in (STAFF_READS, CHECKS):
            raise SearchRefused(f"kind: {STAFF_READS} or {CHECKS}, not {self.kind!r}")
        for name in ("subject", "staff", "relying_party"):
            value = getattr(self, name)
            if len(value) > MAX_TEXT or any(ord(char) < 0x20 for char in value):
                raise SearchRefused(f"{name}: at most {MAX_TEXT} characters of text")
        if any(day is not None and not 2000 <= day.year <= 2100 for day in (self.first, self.last)):
            raise SearchRefused("the period: days from 2000 to 2100")
        if self.first and self.last and self.last < self.first:
            raise SearchRefused(f"the period ends ({self.last}) before it starts ({self.first})")
        if not 1 <= self.page <= 1_000_000:
            raise SearchRefused("page: from 1 to 1,000,000")

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["first"] = None if self.first is None else self.first.isoformat()
        found["last"] = None if self.last is None else self.last.isoformat()
        return found


def _window(criteria: Criteria) -> tuple[datetime | None, datetime | None]:
    """The instants [start, end) of the criteria's China days; None where a side is open."""
    first, last = criteria.first, criteria.last
    return (
        None if first is None else china_midnight(first),
        None if last is None else china_midnight(last + timedelta(days=1)),
    )


def _staff_reads(criteria: Criteria) -> Select[AccessLogRow, str]:
    start, end = _window(criteria)
    query = select(AccessLogRow, Subject.identifier).join(
        Subject, Subject.id == AccessLogRow.subject_id
    )
    if criteria.subject:
        query = query.where(Subject.identifier == criteria.subject.strip().upper())
    if criteria.staff:
        query = query.where(AccessLogRow.username == criteria.staff.strip())
    if criteria.relying_party:
        query = query.where(AccessLogRow.id.is_(None))  # staff reads have no relying party
    if start is not None:
        query = query.where(AccessLogRow.accessed_at >= start)
    if end is not None:
        query = query.where(AccessLogRow.accessed_at < end)
    return query


def _checks(criteria: Criteria) -> Select[CheckLogRow]:
    start, end = _window(criteria)
    query = (
        checks_about(criteria.subject.strip().upper()) if criteria.subject else select(CheckLogRow)
    )
    if criteria.staff:
        query = query.where(CheckLogRow.id.is_(None))  # checks are asked by relying parties
    if criteria.relying_party:
        asker = criteria.relying_party.strip()
        query = query.where(
            or_(CheckLogRow.relying_party == asker, CheckLogRow.relying_party_label == asker)
        )
    if start is not None:
        query = query.where(CheckLogRow.checked_at >= start)
    if end is not None:
        query = query.where(CheckLogRow.checked_at < end)
    return query


def search(session: Session, criteria: Criteria) -> dict[str, Any]:
    """One page of what the criteria find, newest first, with the total and the page count."""
    offset = (criteria.page - 1) * PAGE_SIZE
    rows: list[dict[str, Any]]
    if criteria.kind == STAFF_READS:
        reads = _staff_reads(criteria)
        total = _count(session, reads)
        rows = [
            _staff_read(row, identifier)
            for row, identifier in session.execute(
                reads.order_by(AccessLogRow.accessed_at.desc(), AccessLogRow.id.desc())
                .offset(offset)
                .limit(PAGE_SIZE)
            )
        ]
    else:
        checks = _checks(criteria)
        total = _count(session, checks)
        rows = [
            _check(row)
            for row in session.scalars(
                checks.order_by(CheckLogRow.checked_at.desc(), CheckLogRow.id.desc())
                .offset(offset)
                .limit(PAGE_SIZE)
            )
        ]
    return {
        "page": criteria.page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "total": total,
        "rows": rows,
    }


def _count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _staff_read(row: AccessLogRow, identifier: str) -> dict[str, Any]:
    return {
        "at": as_utc(row.accessed_at),
        "subject": identifier,
        "who": row.username,
        "role": row.role,
        "authority": row.authority_code,
        "purpose": row.purpose,
        "what": row.what,
        "reference": row.ref,
        "ledger_leaf": row.ledger_leaf,
    }


def _check(row: CheckLogRow) -> dict[str, Any]:
    return {
        "at": as_utc(row.checked_at),
        "subject": row.subject,
        "who": row.relying_party,
        "who_label": row.relying_party_label,
        "purpose": row.purpose,
        "action": row.action,
        "effect": row.effect,
        "reference": row.decision_id,
    }


def log_search(
    session: Session, reader: Reader, action: str, criteria: dict[str, Any], results: int
) -> AuditSearch:
    """Keep that ``reader`` searched (or exported) the logs with ``criteria`` and saw
    ``results`` rows; in the caller's transaction, with its leaf on the ledger."""
    now = utc_now()
    entry = AuditSearch(
        searched_at=now,
        account_id=reader.account_id,
        username=reader.username,
        action=action,
        criteria=criteria,
        results=results,
        request_id=REQUEST_ID.get(),
    )
    session.add(entry)
    session.flush()
    payload = orjson.dumps(
        {
            "id": entry.id,
            "at": now.isoformat(),
            "account": reader.account_id,
            "username": reader.username,
            "action": action,
            "criteria": criteria,
            "results": results,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    [entry.ledger_leaf] = append(
        session, [LeafInput(KIND, f"{entry.id}:{secrets.token_hex(8)}", payload)]
    )
    return entry


def recent_searches(session: Session, limit: int = 20) -> list[AuditSearch]:
    """The auditors' latest searches and exports, newest first."""
    return list(session.scalars(select(AuditSearch).order_by(AuditSearch.id.desc()).limit(limit)))


def ledger_state(session: Session, key: VerifierKey | None) -> dict[str, Any]:
    """The ledger as an auditor checks it at a glance: its size, the latest checkpoint, the
    witnesses' cosignatures on it, open witness alarms, and a quick verification: the latest
    checkpoint's signature by the platform's key, and the current tree extending it. The full
    verification (every leaf and every derived table) is ``xinyong ledger verify``."""
    head = tree_head(session)
    latest = latest_checkpoint(session)
    signed_at = session.scalar(
        select(func.max(LedgerCheckpoint.signed_at)).where(
            LedgerCheckpoint.tree_size == (latest.tree_size if latest else -1)
        )
    )
    cosignatures = (
        []
        if latest is None
        else [
            {"witness": witness, "signed_at": as_utc(at)}
            for witness, at in session.execute(
                select(LedgerCosignature.witness, LedgerCosignature.signed_at)
                .where(
                    LedgerCosignature.tree_size == latest.tree_size,
                    LedgerCosignature.root_hash == latest.root_hash,
                )
                .order_by(LedgerCosignature.witness)
            )
        ]
    )
    alarms = session.scalar(select(func.count()).select_from(LedgerWitnessAlarm)) or 0
    return {
        "size": head.size,
        "root": head.root_hash.hex(),
        "checkpoint": None
        if latest is None
        else {
            "size": latest.tree_size,
            "root": latest.root_hash.hex(),
            "signed_at": None if signed_at is None else as_utc(signed_at),
            "behind": head.size - latest.tree_size,
        },
        "cosignatures": cosignatures,
        "alarms": alarms,
        "checks": _quick_checks(session, key, latest, head.size, head.root_hash),
        "checkpoints": session.scalar(select(func.count()).select_from(LedgerCheckpoint)) or 0,
    }


def _quick_checks(
    session: Session, key: VerifierKey | None, latest: Checkpoint | None, size: int, root: bytes
) -> dict[str, bool | None]:
    """``signed``: the latest checkpoint verifies against the platform's key (None: no key or
    no checkpoint); ``extends``: the tree today contains the checkpointed one."""
    if latest is None:
        return {"signed": None, "extends": None}
    signed: bool | None = None
    if key is not None:
        try:
            opened = open_checkpoint(latest.note, key)
            signed = (opened.tree_size, opened.root_hash) == (latest.tree_size, latest.root_hash)
        except CheckpointError:
            signed = False
    try:
        proof = consistency_proof(session, latest.tree_size, size)
        verify_consistency(latest.tree_size, size, latest.root_hash, root, proof)
        extends = True
    except ProofError:
        extends = False
    return {"signed": signed, "extends": extends}
