"""ingest for the real world: the ledger's hashes in tiles

Revision ID: 0013_ingest_real
Revises: 0012_federation
Create Date: 2026-12-06 12:00:00.000000

- ``ledger_tiles`` replaces ``ledger_nodes``: the tree's hashes are kept as C2SP tlog-tiles
  (256 hashes of one tree level per row) instead of one row per complete subtree. The tiles are
  filled from the stored subtrees of levels 0, 8, 16, ... (the others are computed from them);
  should a stored hash be missing, its tile ends before it, and ``xinyong ledger verify`` names
  the leaves it no longer covers, as it did before.
- ``legacy_links``: which records had their subject found by a registration number or an
  organisation code, from which column of the row.
"""

import hashlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_ingest_real"
down_revision: str | None = "0012_federation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEIGHT = 8
WIDTH = 1 << HEIGHT
HASH_SIZE = 32
POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
READ_CHUNK = 100_000

tiles_table = sa.table(
    "ledger_tiles",
    sa.column("level", sa.Integer),
    sa.column("tile_index", sa.BigInteger),
    sa.column("hashes", sa.LargeBinary),
)
nodes_table = sa.table(
    "ledger_nodes", sa.column("position", POSITION), sa.column("hash", sa.LargeBinary)
)


def _complete_subtrees(size: int) -> int:
    """How many complete subtrees (leaves included) a tree of ``size`` leaves has: the position
    of the first subtree leaf ``size`` completes, in the old layout."""
    return 2 * size - size.bit_count()


def _stored_subtrees(connection: sa.Connection) -> Iterator[tuple[int, int, bytes]]:
    """(level, index, hash) of every row of the old layout, in position order."""
    leaf = 0
    last = -1
    while True:
        rows = connection.execute(
            sa.select(nodes_table.c.position, nodes_table.c.hash)
            .where(nodes_table.c.position > last)
            .order_by(nodes_table.c.position)
            .limit(READ_CHUNK)
        ).all()
        if not rows:
            return
        for position, digest in rows:
            while _complete_subtrees(leaf + 1) <= position:
                leaf += 1
            level = position - _complete_subtrees(leaf)
            yield level, leaf >> level, digest
        last = rows[-1][0]


def upgrade() -> None:
    op.create_table(
        "ledger_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tile_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "tile_index", name=op.f("pk_ledger_tiles")),
    )
    # Per tile level, the tile being filled: its index and its entries so far.
    filling: dict[int, tuple[int, list[bytes]]] = {}
    rows: list[dict[str, object]] = []

    def flush(tile_level: int) -> None:
        tile_index, entries = filling.pop(tile_level)
        rows.append({"level": tile_level, "tile_index": tile_index, "hashes": b"".join(entries)})

    for level, index, digest in _stored_subtrees(op.get_bind()):
        if level % HEIGHT:
            continue  # computed from the tile below
        tile_level = level // HEIGHT
        tile_index, offset = divmod(index, WIDTH)
        current = filling.get(tile_level)
        if current is not None and (current[0], len(current[1])) != (tile_index, offset):
            flush(tile_level)
            current = None
        if current is None:
            if offset:
                continue  # an earlier hash of this tile is missing: the tile ended there
            current = filling[tile_level] = (tile_index, [])
        current[1].append(digest)
        if len(current[1]) == WIDTH:
            flush(tile_level)
        if len(rows) >= 1000:
            op.bulk_insert(tiles_table, rows)
            rows.clear()
    for tile_level in list(filling):
        flush(tile_level)
    if rows:
        op.bulk_insert(tiles_table, rows)
    op.drop_table("ledger_nodes")
    op.create_table(
        "legacy_links",
        sa.Column("record_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("column_name", sa.String(length=200), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_legacy_links_record_id_records")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_legacy_links")),
    )


def downgrade() -> None:
    op.drop_table("legacy_links")
    op.create_table(
        "ledger_nodes",
        sa.Column("position", POSITION, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_ledger_nodes")),
    )
    # Every complete subtree again, from the leaf hashes, in the order they complete.
    edge: list[bytes] = []
    leaf = 0
    rows: list[dict[str, object]] = []
    for tile_index, tile in op.get_bind().execute(
        sa.select(tiles_table.c.tile_index, tiles_table.c.hashes)
        .where(tiles_table.c.level == 0)
        .order_by(tiles_table.c.tile_index)
    ):
        if tile_index * WIDTH != leaf:
            break  # a missing tile: the leaves after it have no logged hash
        for start in range(0, len(tile), HASH_SIZE):
            node = tile[start : start + HASH_SIZE]
            first = _complete_subtrees(leaf)
            rows.append({"position": first, "hash": node})
            level, index = 0, leaf
            while index & 1:
                node = hashlib.sha256(b"\x01" + edge.pop() + node).digest()
                level, index = level + 1, index >> 1
                rows.append({"position": first + level, "hash": node})
            edge.append(node)
            leaf += 1
        if len(rows) >= READ_CHUNK:
            op.bulk_insert(nodes_table, rows)
            rows.clear()
    if rows:
        op.bulk_insert(nodes_table, rows)
    op.drop_table("ledger_tiles")
