"""The tree's hashes in tiles (C2SP tlog-tiles): heads and proofs equal the RFC 9162 ones for any
tree size and any batching, edits to a tile are found, and a store of the per-node layout moves
to tiles (and back) without changing a hash."""

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from tests.ledger.conftest import rewrite_stored_hash

from xinyong.ledger import LeafInput, SigningKey, append, checkpoint, merkle, service, tiles
from xinyong.ledger.checkpoint import TreeHead, sign_checkpoint
from xinyong.ledger.commitment import leaf_of, new_salt
from xinyong.ledger.verification import verify
from xinyong.store.db import alembic_config, make_engine, migrate
from xinyong.testing.store import migrated_sqlite


def policy_event(i: int) -> LeafInput:
    return LeafInput("policy.published", f"pack-{i}", orjson.dumps({"version": i}))


def logged_hashes(session: Session, size: int) -> list[bytes]:
    found, missing = tiles.subtree_hashes(session, [(0, i) for i in range(size)])
    assert not missing
    return [found[(0, i)] for i in range(size)]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(migrated_sqlite(tmp_path / "tiles.db"))
    yield engine
    engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    height=st.sampled_from([1, 2, 3, 8]),
    batches=st.lists(st.integers(1, 300), min_size=1, max_size=6),
    data=st.data(),
)
def test_heads_and_proofs_from_tiles_equal_the_rfc_ones(
    engine: Engine, height: int, batches: list[int], data: st.DataObject
) -> None:
    """Appended in batches that start and end anywhere in a tile, the tiles answer every head
    and proof as the tree over the leaf hashes does (tiles of 2**height hashes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tiles, "HEIGHT", height)
        with engine.begin() as connection:
            connection.execute(tiles.TILES.delete())
            connection.exec_driver_sql("DELETE FROM ledger_leaves")
            connection.exec_driver_sql("DELETE FROM ledger_head")
        size = 0
        for count in batches:
            with Session(engine) as session, session.begin():
                append(session, [policy_event(i) for i in range(size, size + count)])
            size += count
        with Session(engine) as session:
            hashes = logged_hashes(session, size)
            assert service.tree_head(session).root_hash == merkle.root_hash(hashes)
            rows = session.execute(
                text("SELECT level, tile_index, length(hashes) FROM ledger_tiles")
            )
            # One row per tile: full tiles, and one partial tile per level at the right edge.
            for level, index, length in rows:
                entries = size >> (height * level)
                assert length == min(entries - (index << height), 1 << height) * merkle.HASH_SIZE
            for _ in range(10):
                tree = data.draw(st.integers(1, size))
                index = data.draw(st.integers(0, tree - 1))
                old = data.draw(st.integers(0, tree))
                assert service.inclusion_proof(session, index, tree) == merkle.inclusion_proof(
                    index, hashes[:tree]
                )
                assert service.consistency_proof(session, old, tree) == merkle.consistency_proof(
                    old, hashes[:tree]
                )


def test_a_rewritten_tile_entry_is_found_at_full_height(engine: Engine) -> None:
    """With tiles of 256, the hash over leaves 0..255 is an entry of the level-1 tile: rewritten,
    verification names the leaves under it; the leaf tiles themselves hold the leaf hashes."""
    key = SigningKey.generate("credit.example/ledger")
    with Session(engine) as session, session.begin():
        append(session, [policy_event(i) for i in range(600)])
        checkpoint(session, key)
    with Session(engine) as session:
        assert verify(session, key.verifier).ok
    rewrite_stored_hash(engine, 8, 0, bytes(32))
    with Session(engine) as session:
        report = verify(session, key.verifier)
    assert report.total_divergences == 1 and report.first is not None
    assert "events 0..255 (level 8) does not match" in report.first.reason


def test_a_cut_partial_tile_stops_appends(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        append(session, [policy_event(i) for i in range(300)])
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE ledger_tiles SET hashes = substr(hashes, 1, 64) WHERE level = 0 AND tile_index = 1"
        )
    with (
        Session(engine) as session,
        pytest.raises(service.LedgerDamaged, match="ledger verify"),
        session.begin(),
    ):
        append(session, [policy_event(300)])


def _old_layout(
    url: str, size: int, key: SigningKey
) -> tuple[list[bytes], list[tuple[int, bytes]]]:
    """A store at migration 0009 holding ``size`` events in the per-node layout, checkpointed."""
    make_engine(url).dispose()
    command.upgrade(alembic_config(url), "0009")
    events = [policy_event(i) for i in range(size)]
    salts = [new_salt() for _ in events]
    hashes = [
        leaf_of(salt, event.kind, event.ref, event.payload)
        for salt, event in zip(salts, events, strict=True)
    ]
    tree = merkle.CompactRange()
    nodes = [(position, digest) for position, (_, _, digest) in enumerate(tree.extend(hashes))]
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO ledger_leaves (leaf_index, kind, ref, payload, salt) VALUES (?, ?, ?, ?, ?)",
            [
                (i, event.kind, event.ref, event.payload, salt)
                for i, (event, salt) in enumerate(zip(events, salts, strict=True))
            ],
        )
        connection.exec_driver_sql("INSERT INTO ledger_nodes (position, hash) VALUES (?, ?)", nodes)
        connection.exec_driver_sql("INSERT INTO ledger_head (id, tree_size) VALUES (1, ?)", (size,))
    with Session(engine) as session, session.begin():
        note = sign_checkpoint(TreeHead(size, tree.root()), key)
        session.execute(
            text(
                "INSERT INTO ledger_checkpoints (origin, tree_size, root_hash, note, signed_at) "
                "VALUES (:o, :s, :r, :n, '2026-12-01 00:00:00.000000')"
            ),
            {"o": note.origin, "s": size, "r": note.root_hash, "n": note.note},
        )
    engine.dispose()
    return hashes, nodes


def test_the_per_node_layout_moves_to_tiles_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    key = SigningKey.generate("credit.example/ledger")
    size = 70_000  # level-2 tiles hold the hashes over 65,536 leaves
    hashes, nodes = _old_layout(url, size, key)
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        assert logged_hashes(session, size) == hashes
        assert verify(session, key.verifier).ok
        found, missing = tiles.subtree_hashes(session, [(16, 0), (8, 272), (5, 2000)])
        assert not missing
        assert found[(16, 0)] == merkle.root_hash(hashes[: 1 << 16])
        assert found[(8, 272)] == merkle.root_hash(hashes[272 << 8 : 273 << 8])
        assert found[(5, 2000)] == merkle.root_hash(hashes[2000 << 5 : 2001 << 5])
        levels = dict(
            session.execute(text("SELECT level, count(*) FROM ledger_tiles GROUP BY level")).all()
        )
    assert levels == {0: 274, 1: 2, 2: 1}
    command.downgrade(alembic_config(url), "0009")
    with engine.connect() as connection:
        back = connection.exec_driver_sql(
            "SELECT position, hash FROM ledger_nodes ORDER BY position"
        ).all()
    engine.dispose()
    assert [tuple(row) for row in back] == nodes
