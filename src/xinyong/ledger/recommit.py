"""Moving a ledger of the first scheme (leaves hashing events in the clear) to salted commitments.

Every event keeps its position, so the store's pointers to leaves (``record_events.ledger_leaf``,
``access_log.ledger_leaf``) stay right; each event of the first scheme is committed again under
a fresh salt, from its content as the store holds it now, and every subtree hash is rebuilt.
The first log's checkpoints signed a tree that no longer exists: they are handed back to the
caller to archive and deleted, and the new log is signed under a new origin.
"""

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from xinyong.ledger import tiles
from xinyong.ledger.checkpoint import Checkpoint
from xinyong.ledger.commitment import leaf_of, new_salt
from xinyong.ledger.erasure import erased_events
from xinyong.ledger.merkle import CompactRange
from xinyong.ledger.models import LedgerCheckpoint, LedgerLeaf
from xinyong.ledger.service import LEAVES, lock_head
from xinyong.ledger.sources import source, source_prefix

CHUNK = 1 << 14  # a whole number of leaf tiles: each chunk rewrites its own


class RecommitError(RuntimeError):
    """An event of the first scheme whose content the store no longer has."""


def first_scheme_events(session: Session) -> int:
    """How many events still lack a salt without having been erased."""
    unsalted = set(session.scalars(select(LedgerLeaf.leaf_index).where(LedgerLeaf.salt.is_(None))))
    return len(unsalted - erased_events(session))


def recommit(
    session: Session, progress: Callable[[int], None] | None = None
) -> tuple[int, list[Checkpoint]]:
    """Commit every event of the first scheme again, in the caller's transaction; returns how
    many were, and the deleted checkpoints of the first log (oldest first)."""
    size = lock_head(session)
    erased = erased_events(session)
    tree = CompactRange()
    recommitted = 0
    # The tiles above the leaves are rebuilt as the leaves are; the leaves' own tiles are
    # rewritten chunk by chunk, once their logged hashes have been read.
    session.execute(delete(tiles.TILES).where(tiles.TILES.c.level > 0))
    for start in range(0, size, CHUNK):
        end = min(start + CHUNK, size)
        rows = session.execute(
            select(
                LedgerLeaf.leaf_index,
                LedgerLeaf.kind,
                LedgerLeaf.ref,
                LedgerLeaf.payload,
                LedgerLeaf.salt,
            )
            .where(LedgerLeaf.leaf_index >= start, LedgerLeaf.leaf_index < end)
            .order_by(LedgerLeaf.leaf_index)
        ).all()
        if len(rows) != end - start:
            raise RecommitError(f"events {start}..{end - 1} are not all in the ledger")
        leaf_tiles = range(start >> tiles.HEIGHT, ((end - 1) >> tiles.HEIGHT) + 1)
        stored = tiles.read(session, {(0, index) for index in leaf_tiles})
        logged: dict[int, bytes | None] = {}
        for row in rows:
            key, offset = tiles.entry_of(0, row.leaf_index)
            logged[row.leaf_index] = tiles.entry(stored.get(key), offset)
        content: dict[int, bytes | None] = {row.leaf_index: row.payload for row in rows}
        by_source: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for row in rows:
            prefix = source_prefix(row.kind)
            if row.salt is None and row.leaf_index not in erased and prefix is not None:
                by_source[prefix].append((row.leaf_index, row.ref))
        for prefix, wanted in by_source.items():
            rebuilt = source(prefix)(session, [ref for _, ref in wanted])
            content.update({index: rebuilt.get(ref) for index, ref in wanted})
        hashes: list[bytes] = []
        salts: list[dict[str, object]] = []
        for row in rows:
            kept = logged[row.leaf_index]
            if row.salt is not None or row.leaf_index in erased:
                if kept is None:
                    raise RecommitError(f"event {row.leaf_index} has lost its leaf hash")
                hashes.append(kept)
                continue
            payload = content[row.leaf_index]
            if payload is None:
                raise RecommitError(
                    f"event {row.leaf_index} ({row.kind} {row.ref}) has no content left in the "
                    "store to commit to"
                )
            salt = new_salt()
            hashes.append(leaf_of(salt, row.kind, row.ref, payload))
            salts.append({"b_index": row.leaf_index, "b_salt": salt})
        if salts:
            session.connection().execute(
                update(LEAVES)
                .where(LEAVES.c.leaf_index == bindparam("b_index"))
                .values(salt=bindparam("b_salt")),
                salts,
            )
            recommitted += len(salts)
        session.execute(
            delete(tiles.TILES).where(
                tiles.TILES.c.level == 0, tiles.TILES.c.tile_index.in_(list(leaf_tiles))
            )
        )
        tiles.write(session, start, tiles.extend(tree, hashes))
        if progress is not None:
            progress(end - start)
    retired = [
        Checkpoint(row.origin, row.tree_size, row.root_hash, row.note)
        for row in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id))
    ]
    session.execute(delete(LedgerCheckpoint))
    return recommitted, retired
