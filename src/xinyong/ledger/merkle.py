"""RFC 9162 §2 Merkle tree hashing, proofs and proof verification, with no storage.

A *subtree* ``(level, index)`` is the complete subtree over the ``2**level`` leaves that start
at leaf ``index * 2**level``. Every range of leaves that the RFC's recursive definitions visit
(the whole tree, a proof's sibling, the edge of an incomplete tree) is a run of such complete
subtrees, so a store that keeps them answers any tree head or proof with O(log n) reads.
"""

import hashlib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not prove what it claims, or was asked for impossible tree sizes."""


Subtree = tuple[int, int]
"""``(level, index)``: the complete subtree over 2**level leaves from index * 2**level."""


class Span(NamedTuple):
    """The leaves ``[start, end)``."""

    start: int
    end: int


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(size: int) -> int:
    """The RFC's k: the largest power of two smaller than ``size`` (``size`` >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def span_subtrees(span: Span) -> list[Subtree]:
    """The complete subtrees that make up ``span``, left to right.

    Spans from the RFC recursion start on a multiple of their largest power of two, so the
    binary decomposition of their length yields aligned, complete subtrees.
    """
    start, end = span
    pieces: list[Subtree] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise ValueError(f"leaves [{span.start}, {span.end}) are not a node of any tree")
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a span from the hashes of its complete subtrees, left to right.

    The RFC splits off the largest power of two first, so the pieces nest to the right.
    """
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_spans(index: int, size: int) -> list[Span]:
    """The spans whose hashes make PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf end first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    spans: list[Span] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + split(end - start)
        if index < middle:
            spans.append(Span(middle, end))
            end = middle
        else:
            spans.append(Span(start, middle))
            start = middle
    spans.reverse()
    return spans


def consistency_spans(old_size: int, new_size: int) -> list[Span]:
    """The spans whose hashes make PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1).

    Empty when there is nothing to prove: the old tree is empty or the same as the new one.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of size {old_size} cannot precede one of size {new_size}")
    if old_size in (0, new_size):
        return []
    spans: list[Span] = []
    start, end = 0, new_size
    # SUBPROOF's flag b: true while the old tree's root is a node we have not yet left.
    on_old_root = True
    while old_size != end:
        middle = start + split(end - start)
        if old_size <= middle:
            spans.append(Span(middle, end))
            end = middle
        else:
            spans.append(Span(start, middle))
            start = middle
            on_old_root = False
    if not on_old_root:
        spans.append(Span(start, end))
    spans.reverse()
    return spans


class CompactRange:
    """The complete subtrees covering leaves ``[0, size)``: all that appending needs.

    There is one per set bit of ``size``; ``hashes`` are those of ``span_subtrees(Span(0,
    size))``, largest first.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} edge subtrees")
        self.size = size
        self._hashes = list(hashes)

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """Append leaves; returns every subtree they complete (the leaves themselves included)
        as ``(level, index, hash)``, in the order they complete. Hot: thousands per batch."""
        hashes = self._hashes
        size = self.size
        completed: list[tuple[int, int, bytes]] = []
        sha256 = hashlib.sha256
        for digest in leaf_hashes:
            completed.append((0, size, digest))
            # Leaf n closes one subtree per trailing 1-bit of n, merging with the edge's smallest.
            index = size
            for level in range(1, (~size & (size + 1)).bit_length()):
                digest = sha256(NODE_PREFIX + hashes.pop() + digest).digest()
                index >>= 1
                completed.append((level, index, digest))
            hashes.append(digest)
            size += 1
        self.size = size
        return completed

    def extend_every(self, leaf_hashes: Iterable[bytes], every: int) -> dict[int, list[bytes]]:
        """Append leaves; returns the hashes of the subtrees they complete at the levels that
        are multiples of ``every``, by ``level // every``, in the order they complete: what
        ``extend`` returns of those levels, without a tuple for every subtree of the others."""
        hashes = self._hashes
        size = self.size
        leaves: list[bytes] = []
        completed = {0: leaves}
        add_leaf, sha256 = leaves.append, hashlib.sha256
        for digest in leaf_hashes:
            add_leaf(digest)
            if size & 1:  # as in ``extend``: one subtree closes per trailing 1-bit of size
                for level in range(1, (~size & (size + 1)).bit_length()):
                    digest = sha256(NODE_PREFIX + hashes.pop() + digest).digest()
                    if not level % every:
                        completed.setdefault(level // every, []).append(digest)
            hashes.append(digest)
            size += 1
        self.size = size
        return completed if leaves else {}

    def root(self) -> bytes:
        return fold(self._hashes)


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH(D[n]) over the given leaf hashes."""
    tree = CompactRange()
    tree.extend(leaf_hashes)
    return tree.root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    return [
        root_hash(leaf_hashes[start:end]) for start, end in inclusion_spans(index, len(leaf_hashes))
    ]


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    spans = consistency_spans(old_size, len(leaf_hashes))
    return [root_hash(leaf_hashes[start:end]) for start, end in spans]


def _check_hashes(proof: Sequence[bytes]) -> None:
    if any(len(element) != HASH_SIZE for element in proof):
        raise ProofError(f"every proof element must be a {HASH_SIZE}-byte hash")


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf`` (RFC 9162 §2.1.3.2, steps 1-4)."""
    _check_hashes(proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows leaf hash ``leaf`` at ``index`` under ``root``."""
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError(
            f"the inclusion proof for leaf {index} does not lead to the root of size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless ``proof`` shows the old tree is a prefix of the new one.

    RFC 9162 §2.1.4.2 covers 0 < old < new; an empty old tree and an unchanged tree have nothing
    to prove, so their proof must be empty.
    """
    _check_hashes(proof)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of size {old_size} cannot precede one of size {new_size}")
    if old_size in (0, new_size):
        if proof:
            raise ProofError("nothing to prove, yet the consistency proof is not empty")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is wrong")
        if old_size == new_size and old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {new_size}")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            old_result = node_hash(element, old_result)
            new_result = node_hash(element, new_result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_result = node_hash(new_result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the trees are deep")
    if old_result != old_root:
        raise ProofError(f"the consistency proof does not lead to the root of size {old_size}")
    if new_result != new_root:
        raise ProofError(f"the consistency proof does not lead to the root of size {new_size}")
