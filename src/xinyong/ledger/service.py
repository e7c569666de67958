"""The ledger in the store: append events, sign checkpoints, answer proofs.

Everything runs inside the caller's session and transaction, so the events of an ingest batch
and its leaves commit or roll back together.
"""

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from xinyong.clock import as_utc, utc_now
from xinyong.ledger import tiles
from xinyong.ledger.bare import HEAD_ID
from xinyong.ledger.checkpoint import (
    Checkpoint,
    SigningKey,
    TreeHead,
    sign_checkpoint,
    signed_by,
)
from xinyong.ledger.commitment import new_salts, salted_leaf
from xinyong.ledger.events import LeafInput, kept_payload
from xinyong.ledger.merkle import (
    CompactRange,
    Span,
    Subtree,
    consistency_spans,
    fold,
    inclusion_spans,
    span_subtrees,
)
from xinyong.ledger.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerHead,
    LedgerLeaf,
)
from xinyong.ledger.sources import source_prefix
from xinyong.ledger.tiles import LedgerDamaged as LedgerDamaged
from xinyong.store.base import Base
from xinyong.store.bulk import BulkTable

LEAVES = Base.metadata.tables[LedgerLeaf.__tablename__]
HEAD = Base.metadata.tables[LedgerHead.__tablename__]


class NotInLedger(LookupError):
    """A tree size, event or checkpoint that the ledger does not have (yet)."""


def lock_head(session: Session) -> int:
    # A write to the head row serialises appenders and signers: a row lock on PostgreSQL, and
    # SQLite's write lock taken before anything is read (a reader that writes later could find
    # its snapshot stale and fail).
    size: int | None = session.scalar(
        update(HEAD)
        .where(HEAD.c.id == HEAD_ID)
        .values(tree_size=HEAD.c.tree_size)
        .returning(HEAD.c.tree_size)
    )
    if size is None:
        session.execute(insert(LedgerHead).values(id=HEAD_ID, tree_size=0))
        return 0
    return size


def ledger_size(session: Session) -> int:
    """How many events the ledger holds, as its head records."""
    return session.scalar(select(LedgerHead.tree_size).where(LedgerHead.id == HEAD_ID)) or 0


def subtree_hashes(session: Session, subtrees: Collection[Subtree]) -> dict[Subtree, bytes]:
    """The hashes of ``subtrees``, from the stored tiles; raises LedgerDamaged if any is missing."""
    found, missing = tiles.subtree_hashes(session, subtrees)
    if missing:
        level, index = missing[0]
        raise LedgerDamaged(
            f"the ledger has lost the hash of subtree (level {level}, index {index})"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
            + "; run `xinyong ledger verify`"
        )
    return found


def _span_hashes(session: Session, spans: Sequence[Span]) -> list[bytes]:
    pieces = [span_subtrees(span) for span in spans]
    found = subtree_hashes(session, {piece for span_pieces in pieces for piece in span_pieces})
    return [fold([found[piece] for piece in span_pieces]) for span_pieces in pieces]


def _edge(session: Session, size: int) -> CompactRange:
    edge = span_subtrees(Span(0, size))
    found = subtree_hashes(session, edge)
    return CompactRange(size, [found[subtree] for subtree in edge])


class Leaves(Protocol):
    """What ``append`` reads of the leaves it logs: how many, then each in order (a list, or
    leaves made one at a time as they are reached)."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[LeafInput]: ...


def append(session: Session, leaves: Leaves) -> list[int]:
    """Log ``leaves`` in order, in the caller's transaction; returns their 0-based leaf indices.

    Each event is committed under a fresh salt that only the store keeps. Payloads of kinds with
    a registered source are not kept: verification rebuilds them.
    """
    if not leaves:
        return []
    size = lock_head(session)
    tree = _edge(session, size)
    keeps_payload: dict[str, bool] = {}
    rows: list[tuple[object, ...]] = []
    hashes: list[bytes] = []
    for index, leaf, fresh_salt in zip(
        range(size, size + len(leaves)), leaves, new_salts(len(leaves)), strict=True
    ):
        kind = leaf.kind
        hashed, salt = salted_leaf(leaf, fresh_salt)
        hashes.append(hashed)
        keep = keeps_payload.get(kind)
        if keep is None:
            keep = keeps_payload[kind] = source_prefix(kind) is None
        rows.append((index, kind, leaf.ref, kept_payload(leaf) if keep else None, salt))
    entries = tiles.extend(tree, hashes)
    BulkTable(session.connection(), LEAVES).insert_values(rows)
    tiles.write(session, size, entries)
    session.execute(update(LedgerHead).where(LedgerHead.id == HEAD_ID).values(tree_size=tree.size))
    return list(range(size, tree.size))


def tree_head(session: Session) -> TreeHead:
    size = ledger_size(session)
    return TreeHead(size, _edge(session, size).root())


def _checkpoint(session: Session, row: LedgerCheckpoint) -> Checkpoint:
    """The checkpoint as served: its note with the witnesses' cosignatures after our signature."""
    cosigned = session.execute(
        select(LedgerCosignature.line, LedgerCosignature.key)
        .where(
            LedgerCosignature.tree_size == row.tree_size,
            LedgerCosignature.root_hash == row.root_hash,
        )
        .order_by(LedgerCosignature.id)
    ).all()
    return Checkpoint(
        row.origin,
        row.tree_size,
        row.root_hash,
        row.note + "".join(line for line, _ in cosigned),
        tuple(key for _, key in cosigned),
    )


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.scalars(
        select(LedgerCheckpoint).order_by(
            LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc()
        )
    ).first()
    return None if row is None else _checkpoint(session, row)


