"""Salted member commitments, for any event: the leaf is what the documented formula gives, every
opening opens exactly its member, and nothing about an event can be read or confirmed from its
leaf or from the openings of its other members."""

import base64
import hashlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.ledger.bundle import BundleError, EventDisclosure, open_disclosure
from xinyong.ledger.commitment import (
    EVENT_MEMBER,
    SALT_SIZE,
    commit,
    leaf_of,
    leaf_of_digests,
    leaf_of_sealed,
    member_salt,
    new_salts,
    read_opening,
    salted_leaf,
    seal,
    sealed_salt,
)
from xinyong.ledger.events import EventError, LeafInput

SALTS = st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE)
NAMES = st.text(min_size=1, max_size=12).filter(lambda name: not name.startswith("@"))
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
PAYLOADS = st.dictionaries(NAMES, VALUES, max_size=6)
KINDS = st.text(min_size=1, max_size=20).filter(lambda kind: "\n" not in kind)
REFS = st.text(max_size=20).filter(lambda ref: "\n" not in ref)


def documented_leaf(salt: bytes, kind: str, ref: str, payload: dict[str, Any]) -> bytes:
    """The leaf as docs/ledger.md defines it, written out with nothing but hashlib and JSON."""
    members = {"@event": [kind, ref], **payload}
    digests = []
    for name, value in members.items():
        keyed = hashlib.blake2b(
            name.encode(), key=salt, digest_size=32, person=b"xinyong-member"
        ).digest()
        member = orjson.dumps([name, value], option=orjson.OPT_SORT_KEYS)
        digests.append(hashlib.sha256(keyed + member).digest())
    data = b"xinyong-event/2\n" + b"".join(sorted(digests))
    return hashlib.sha256(b"\x00" + data).digest()


def encoded(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


@given(salt=SALTS, kind=KINDS, ref=REFS, payload=PAYLOADS)
def test_the_leaf_is_the_documented_formula(
    salt: bytes, kind: str, ref: str, payload: dict[str, Any]
) -> None:
    leaf = leaf_of(salt, kind, ref, encoded(payload))
    assert leaf == documented_leaf(salt, kind, ref, payload)
    assert leaf == leaf_of_digests(commit(salt, kind, ref, encoded(payload)).digests)


# What a caller may hand over as the object rather than its bytes: any value orjson encodes,
# dates and times included (the bytes hold their ISO text), nested, unicode, in any key order.
OBJECT_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text()
    | st.dates()
    | st.datetimes(timezones=st.none() | st.timezones()),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
OBJECT_NAMES = st.text(max_size=30).filter(lambda name: not name.startswith("@"))
OBJECTS = st.dictionaries(OBJECT_NAMES, OBJECT_VALUES, max_size=40)


@given(salt=SALTS, kind=KINDS, ref=REFS, payload=OBJECTS, data=st.data())
def test_an_event_handed_over_as_its_object_is_the_same_leaf(
    salt: bytes, kind: str, ref: str, payload: dict[str, Any], data: st.DataObject
) -> None:
    """``leaf_of`` on the object (the fast path ``append`` takes) is the leaf of its bytes, which
    is the documented formula over the members read back from them; in any member order."""
    as_bytes = encoded(payload)
    leaf = leaf_of(salt, kind, ref, payload)
    assert leaf == leaf_of(salt, kind, ref, as_bytes)
    assert leaf == documented_leaf(salt, kind, ref, orjson.loads(as_bytes))
    shuffled = dict(data.draw(st.permutations(list(payload.items()))))
    assert leaf_of(salt, kind, ref, shuffled) == leaf


def test_an_object_is_checked_as_its_bytes_are() -> None:
    salt = b"\x00" * SALT_SIZE
    with pytest.raises(EventError, match="may not start with '@'"):
        leaf_of(salt, "k", "r", {"a": 1, "@event": ["k", "r"]})
    with pytest.raises(EventError, match="line feed"):
        leaf_of(salt, "k", "two\nlines", {})
    with pytest.raises(EventError, match="32 bytes"):
        leaf_of(b"short", "k", "r", {})


@given(salt=SALTS, other=SALTS, kind=KINDS, ref=REFS, payload=OBJECTS, data=st.data())
def test_members_sealed_ahead_finish_into_the_leaf_of_the_whole_event(
    salt: bytes,
    other: bytes,
    kind: str,
    ref: str,
    payload: dict[str, Any],
    data: st.DataObject,
) -> None:
    """Any members of an event hashed ahead (as a validation worker does), and the rest later,
    make the leaf of the whole event under the salt they were sealed with: the documented
    formula, whichever members are sealed, none or all."""
    names = data.draw(st.sets(st.sampled_from(sorted(payload))) if payload else st.just(set()))
    sealed = seal(salt, {name: value for name, value in payload.items() if name in names})
    rest = {name: value for name, value in payload.items() if name not in names}
    whole = leaf_of(salt, kind, ref, payload)
    assert sealed_salt(sealed) == salt
    assert leaf_of_sealed(sealed, kind, ref, rest) == whole
    assert leaf_of_sealed(sealed, kind, ref, encoded(rest)) == whole
    # What append logs: the seal's salt and leaf, whatever fresh salt it drew for the event.
    assert salted_leaf(LeafInput(kind, ref, rest, sealed), other) == (whole, salt)
    assert salted_leaf(LeafInput(kind, ref, payload), other) == (
        leaf_of(other, kind, ref, payload),
        other,
    )
    # Sealed with the rest's member salts derived ahead: the same leaf, in any order of names.
    ahead = seal(salt, {name: payload[name] for name in names}, later=sorted(rest, reverse=True))
    assert sealed_salt(ahead) == salt
    assert leaf_of_sealed(ahead, kind, ref, rest) == whole
    assert leaf_of_sealed(ahead, kind, ref, encoded(rest)) == whole
    assert salted_leaf(LeafInput(kind, ref, rest, ahead), other) == (whole, salt)
    if rest and salt != other:
        # The rest hashed under another salt than the sealed members' is another leaf.
        resealed = seal(other, {name: payload[name] for name in names})
        assert leaf_of_sealed(resealed, kind, ref, rest) != whole


def test_a_seal_is_checked_as_an_event_is() -> None:
    salt = b"\x00" * SALT_SIZE
    sealed = seal(salt, {"a": 1})
    with pytest.raises(EventError, match="may not start with '@'"):
        seal(salt, {"@event": ["k", "r"]})
    with pytest.raises(EventError, match="may not start with '@'"):
        leaf_of_sealed(sealed, "k", "r", {"@x": 1})
    with pytest.raises(EventError, match="line feed"):
        leaf_of_sealed(sealed, "k", "two\nlines", {})
    with pytest.raises(EventError, match="a seal is a 32-byte salt"):
        leaf_of_sealed(sealed[:-1], "k", "r", {})
    with pytest.raises(EventError, match="a seal is a 32-byte salt"):
        leaf_of_sealed(b"short", "k", "r", {})
    with pytest.raises(EventError, match="a seal is a 32-byte salt"):
        leaf_of_sealed(salt + b"\x00" + sealed[SALT_SIZE + 1 :], "k", "r", {})
    with pytest.raises(EventError, match="may not start with '@'"):
        seal(salt, {"a": 1}, later=["@x"])
    ahead = seal(salt, {"a": 1}, later=["b"])
    with pytest.raises(EventError, match="made for 1 later members, not 2"):
        leaf_of_sealed(ahead, "k", "r", {"b": 2, "c": 3})


@given(count=st.integers(min_value=0, max_value=50))
def test_salts_drawn_at_once_are_whole_and_distinct(count: int) -> None:
    salts = new_salts(count)
    assert len(salts) == count
    assert all(len(salt) == SALT_SIZE for salt in salts)
    assert len(set(salts)) == count


@given(salt=SALTS, kind=KINDS, ref=REFS, payload=PAYLOADS)
def test_each_opening_opens_its_member_and_only_it(
    salt: bytes, kind: str, ref: str, payload: dict[str, Any]
) -> None:
    commitment = commit(salt, kind, ref, encoded(payload))
    members = {EVENT_MEMBER: [kind, ref], **payload}
    assert set(commitment.openings) == set(members)
    digests = commitment.digests
    for name, opening in commitment.openings.items():
        member = read_opening(opening)
        assert (member.name, member.digest in digests) == (name, True)
        assert orjson.dumps(member.value, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            members[name], option=orjson.OPT_SORT_KEYS
        )
        # The member's salt is its own: another member's opening gives nothing of it.
        others = [other[:SALT_SIZE] for key, other in commitment.openings.items() if key != name]
        assert opening[:SALT_SIZE] not in others
        assert opening[:SALT_SIZE] != salt


@given(salt=SALTS, other=SALTS, kind=KINDS, ref=REFS, payload=PAYLOADS)
def test_the_same_event_under_another_salt_is_another_leaf(
    salt: bytes, other: bytes, kind: str, ref: str, payload: dict[str, Any]
) -> None:
    if salt != other:
        assert leaf_of(salt, kind, ref, encoded(payload)) != leaf_of(
            other, kind, ref, encoded(payload)
        )


@given(salt=SALTS, payload=PAYLOADS.filter(bool), value=VALUES, data=st.data())
def test_any_change_of_a_member_changes_the_leaf(
    salt: bytes, payload: dict[str, Any], value: Any, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(payload)))
    changed = {**payload, name: value}
    if encoded(changed) != encoded(payload):
        assert leaf_of(salt, "k", "r", encoded(changed)) != leaf_of(
            salt, "k", "r", encoded(payload)
        )


