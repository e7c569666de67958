"""Appending to the ledger through the bare driver, for a command that may not wait for
SQLAlchemy to load (``xinyong check`` seals its check-log group with it).

It is ``xinyong.ledger.service.append`` in plain SQL, with the same tree arithmetic (the
compact range, ``tiles.plan`` and ``tiles.merged``) and the same head lock, in the caller's
transaction (``BareStore.transaction``); the leaves it writes are those ``append`` would write,
so ``xinyong ledger verify`` cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from xinyong.clock import utc_now
from xinyong.ledger import tiles
from xinyong.ledger.commitment import new_salts, salted_leaf
from xinyong.ledger.events import LeafInput, kept_payload
from xinyong.ledger.merkle import CompactRange, Span, span_subtrees
from xinyong.ledger.tiles import LedgerDamaged, TileKey
from xinyong.store.driver import BareStore

if TYPE_CHECKING:
    from xinyong.ledger.checkpoint import SigningKey

HEAD_ID = 1
"""The one row of ``ledger_head``."""


def append_bare(store: BareStore, leaves: Sequence[LeafInput], *, rebuilt: bool) -> CompactRange:
    """Log ``leaves`` in order in the caller's transaction; returns the tree they make.

    ``rebuilt``: their kinds have a source that rebuilds their payloads (then the payloads are
    not kept, as ``append`` does for a kind whose source is registered)."""
    connection, mark = store.connection, store.marker
    size = _lock_head(store)
    edge = span_subtrees(Span(0, size))
    found, missing = tiles.hashes_in(edge, lambda keys: _read(store, keys))
    if missing:
        raise LedgerDamaged("the ledger has lost hashes of its edge; run `xinyong ledger verify`")
    tree = CompactRange(size, [found[subtree] for subtree in edge])
    rows = []
    hashes = []
    for index, leaf, fresh_salt in zip(
        range(size, size + len(leaves)), leaves, new_salts(len(leaves)), strict=True
    ):
        hashed, salt = salted_leaf(leaf, fresh_salt)
        hashes.append(hashed)
        rows.append((index, leaf.kind, leaf.ref, None if rebuilt else kept_payload(leaf), salt))
    entries = tiles.extend(tree, hashes)
    connection.cursor().executemany(
        "INSERT INTO ledger_leaves (leaf_index, kind, ref, payload, salt) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
        rows,
    )
    written, partial = tiles.plan(size, entries)
    whole = tiles.merged(written, partial, _read(store, partial))
    for level, index in partial:
        connection.execute(
            f"DELETE FROM ledger_tiles WHERE level = {mark} AND tile_index = {mark}",
            (level, index),
        )
    connection.cursor().executemany(
        f"INSERT INTO ledger_tiles (level, tile_index, hashes) VALUES ({mark}, {mark}, {mark})",
        whole,
    )
    connection.execute(
        f"UPDATE ledger_head SET tree_size = {mark} WHERE id = {mark}", (tree.size, HEAD_ID)
    )
    return tree


def sign_bare(store: BareStore, tree: CompactRange, key: SigningKey) -> None:
    """Sign ``tree``'s head with ``key`` in the caller's transaction (the head just moved, so
    no checkpoint says the same: ``service.checkpoint`` would sign it too)."""
    from xinyong.ledger.checkpoint import TreeHead, sign_checkpoint

    signed = sign_checkpoint(TreeHead(tree.size, tree.root()), key)
    mark = store.marker
    store.connection.execute(
        "INSERT INTO ledger_checkpoints (origin, tree_size, root_hash, note, signed_at) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
        (signed.origin, signed.tree_size, signed.root_hash, signed.note, store.instant(utc_now())),
    )


def _lock_head(store: BareStore) -> int:
    """The tree's size, with the head's row lock held (see ``service.lock_head``)."""
    mark = store.marker
    found = store.connection.execute(
        f"UPDATE ledger_head SET tree_size = tree_size WHERE id = {mark} RETURNING tree_size",
        (HEAD_ID,),
    ).fetchone()
    if found is None:
        store.connection.execute(
            f"INSERT INTO ledger_head (id, tree_size) VALUES ({mark}, 0)", (HEAD_ID,)
        )
        return 0
    return int(found[0])


def _read(store: BareStore, keys: Collection[TileKey]) -> Mapping[TileKey, bytes]:
    mark = store.marker
    found: dict[TileKey, bytes] = {}
    for level, index in keys:
        row = store.connection.execute(
            f"SELECT hashes FROM ledger_tiles WHERE level = {mark} AND tile_index = {mark}",
            (level, index),
        ).fetchone()
        if row is not None:
            found[(level, index)] = bytes(row[0])
    return found