def checkpoint_of_size(session: Session, size: int) -> Checkpoint | None:
    row = session.scalars(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.tree_size == size)
        .order_by(LedgerCheckpoint.id.desc())
    ).first()
    return None if row is None else _checkpoint(session, row)


def checkpoint(session: Session, key: SigningKey) -> Checkpoint:
    """Sign the current head with ``key``, unless the latest checkpoint already says the same,
    signed by ``key`` (after a key is rotated, the head is signed again by the new one)."""
    lock_head(session)
    head = tree_head(session)
    latest = latest_checkpoint(session)
    if (
        latest is not None
        and latest.tree_size == head.size
        and latest.root_hash == head.root_hash
        and signed_by(latest.note, key.verifier)
    ):
        return latest
    signed = sign_checkpoint(head, key)
    session.add(
        LedgerCheckpoint(
            origin=signed.origin,
            tree_size=signed.tree_size,
            root_hash=signed.root_hash,
            note=signed.note,
            signed_at=utc_now(),
        )
    )
    session.flush()
    return signed


def checkpoint_if_due(session: Session, key: SigningKey, spacing: float) -> Checkpoint | None:
    """Sign the head unless a checkpoint was signed less than ``spacing`` seconds ago.

    Signers take the head's lock first, so however many processes tick, they sign at most one
    checkpoint per ``spacing``; returns the checkpoint signed now, or None.
    """
    lock_head(session)
    signed_at = latest_signed_at(session)
    if signed_at is not None and utc_now() - signed_at < timedelta(seconds=spacing):
        return None
    latest = latest_checkpoint(session)
    signed = checkpoint(session, key)
    return None if signed == latest else signed


def checkpoint_due(session: Session, key: SigningKey, spacing: float) -> bool:
    """Whether ``checkpoint_if_due`` would sign: the log grew since the latest checkpoint (or
    ``key`` did not sign it), signed ``spacing`` seconds ago or more.

    Only reads, without the head's lock: a signer that polls asks this first, in a transaction
    of its own, so that a log that did not grow costs it no write (on SQLite, no wait for a
    batch being written, and none for the batch behind it)."""
    latest = session.execute(
        select(LedgerCheckpoint.note, LedgerCheckpoint.tree_size, LedgerCheckpoint.signed_at)
        .order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return True
    note, size, signed_at = latest
    if utc_now() - as_utc(signed_at) < timedelta(seconds=spacing):
        return False
    return size != ledger_size(session) or not signed_by(note, key.verifier)


def latest_signed_at(session: Session) -> datetime | None:
    found = session.scalar(
        select(LedgerCheckpoint.signed_at).order_by(
            LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc()
        )
    )
    return None if found is None else as_utc(found)


@dataclass(frozen=True)
class Pending:
    """An event logged after the latest checkpoint: provable once the next one is signed."""

    event: int
    checkpoint_size: int
    retry_after: int  # seconds

    def describe(self) -> str:
        return (
            f"event {self.event} is newer than the latest checkpoint (of {self.checkpoint_size} "
            f"events): it becomes provable when the next checkpoint is signed, in about "
            f"{self.retry_after} s"
        )


def pending(session: Session, event: int, interval: float) -> Pending | None:
    """``event`` as Pending if it is logged but not yet under a checkpoint, else None.

    Checkpoints are signed every ``interval`` seconds while the service runs (and at the end of
    every job), so the next one is due ``interval`` after the latest.
    """
    latest = latest_checkpoint(session)
    covered = 0 if latest is None else latest.tree_size
    if not covered <= event < ledger_size(session):
        return None
    signed_at = latest_signed_at(session)
    elapsed = 0.0 if signed_at is None else (utc_now() - signed_at).total_seconds()
    wait = interval - elapsed if 0 <= elapsed < interval else interval
    return Pending(event, covered, max(1, math.ceil(wait)))


def _require_size(session: Session, size: int) -> None:
    stored = ledger_size(session)
    if size > stored:
        raise NotInLedger(f"the ledger has {stored} events, not {size}")


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) from stored subtrees: O(log size) reads."""
    _require_size(session, size)
    return _span_hashes(session, inclusion_spans(index, size))


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) from stored subtrees: O(log new_size) reads."""
    _require_size(session, new_size)
    return _span_hashes(session, consistency_spans(old_size, new_size))
