"""The tree's hashes stored as tiles, in the layout of C2SP ``tlog-tiles`` (as Trillian Tessera
keeps its logs), rather than one row per tree node.

A tile at level ``L`` and index ``N`` holds up to ``2**HEIGHT`` consecutive hashes of the tree's
level ``HEIGHT * L``: those of the complete subtrees over ``2**(HEIGHT * L)`` leaves each, from
subtree ``N * 2**HEIGHT`` on. Level-0 tiles hold the leaf hashes themselves. A full tile holds
256 hashes (8 KiB); the rightmost tile of each level is *partial* and grows as leaves arrive
(tlog-tiles names it ``tile/L/N.p/W``; here its row is rewritten in the appender's transaction).

Every other subtree hash is the root of at most ``2**(HEIGHT - 1)`` hashes of one tile, computed
when asked for; so a tree head or a proof reads one tile per tree level it spans, and appending
a batch of leaves rewrites one partial tile per level and adds the tiles it fills: about
``n / 255`` rows for ``n`` leaves, where a row per node made ``2 n``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xinyong.ledger.merkle import HASH_SIZE, CompactRange, Subtree, node_hash

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    TILES: Table

HEIGHT = 8
"""Tree levels per tile: a tile holds 2**HEIGHT hashes (tlog-tiles fixes it at 8). Read at call
time, so that tests can store every level (height 1) and find each hash where they expect it."""

TileKey = tuple[int, int]
"""``(tile level, tile index)``."""
Tile = tuple[int, int, bytes]
"""``(tile level, tile index, hashes)``: a row of ``ledger_tiles``."""


def __getattr__(name: str) -> Any:
    # The table is SQLAlchemy's: the tile arithmetic here serves appenders without it
    # (``xinyong.ledger.bare``), which must not import it.
    if name != "TILES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _table()


def _table() -> Table:
    from xinyong.ledger.models import LedgerTile
    from xinyong.store.base import Base

    return Base.metadata.tables[LedgerTile.__tablename__]


class LedgerDamaged(RuntimeError):
    """The stored tree lacks hashes it must have: ``xinyong ledger verify`` tells why."""


def width() -> int:
    """Hashes in a full tile."""
    return 1 << HEIGHT


def stored(level: int) -> bool:
    """Whether subtrees of ``level`` are tile entries (the others are computed from them)."""
    return level % HEIGHT == 0


def entry_of(level: int, index: int) -> tuple[TileKey, int]:
    """The tile holding the stored subtree ``(level, index)`` (``level`` a multiple of HEIGHT),
    and its place in that tile."""
    return (level // HEIGHT, index >> HEIGHT), index & (width() - 1)


def entries_under(level: int, index: int) -> tuple[TileKey, int, int]:
    """The tile and the run ``[first, first + count)`` of its entries whose root is subtree
    ``(level, index)``: ``count`` is 1 for a stored subtree, at most half a tile otherwise."""
    rest = level % HEIGHT
    first = index << rest
    key, offset = entry_of(level - rest, first)
    return key, offset, 1 << rest


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree from its 2**k hashes one level (of tiles) below."""
    layer = list(hashes)
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def read(session: Session, keys: Collection[TileKey]) -> dict[TileKey, bytes]:
    """The stored tiles among ``keys`` (a partial tile as far as it goes)."""
    from sqlalchemy import and_, or_, select

    if not keys:
        return {}
    table = _table()
    found: dict[TileKey, bytes] = {}
    by_level: dict[int, list[int]] = defaultdict(list)
    for level, index in keys:
        by_level[level].append(index)
    condition = or_(
        *(
            and_(table.c.level == level, table.c.tile_index.in_(indices))
            for level, indices in by_level.items()
        )
    )
    for level, index, hashes in session.execute(
        select(table.c.level, table.c.tile_index, table.c.hashes).where(condition)
    ):
        found[(level, index)] = hashes
    return found


def entry(tile: bytes | None, offset: int) -> bytes | None:
    """The hash at ``offset`` of ``tile``, or None when the tile does not reach it."""
    if tile is None or len(tile) < (offset + 1) * HASH_SIZE:
        return None
    return tile[offset * HASH_SIZE : (offset + 1) * HASH_SIZE]