@given(salt=SALTS, payload=PAYLOADS.filter(bool), data=st.data())
def test_a_partial_opening_verifies_and_a_forged_one_does_not(
    salt: bytes, payload: dict[str, Any], data: st.DataObject
) -> None:
    commitment = commit(salt, "k", "r", encoded(payload))
    shown = data.draw(st.sets(st.sampled_from(sorted(payload))))
    disclosure = EventDisclosure(
        digests=[digest.hex() for digest in commitment.digests],
        disclosed=[base64.b64encode(item).decode() for item in commitment.disclose(shown)],
    )
    leaf = leaf_of(salt, "k", "r", encoded(payload))
    assert set(open_disclosure(disclosure, leaf)) == shown
    forged = [
        base64.b64encode(item[:SALT_SIZE] + orjson.dumps([name, "forged"])).decode()
        for name, item in commitment.openings.items()
        if name in shown and payload[name] != "forged"
    ]
    if forged:
        with pytest.raises(BundleError):
            open_disclosure(disclosure.model_copy(update={"disclosed": forged}), leaf)


def test_member_salts_depend_on_the_event_salt_and_the_name() -> None:
    one, two = b"\x01" * SALT_SIZE, b"\x02" * SALT_SIZE
    assert member_salt(one, "subject") != member_salt(one, "decision")
    assert member_salt(one, "subject") != member_salt(two, "subject")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[]", "has a list"),
        (b"1", "has a int"),
        (b"not json", "is not JSON"),
        (b'{"@x": 1}', "may not start with '@'"),
    ],
)
def test_payloads_that_cannot_be_committed(payload: bytes, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        leaf_of(b"\x00" * SALT_SIZE, "k", "r", payload)
    with pytest.raises(EventError, match="32 bytes"):
        leaf_of(b"short", "k", "r", b"{}")
