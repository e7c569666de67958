"""Reaching into the ledger's stored hashes, as an attacker with SQL access would."""

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xinyong.ledger import merkle, tiles


@pytest.fixture
def every_level_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles one level high: every subtree hash of a small test tree is a stored tile entry,
    so a test can edit or delete the hash of any subtree."""
    monkeypatch.setattr(tiles, "HEIGHT", 1)


def rewrite_stored_hash(engine: Engine, level: int, index: int, digest: bytes | None) -> None:
    """Replace the stored hash of subtree ``(level, index)``; None deletes it (a tile cannot have
    a hole, so the tile is cut short before it)."""
    (tile_level, tile_index), offset = tiles.entry_of(level, index)
    where = f"level = {tile_level} AND tile_index = {tile_index}"
    size = merkle.HASH_SIZE
    with engine.begin() as connection:
        stored = connection.exec_driver_sql(
            f"SELECT hashes FROM ledger_tiles WHERE {where}"
        ).scalar_one()
        if digest is None:
            changed = stored[: offset * size]
        else:
            changed = stored[: offset * size] + digest + stored[(offset + 1) * size :]
        if changed:
            connection.exec_driver_sql(
                f"UPDATE ledger_tiles SET hashes = ? WHERE {where}", (changed,)
            )
        else:
            connection.exec_driver_sql(f"DELETE FROM ledger_tiles WHERE {where}")


def rewrite_tree(engine: Engine, leaf_hashes: Sequence[bytes]) -> None:
    """Replace every stored hash with those of the tree over ``leaf_hashes``."""
    with Session(engine) as session, session.begin():
        session.execute(tiles.TILES.delete())
        tiles.write(session, 0, tiles.extend(merkle.CompactRange(), leaf_hashes))


def stored_leaf_hashes(engine: Engine, size: int) -> list[bytes]:
    """The logged leaf hashes of the first ``size`` events."""
    with Session(engine) as session:
        found, missing = tiles.subtree_hashes(session, [(0, index) for index in range(size)])
    assert not missing
    return [found[(0, index)] for index in range(size)]
