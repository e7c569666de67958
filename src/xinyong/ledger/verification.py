"""Recompute the ledger from the store and hold it to every signed checkpoint.

Three layers of evidence are compared, each against the one it was built from:

1. every event's content as the store holds it now (rebuilt from its source, or the payload the
   ledger kept), committed under its salt, against the leaf hash logged when it was appended;
2. the logged leaf hashes (the entries of the level-0 tiles) against the stored subtree hashes
   above them (the entries of the higher tiles);
3. the tree those leaf hashes make against the root of every checkpoint whose signature holds.

A divergence is reported where it starts, not everywhere it spreads: an edited, deleted or
moved event names its leaf; a rewritten subtree hash names the leaves under it; a history
rewritten wholesale (events and hashes alike) shows as the first checkpoint whose signed root no
longer matches, narrowed to the events since the last checkpoint that still holds.

An event erased at the end of its retention has no salt left to open it with: it is counted as
erased, and its logged leaf hash still holds the tree. A salt gone without a logged erasure is a
divergence.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.ledger import tiles
from xinyong.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    RetiredKey,
    VerifierKey,
    open_checkpoint,
)
from xinyong.ledger.commitment import leaf_of
from xinyong.ledger.erasure import erased_events
from xinyong.ledger.events import EventError
from xinyong.ledger.merkle import CompactRange, Subtree
from xinyong.ledger.models import LedgerCheckpoint, LedgerLeaf
from xinyong.ledger.service import ledger_size
from xinyong.ledger.sources import source, source_prefix

CHUNK = 1 << 14


@dataclass(frozen=True)
class Divergence:
    """Where the store stops agreeing with what was logged and signed."""

    position: int  # the first leaf concerned; divergences are ordered by it
    reason: str
    leaf_index: int | None = None
    kind: str | None = None
    ref: str | None = None
    checkpoint_id: int | None = None

    def describe(self) -> str:
        if self.leaf_index is None:
            return self.reason
        event = f"event {self.leaf_index}"
        if self.kind is not None:
            event += f" ({self.kind} {self.ref})"
        return f"{event}: {self.reason}"


@dataclass(frozen=True)
class VerifyReport:
    tree_size: int
    checkpoints: int
    divergences: list[Divergence]  # the earliest ones, at most the limit asked for
    total_divergences: int
    erased: int = 0  # events erased by a logged erasure: their leaf hashes hold, unopened
    # How many of the checkpoints that held each key signed (by the key's text).
    signed_by: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.total_divergences == 0

    @property
    def first(self) -> Divergence | None:
        return self.divergences[0] if self.divergences else None


@dataclass
class _Findings:
    limit: int
    items: list[Divergence] = field(default_factory=list)
    total: int = 0

    def add(self, divergence: Divergence) -> None:
        self.total += 1
        self.items.append(divergence)
        if len(self.items) > 2 * self.limit:
            self.items = self.earliest()

    def earliest(self) -> list[Divergence]:
        return sorted(self.items, key=lambda item: item.position)[: self.limit]


class _Event(NamedTuple):
    leaf_index: int
    kind: str
    ref: str
    payload: bytes | None
    salt: bytes | None


class _Stop(Exception):
    """Neither an event nor its logged hash remains: the tree cannot be rebuilt past it."""


class _Audit:
    def __init__(
        self,
        session: Session,
        key: VerifierKey,
        retired: Sequence[RetiredKey],
        findings: _Findings,
    ) -> None:
        self.session = session
        self.key = key
        self.retired = retired
        self.signed_by: dict[str, int] = defaultdict(int)
        self.findings = findings
        self.erased = erased_events(session)
        self.erased_seen = 0
        self.tree = CompactRange()
        # Subtrees whose stored hash differs from the recomputed one; a mismatch above a
        # mismatch is its consequence, not a second divergence.
        self.mismatched: set[tuple[int, int]] = set()
        self.checkpoints = 0
        self.last_good_size = 0
        self.subtree_divergence_since_good = False
        self.history_diverged = False

    def found(self, position: int, reason: str, **where: Any) -> None:
        self.findings.add(Divergence(position, reason, **where))

    def chunk(self, start: int, end: int) -> None:
        rows = {
            row[0]: _Event(*row)
            for row in self.session.execute(
                select(
                    LedgerLeaf.leaf_index,
                    LedgerLeaf.kind,
                    LedgerLeaf.ref,
                    LedgerLeaf.payload,
                    LedgerLeaf.salt,
                ).where(LedgerLeaf.leaf_index >= start, LedgerLeaf.leaf_index < end)
            )
        }
        stored = self.stored_nodes(start, end)
        content = self.content_hashes(list(rows.values()))
        signed = self.signed_checkpoints(start, end)
        pending: list[bytes] = []
        for index in range(start, end):
            row = rows.get(index)
            logged = stored.get((0, index))
            now = content.get(index)
            if row is None:
                self.found(
                    index, "is missing from the ledger: the event was deleted", leaf_index=index
                )
            if logged is None:
                self.found(index, "its logged leaf hash was deleted", leaf_index=index)
                self.mismatched.add((0, index))
                if now is None:
                    raise _Stop(index)
                logged = now
            elif row is not None and now is not None and now != logged:
                self.found(index, _changed(row.kind), leaf_index=index, kind=row.kind, ref=row.ref)
            pending.append(logged)
            if signed and signed[0][0] == index + 1:
                self.grow(pending, stored)
                pending = []
                while signed and signed[0][0] == index + 1:
                    self.check_root(*signed.pop(0))
        self.grow(pending, stored)

    def stored_nodes(self, start: int, end: int) -> dict[Subtree, bytes]:
        """The stored hashes of the subtrees that leaves [start, end) complete, by subtree: the
        entries of the tiles that hold them (a few tiles per level)."""
        wanted: dict[Subtree, tuple[tiles.TileKey, int]] = {}
        level = 0
        while 1 << level <= end:
            # Subtree (level, index) completes with leaf (index + 1) * 2**level - 1.
            first = ((start + (1 << level)) >> level) - 1
            for index in range(first, end >> level):
                wanted[(level, index)] = tiles.entry_of(level, index)
            level += tiles.HEIGHT
        found = tiles.read(self.session, {key for key, _ in wanted.values()})
        return {
            subtree: digest
            for subtree, (key, offset) in wanted.items()
            if (digest := tiles.entry(found.get(key), offset)) is not None
        }

    def content_hashes(self, rows: Sequence[_Event]) -> dict[int, bytes]:
        hashes: dict[int, bytes] = {}
        sourced: dict[str, list[_Event]] = defaultdict(list)
        for row in rows:
            if row.salt is None:
                self.unsalted(row)
                continue
            prefix = source_prefix(row.kind)
            if prefix is not None:
                sourced[prefix].append(row)
            elif row.payload is not None:
                self.hash_content(hashes, row, row.payload)
            else:
                self.found(
                    row.leaf_index,
                    f"its payload is not in the ledger and no source rebuilds {row.kind!r}",
                    leaf_index=row.leaf_index, kind=row.kind, ref=row.ref,
                )  # fmt: skip
        for prefix, group in sourced.items():
            payloads = source(prefix)(self.session, [row.ref for row in group])
            for row in group:
                payload = payloads.get(row.ref)
                if payload is None:
                    self.found(
                        row.leaf_index, "its source row is gone: deleted from the store",
                        leaf_index=row.leaf_index, kind=row.kind, ref=row.ref,
                    )  # fmt: skip
                else:
                    self.hash_content(hashes, row, payload)
        return hashes

    def unsalted(self, row: _Event) -> None:
        if row.leaf_index in self.erased:
            self.erased_seen += 1
            return
        self.found(
            row.leaf_index,
            "has no salt: it was logged under the first scheme (run `xinyong ledger migrate`), "
            "or its salt was deleted without a logged erasure",
            leaf_index=row.leaf_index, kind=row.kind, ref=row.ref,
        )  # fmt: skip

    def hash_content(self, hashes: dict[int, bytes], row: _Event, payload: bytes) -> None:
        assert row.salt is not None
        try:
            hashes[row.leaf_index] = leaf_of(row.salt, row.kind, row.ref, payload)
        except EventError as error:
            self.found(
                row.leaf_index, str(error), leaf_index=row.leaf_index, kind=row.kind, ref=row.ref
            )

    def signed_checkpoints(self, after: int, upto: int) -> list[tuple[int, bytes, int]]:
        """(size, signed root, id) of the checkpoints sized in (after, upto] that verify."""
        rows = self.session.scalars(
            select(LedgerCheckpoint)
            .where(LedgerCheckpoint.tree_size > after, LedgerCheckpoint.tree_size <= upto)
            .order_by(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)
        )
        return [item for row in rows if (item := self.open(row)) is not None]

    def empty_tree(self) -> None:
        for size, root, checkpoint_id in self.signed_checkpoints(-1, 0):
            self.check_root(size, root, checkpoint_id)

    def beyond(self, size: int) -> None:
        rows = self.session.scalars(
            select(LedgerCheckpoint)
            .where(LedgerCheckpoint.tree_size > size)
            .order_by(LedgerCheckpoint.tree_size)
        )
        for row in rows:
            self.checkpoints += 1
            self.found(
                size,
                f"checkpoint #{row.id} vouches for {row.tree_size} events but the ledger holds "
                f"{size}: events {size}..{row.tree_size - 1} were deleted",
                checkpoint_id=row.id,
            )

    def open(self, row: LedgerCheckpoint) -> tuple[int, bytes, int] | None:
        self.checkpoints += 1
        found = self._opened(row.note)
        if isinstance(found, str):
            self.found(
                row.tree_size,
                f"checkpoint #{row.id} (size {row.tree_size}): {found}",
                checkpoint_id=row.id,
            )
            return None
        opened, signer = found
        if (opened.origin, opened.tree_size, opened.root_hash) != (
            row.origin,
            row.tree_size,
            row.root_hash,
        ):
            self.found(
                row.tree_size,
                f"checkpoint #{row.id}: its size or root columns disagree with its signed note",
                checkpoint_id=row.id,
            )
            return None
        self.signed_by[signer] += 1
        return opened.tree_size, opened.root_hash, row.id

    def _opened(self, note: str) -> tuple[Checkpoint, str] | str:
        """The checkpoint ``note`` signs and the key that vouches for it: the current key, or
        a retired one for a checkpoint no larger than the ledger was when it was retired; else
        why not."""
        try:
            return open_checkpoint(note, self.key), self.key.encode()
        except CheckpointError as error:
            refusal = str(error)
        for retired in self.retired:
            try:
                opened = open_checkpoint(note, retired.key)
            except CheckpointError:
                continue
            if opened.tree_size <= retired.last_size:
                return opened, retired.key.encode()
            refusal = (
                f"signed by the key {retired.key.encode()}, which was retired when the ledger "
                f"held {retired.last_size} events: it vouches for nothing after"
            )
        return refusal

    def grow(self, leaf_hashes: list[bytes], stored: dict[Subtree, bytes]) -> None:
        for level, index, digest in self.tree.extend(leaf_hashes):
            if level == 0:
                continue
            if not tiles.stored(level):
                if {(level - 1, 2 * index), (level - 1, 2 * index + 1)} & self.mismatched:
                    self.mismatched.add((level, index))  # carries the mismatch up
                continue
            kept = stored.get((level, index))
            if kept == digest:
                continue
            self.mismatched.add((level, index))
            if {(level - 1, 2 * index), (level - 1, 2 * index + 1)} & self.mismatched:
                continue
            low, high = index << level, ((index + 1) << level) - 1
            state = "is missing" if kept is None else "does not match the leaf hashes below it"
            self.found(low, f"the stored hash over events {low}..{high} (level {level}) {state}")
            self.subtree_divergence_since_good = True

    def check_root(self, size: int, root: bytes, checkpoint_id: int) -> None:
        if self.history_diverged:
            return  # every later root is built on the same diverged prefix
        if self.tree.root() == root:
            self.last_good_size = size
            self.subtree_divergence_since_good = False
            return
        self.history_diverged = True
        if self.subtree_divergence_since_good:
            return  # already explained by the subtree divergence found since the last good root
        self.found(
            self.last_good_size,
            f"checkpoint #{checkpoint_id} (size {size}) signed a different history: "
            f"events {self.last_good_size}..{size - 1} were rewritten, hashes and all",
            checkpoint_id=checkpoint_id,
        )


def _changed(kind: str) -> str:
    what = "the store's copy" if source_prefix(kind) is not None else "it"
    return f"changed or moved after it was logged: {what} no longer hashes to the leaf logged here"


def verify(
    session: Session,
    key: VerifierKey,
    *,
    retired: Sequence[RetiredKey] = (),
    progress: Callable[[int], None] | None = None,
    limit: int = 100,
) -> VerifyReport:
    """Check the whole ledger against the store and against every checkpoint signed by ``key``
    or, up to the size it was retired at, by one of the ``retired`` keys it replaced.

    ``progress`` is told how many more leaves were checked after each chunk; the report keeps the
    ``limit`` earliest divergences and counts them all.
    """
    findings = _Findings(limit)
    audit = _Audit(session, key, retired, findings)
    head = ledger_size(session)
    last_leaf = session.scalar(select(func.max(LedgerLeaf.leaf_index)))
    size = head if last_leaf is None else max(head, last_leaf + 1)
    if head < size:
        audit.found(
            head,
            f"events {head}..{size - 1} lie beyond the ledger's head: they were not appended",
        )
    checked = 0
    try:
        audit.empty_tree()
        for start in range(0, size, CHUNK):
            end = min(start + CHUNK, size)
            audit.chunk(start, end)
            checked = end
            if progress is not None:
                progress(end - start)
    except _Stop as stop:
        (index,) = stop.args
        audit.found(
            index, f"verification stopped at event {index}: neither the event nor its hash remains"
        )
    else:
        audit.beyond(size)
    return VerifyReport(
        checked,
        audit.checkpoints,
        findings.earliest(),
        findings.total,
        audit.erased_seen,
        dict(audit.signed_by),
    )