def subtree_hashes(
    session: Session, subtrees: Collection[Subtree]
) -> tuple[dict[Subtree, bytes], list[Subtree]]:
    """The hashes of ``subtrees`` from the stored tiles, and the subtrees whose tile entries are
    missing (smallest first)."""
    return hashes_in(subtrees, lambda keys: read(session, keys))


def hashes_in(
    subtrees: Collection[Subtree], read_tiles: Callable[[set[TileKey]], Mapping[TileKey, bytes]]
) -> tuple[dict[Subtree, bytes], list[Subtree]]:
    """``subtree_hashes`` from the tiles ``read_tiles`` finds of the keys it is given."""
    wanted = {subtree: entries_under(*subtree) for subtree in subtrees}
    tiles = read_tiles({key for key, _, _ in wanted.values()})
    found: dict[Subtree, bytes] = {}
    missing: list[Subtree] = []
    for subtree, (key, offset, count) in wanted.items():
        tile = tiles.get(key)
        if tile is None or len(tile) < (offset + count) * HASH_SIZE:
            missing.append(subtree)
            continue
        run = tile[offset * HASH_SIZE : (offset + count) * HASH_SIZE]
        found[subtree] = (
            run
            if count == 1
            else perfect_root([run[i : i + HASH_SIZE] for i in range(0, len(run), HASH_SIZE)])
        )
    return found, sorted(missing)


def extend(tree: CompactRange, leaf_hashes: Iterable[bytes]) -> dict[int, list[bytes]]:
    """Append leaves to ``tree``; returns the new entries of each tile level, in order (the
    hashes of the stored subtrees the leaves complete)."""
    return tree.extend_every(leaf_hashes, HEIGHT)


def plan(
    old_size: int, entries: Mapping[int, list[bytes]]
) -> tuple[list[Tile], dict[TileKey, int]]:
    """The tiles that store ``entries`` appended at each tile level to a tree of ``old_size``
    leaves, each partial tile with only its new entries, and how many entries each partial
    tile held before (those are rewritten whole, see ``merged``)."""
    full = width()
    rows: list[Tile] = []
    partial: dict[TileKey, int] = {}
    for level, new in entries.items():
        first_tile, held = divmod(old_size >> (HEIGHT * level), full)  # entries it held
        if held:
            partial[(level, first_tile)] = held
        rows.extend(_tiles_from(level, first_tile, held, new))
    return rows, partial


def merged(
    rows: Sequence[Tile], partial: Mapping[TileKey, int], kept: Mapping[TileKey, bytes]
) -> list[Tile]:
    """``rows`` with each partial tile's ``kept`` hashes in front of its new ones."""
    whole = []
    for level, index, hashes in rows:
        before = partial.get((level, index))
        if before is not None:
            prefix = kept.get((level, index), b"")
            if len(prefix) != before * HASH_SIZE:
                raise LedgerDamaged(
                    f"the ledger's tile {level}/{index} holds {len(prefix) // HASH_SIZE} hashes "
                    f"where it held {before}; run `xinyong ledger verify`"
                )
            hashes = prefix + hashes
        whole.append((level, index, hashes))
    return whole


def write(session: Session, old_size: int, entries: dict[int, list[bytes]]) -> None:
    """Store the ``entries`` appended at each tile level to a tree of ``old_size`` leaves: the
    partial tile of each level is completed or grown, and the tiles after it written."""
    from sqlalchemy import and_, delete, or_

    from xinyong.store.bulk import BulkTable

    table = _table()
    rows, partial = plan(old_size, entries)
    whole = merged(rows, partial, read(session, partial))
    if partial:
        session.execute(
            delete(table).where(
                or_(
                    *(
                        and_(table.c.level == level, table.c.tile_index == index)
                        for level, index in partial
                    )
                )
            )
        )
    BulkTable(session.connection(), table).insert_values(whole)


def _tiles_from(level: int, first_tile: int, held: int, new: list[bytes]) -> Iterable[Tile]:
    """``new`` entries of ``level`` cut into tiles, the first of which already holds ``held``."""
    full = width()
    start = 0
    index = first_tile
    room = full - held
    while start < len(new):
        chunk = new[start : start + room]
        yield level, index, b"".join(chunk)
        start += len(chunk)
        index += 1
        room = full
