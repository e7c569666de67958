"""The ledger's tree against RFC 9162 §2: published vectors, and an independent reference.

The reference below is written from the RFC's recursive definitions (MTH, PATH, PROOF and
SUBPROOF) and shares no code with ``xinyong.ledger.merkle``, which computes the same things
iteratively from complete subtrees.
"""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.ledger import merkle


def _hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return _hash(b"")
    if n == 1:
        return _hash(b"\x00" + entries[0])
    k = _k(n)
    return _hash(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:]))


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], complete: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if complete else [ref_mth(entries)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], complete), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_proof(m: int, entries: list[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


def entries(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


def leaf_hashes(data: list[bytes]) -> list[bytes]:
    return [_hash(b"\x00" + entry) for entry in data]


# Published with Certificate Transparency (RFC 6962, whose tree hashing RFC 9162 keeps).
CT_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        *("", "00", "10", "2021", "3031", "40414243", "5051525354555657"),
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_published_tree_heads_and_proofs() -> None:
    hashes = [merkle.leaf_hash(entry) for entry in CT_ENTRIES]
    for size, root in enumerate(CT_ROOTS):
        assert merkle.root_hash(hashes[:size]).hex() == root
        assert ref_mth(CT_ENTRIES[:size]).hex() == root
    for (index, size), proof in CT_INCLUSION.items():
        assert [p.hex() for p in merkle.inclusion_proof(index, hashes[:size])] == proof


def test_empty_tree_and_hash_prefixes() -> None:
    assert _hash(b"") == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"x") == _hash(b"\x00x")
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == _hash(b"\x01" + b"a" * 32 + b"b" * 32)


@pytest.mark.parametrize("size", range(1, 65))
def test_every_head_and_proof_up_to_64(size: int) -> None:
    data = entries(size)
    hashes = leaf_hashes(data)
    root = ref_mth(data)
    assert merkle.root_hash(hashes) == root
    for index in range(size):
        proof = merkle.inclusion_proof(index, hashes)
        assert proof == ref_path(index, data)
        merkle.verify_inclusion(hashes[index], index, size, proof, root)
    for old in range(1, size + 1):
        proof = merkle.consistency_proof(old, hashes)
        assert proof == ref_proof(old, data)
        merkle.verify_consistency(old, size, ref_mth(data[:old]), root, proof)


def test_the_compact_range_grows_like_the_reference() -> None:
    data = entries(64)
    tree = merkle.CompactRange()
    for size in range(1, 65):
        completed = tree.extend([leaf_hashes(data[size - 1 : size])[0]])
        assert tree.root() == ref_mth(data[:size])
        for level, index, digest in completed:
            assert digest == ref_mth(data[index << level : (index + 1) << level])


@settings(max_examples=40, deadline=None)
@given(st.integers(65, 3000), st.data())
def test_larger_random_trees(size: int, draw: st.DataObject) -> None:
    data = entries(size)
    hashes = leaf_hashes(data)
    root = ref_mth(data)
    assert merkle.root_hash(hashes) == root
    index = draw.draw(st.integers(0, size - 1), label="index")
    proof = merkle.inclusion_proof(index, hashes)
    assert proof == ref_path(index, data)
    merkle.verify_inclusion(hashes[index], index, size, proof, root)
    old = draw.draw(st.integers(1, size), label="old size")
    consistency = merkle.consistency_proof(old, hashes)
    assert consistency == ref_proof(old, data)
    merkle.verify_consistency(old, size, ref_mth(data[:old]), root, consistency)
    # A store resumes from the edge subtrees of any size; so must the compact range.
    edge = [
        ref_mth(data[i << level : (i + 1) << level])
        for level, i in merkle.span_subtrees(merkle.Span(0, old))
    ]
    resumed = merkle.CompactRange(old, edge)
    resumed.extend(hashes[old:])
    assert resumed.root() == root


def _tamperings(proof: list[bytes]) -> list[list[bytes]]:
    flipped = [
        [*proof[:i], bytes([proof[i][0] ^ 1]) + proof[i][1:], *proof[i + 1 :]]
        for i in range(len(proof))
    ]
    return [*flipped, proof[:-1], [*proof, proof[-1]] if proof else [b"\x00" * 32], proof[::-1]]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 32, 33])
def test_tampered_inclusion_proofs_fail(size: int) -> None:
    hashes = leaf_hashes(entries(size))
    root = merkle.root_hash(hashes)
    for index in range(size):
        proof = merkle.inclusion_proof(index, hashes)
        for bad in _tamperings(proof):
            if bad == proof:
                continue
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(hashes[index], index, size, bad, root)
        if size > 1:
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(hashes[index], (index + 1) % size, size, proof, root)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(_hash(b"another"), index, size, proof, root)


@pytest.mark.parametrize("size", [2, 3, 7, 8, 9, 16, 21])
def test_tampered_consistency_proofs_fail(size: int) -> None:
    hashes = leaf_hashes(entries(size))
    root = merkle.root_hash(hashes)
    for old in range(1, size):
        old_root = merkle.root_hash(hashes[:old])
        proof = merkle.consistency_proof(old, hashes)
        for bad in _tamperings(proof):
            if bad == proof:
                continue
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(old, size, old_root, root, bad)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, size, _hash(b"a forged past"), root, proof)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, size, old_root, _hash(b"a forged present"), proof)


def test_trivial_consistency() -> None:
    hashes = leaf_hashes(entries(5))
    root = merkle.root_hash(hashes)
    merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])
    merkle.verify_consistency(5, 5, root, root, [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(5, 5, root, merkle.EMPTY_ROOT, [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [root])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(6, 5, root, root, [])
    with pytest.raises(merkle.ProofError):
        merkle.consistency_spans(6, 5)
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_spans(5, 5)


@settings(max_examples=60)
@given(
    old=st.integers(0, 600),
    new=st.integers(0, 600),
    every=st.sampled_from([1, 2, 3, 8]),
)
def test_extending_every_nth_level_keeps_what_extend_completes_there(
    old: int, new: int, every: int
) -> None:
    """``extend_every`` (what the tiles store) is ``extend`` kept to the levels that are
    multiples of ``every``, in order, from any size; the tree it leaves has the same root."""
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(old + new)]
    every_level, only_some = merkle.CompactRange(), merkle.CompactRange()
    every_level.extend(hashes[:old])
    only_some.extend(hashes[:old])
    expected: dict[int, list[bytes]] = {}
    for level, _, digest in every_level.extend(hashes[old:]):
        if level % every == 0:
            expected.setdefault(level // every, []).append(digest)
    assert only_some.extend_every(hashes[old:], every) == expected
    assert (only_some.size, only_some.root()) == (every_level.size, every_level.root())
