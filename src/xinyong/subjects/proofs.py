"""The proofs in a subject's file: each record event and each staff read carries the bundle that
proves it is on the ledger, opened in full for those who may read the file (the subject, staff
with a logged purpose), so that it checks offline with ``xinyong ledger verify-proof``.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.audit.history import KIND as ACCESS_KIND
from xinyong.audit.models import AccessLogRow
from xinyong.ledger.bundle import inclusion_bundles
from xinyong.ledger.checkpoint import signing_verifier
from xinyong.ledger.models import LedgerLeaf
from xinyong.records.history import KIND_PREFIX as RECORD_KINDS
from xinyong.records.models import Record, RecordEvent


def _proved_items(file: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every part of ``file`` that names a ledger leaf: record events, staff reads."""
    for record in file["records"]:
        for version in record["versions"]:
            yield from version["events"]
    yield from file.get("accesses", [])


def attach_proofs(session: Session, file: dict[str, Any], key_path: Path, interval: float) -> None:
    """Put in ``file``, under ``proof``, each event's fully opened inclusion bundle (or when it
    will be provable, for an event newer than the latest checkpoint; None without a ledger key)."""
    items = [item for item in _proved_items(file) if item.get("ledger_leaf") is not None]
    key = signing_verifier(key_path)
    proofs = (
        {}
        if key is None or not items
        else inclusion_bundles(
            session, key, {item["ledger_leaf"]: None for item in items}, interval=interval
        )
    )
    for item in items:
        proof = proofs.get(item["ledger_leaf"])
        item["proof"] = None if proof is None else proof.model_dump()


def _leaf(session: Session, event: int) -> tuple[str, str] | None:
    row = session.execute(
        select(LedgerLeaf.kind, LedgerLeaf.ref).where(LedgerLeaf.leaf_index == event)
    ).one_or_none()
    return None if row is None else (row.kind, row.ref)


def logged_record(session: Session, event: int) -> int | None:
    """The record version whose event ``event`` is (found by keys: the ledger names the event)."""
    leaf = _leaf(session, event)
    if leaf is None or not leaf[0].startswith(RECORD_KINDS):
        return None
    ref = leaf[1]
    if not (ref.isascii() and ref.isdigit()):
        return None
    return session.scalar(
        select(RecordEvent.record_id).where(
            RecordEvent.id == int(ref), RecordEvent.ledger_leaf == event
        )
    )


def event_subject(session: Session, event: int) -> int | None:
    """The subject a ledger event is about (a record event or a staff read), found by keys."""
    record = logged_record(session, event)
    if record is not None:
        return session.scalar(select(Record.subject_id).where(Record.id == record))
    leaf = _leaf(session, event)
    if leaf is None:
        return None
    kind, ref = leaf
    if kind == ACCESS_KIND:
        return session.scalar(
            select(AccessLogRow.subject_id).where(
                AccessLogRow.ref == ref, AccessLogRow.ledger_leaf == event
            )
        )
    return None
