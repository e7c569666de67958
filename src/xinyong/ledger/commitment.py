"""What a leaf commits to: an event as salted member digests, so the tree can be published while
the events stay private.

A leaf hash must let anyone check the tree, yet tell nobody what happened, and it must not let
anyone confirm a guess (a known identity number and amount hashed in the clear would). So, as
CONIKS and Key Transparency commit to directory entries, every event gets a fresh random salt,
kept by the ledger and never published. And so that one event can be shown in part (a public
record without the identity number behind its masked form), the event is committed member by
member, as SD-JWT commits to claims:

    members      = ("@event", [kind, ref]) and each top-level (name, value) of the payload
    member salt  = BLAKE2b-256(key = event salt, person = "xinyong-member", data = name)
    opening      = member salt || JSON [name, value]     (UTF-8, sorted keys, no whitespace)
    digest       = SHA-256(opening)
    leaf data    = "xinyong-event/2" LF || every digest, in byte order
    leaf hash    = SHA-256(0x00 || leaf data)             (RFC 9162 §2.1.1)

Handing out an opening reveals that member and nothing else: its salt is a keyed hash of the
event salt, from which neither the event salt nor another member's salt can be found. Sorting
the digests hides which undisclosed digest belongs to which name. Verifying an opening needs
SHA-256 and nothing from us.

The digests of some members can be computed apart from the others, even in another process,
once the event salt is drawn (``seal``, which can derive the member salts of the members left
for later too); ``leaf_of_sealed`` then hashes the remaining members and the leaf. The leaf is the same as ``leaf_of`` gives for the whole event: one formula, in
``_member_digests``.
"""

import hashlib
import secrets
import struct
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson

from xinyong.ledger.events import EventError, LeafInput, Sealed, check_event
from xinyong.ledger.merkle import HASH_SIZE, leaf_hash

SALT_SIZE: Final = 32
LEAF_TAG: Final = b"xinyong-event/2\n"
EVENT_MEMBER: Final = "@event"
"""The member that names the event: ``[kind, ref]``. Payload members may not start with ``@``."""
_PERSON: Final = b"xinyong-member"
_SORTED: Final = orjson.OPT_SORT_KEYS
_MAX_DERIVED: Final = 255  # member salts a seal carries at most: their count is one byte


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_SIZE)


def new_salts(count: int) -> list[bytes]:
    """``count`` fresh salts, drawn from the system's generator at once rather than one call
    each (as many random bytes, cut in salts)."""
    drawn = secrets.token_bytes(SALT_SIZE * count)
    return [drawn[start : start + SALT_SIZE] for start in range(0, len(drawn), SALT_SIZE)]


def member_salt(event_salt: bytes, name: str) -> bytes:
    return hashlib.blake2b(
        name.encode(), key=event_salt, digest_size=SALT_SIZE, person=_PERSON
    ).digest()


def _keyed(event_salt: bytes) -> hashlib.blake2b:
    """BLAKE2b keyed with ``event_salt``, to ``copy()`` once per member: the same digests as
    ``member_salt`` without compressing the key block again for every member."""
    if len(event_salt) != SALT_SIZE:
        raise EventError(f"an event salt is {SALT_SIZE} bytes, not {len(event_salt)}")
    return hashlib.blake2b(key=event_salt, digest_size=SALT_SIZE, person=_PERSON)


def members(kind: str, ref: str, payload: bytes) -> dict[str, Any]:
    """The event's members by name; raises EventError for an event that cannot be committed."""
    content = _content(kind, ref, payload)
    for name in content:
        _check_name(name)
    return {EVENT_MEMBER: [kind, ref], **content}


def _check_name(name: str) -> None:
    if name.startswith("@"):
        raise EventError(f"payload member names may not start with '@': {name!r}")


def _content(kind: str, ref: str, payload: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload's members, read from its bytes unless given as the object (their names not
    yet checked); raises EventError for an event that cannot be committed."""
    check_event(kind, ref)
    if isinstance(payload, bytes):
        try:
            content = orjson.loads(payload)
        except orjson.JSONDecodeError as error:
            raise EventError(
                f"a payload is a JSON object; {kind} {ref} is not JSON: {error}"
            ) from None
    else:
        content = payload
    if not isinstance(content, Mapping):
        raise EventError(f"a payload is a JSON object; {kind} {ref} has a {type(content).__name__}")
    return content


def _openings(salt: bytes, kind: str, ref: str, payload: bytes) -> Iterator[tuple[str, bytes]]:
    content = members(kind, ref, payload)
    for (name, value), member_salt in zip(
        content.items(), _member_salts(_keyed(salt), content), strict=True
    ):
        yield name, member_salt + orjson.dumps([name, value], option=_SORTED)


def leaf_of_digests(digests: Iterable[bytes]) -> bytes:
    """The leaf hash of an event whose member digests are ``digests`` (in any order)."""
    return leaf_hash(LEAF_TAG + b"".join(sorted(digests)))


def _member_salts(keyed: hashlib.blake2b, names: Iterable[str]) -> Iterator[bytes]:
    """The salt of each member named in ``names`` under the event salt ``keyed`` holds: the
    ``member_salt`` of each, without compressing the key block again for every member."""
    copy = keyed.copy
    for name in names:
        member = copy()
        member.update(name.encode())
        yield member.digest()


def _member_digests(
    salts: Iterable[bytes], members: Iterable[tuple[str, Any]], digests: list[bytes]
) -> None:
    """Append the digest of each payload member ``(name, value)`` under its member salt (from
    ``salts``, in the same order) to ``digests``: the one place the formula is written.

    Hot: once per member of every event logged or verified, so each member's opening is encoded
    on its own, as it is opened, in one loop."""
    sha256, dumps, append = hashlib.sha256, orjson.dumps, digests.append
    for salt, (name, value) in zip(salts, members, strict=True):
        if name.startswith("@"):
            _check_name(name)
        append(sha256(salt + dumps([name, value], option=_SORTED)).digest())


def _event_digest(salt: bytes, kind: str, ref: str) -> bytes:
    """The digest of the member that names the event, ``@event``, under its member ``salt``."""
    return hashlib.sha256(salt + orjson.dumps([EVENT_MEMBER, [kind, ref]])).digest()


def leaf_of(salt: bytes, kind: str, ref: str, payload: bytes | Mapping[str, Any]) -> bytes:
    """The leaf hash of an event under its event ``salt``: what ``append`` logs and ``verify``
    recomputes. ``payload`` is the event's canonical bytes or the JSON object they encode (its
    members, values as ``orjson`` encodes them): the same leaf, without encoding the object and
    reading it back when the bytes are not kept."""
    content = _content(kind, ref, payload)
    keyed = _keyed(salt)
    (event_salt,) = _member_salts(keyed, (EVENT_MEMBER,))
    digests = [_event_digest(event_salt, kind, ref)]
    _member_digests(_member_salts(keyed, content), content.items(), digests)
    return leaf_of_digests(digests)


def seal(salt: bytes, members: Mapping[str, Any], later: Sequence[str] = ()) -> Sealed:
    """``members`` of an event hashed under its event ``salt``, for ``leaf_of_sealed`` to finish
    with the members named ``later``: their member salts (in the order of their names) and
    ``@event``'s are derived here too, so that the finishing hashes each of them without
    deriving a salt."""
    for name in later:
        _check_name(name)
    if 1 + len(later) > _MAX_DERIVED:
        raise EventError(f"a seal derives at most {_MAX_DERIVED - 1} later members' salts")
    keyed = _keyed(salt)
    derived = b"".join(_member_salts(keyed, [EVENT_MEMBER, *sorted(later)]))
    digests: list[bytes] = []
    _member_digests(_member_salts(keyed, members), members.items(), digests)
    digests.sort()
    return salt + bytes([1 + len(later)]) + derived + b"".join(digests)


@lru_cache(maxsize=256)
def _hashes(count: int) -> struct.Struct:
    """The layout of ``count`` 32-byte hashes end to end, to cut them apart in one call."""
    return struct.Struct(f"{count * f'{HASH_SIZE}s'}")


def _opened(sealed: Sealed) -> tuple[bytes, tuple[bytes, ...], tuple[bytes, ...]]:
    """A seal's event salt, derived member salts (``@event``'s first) and member digests."""
    size = len(sealed)
    derived = sealed[SALT_SIZE] if size > SALT_SIZE else 0
    start = SALT_SIZE + 1 + derived * SALT_SIZE
    if not derived or size < start or (size - start) % HASH_SIZE:
        raise EventError(
            f"a seal is a {SALT_SIZE}-byte salt, a count of member salts, those {SALT_SIZE}-byte "
            f"salts and {HASH_SIZE}-byte digests, end to end"
        )
    return (
        sealed[:SALT_SIZE],
        _hashes(derived).unpack_from(sealed, SALT_SIZE + 1),
        _hashes((size - start) // HASH_SIZE).unpack_from(sealed, start),
    )


def sealed_salt(sealed: Sealed) -> bytes:
    """The event salt the members were sealed under."""
    return sealed[:SALT_SIZE]


def leaf_of_sealed(sealed: Sealed, kind: str, ref: str, rest: bytes | Mapping[str, Any]) -> bytes:
    """The leaf of an event whose payload is the members ``sealed`` and the members ``rest``
    (no name in both): ``leaf_of(sealed_salt(sealed), kind, ref, payload)``, hashing only
    ``rest``. Its members are those the seal was made to leave ``later`` (their salts derived
    ahead), or, for a seal made with none, any."""
    content = _content(kind, ref, rest)
    salt, derived, sealed_digests = _opened(sealed)
    salts: Iterable[bytes]
    members: Iterable[tuple[str, Any]] = content.items()
    if len(derived) == 1 + len(content):
        salts = derived[1:]
        if len(content) > 1:
            members = sorted(members)
    elif len(derived) == 1:
        salts = _member_salts(_keyed(salt), content)
    else:
        raise EventError(
            f"{kind} {ref}: the seal was made for {len(derived) - 1} later members, "
            f"not {len(content)}"
        )
    digests = [*sealed_digests, _event_digest(derived[0], kind, ref)]
    _member_digests(salts, members, digests)
    return leaf_of_digests(digests)


def salted_leaf(leaf: LeafInput, fresh_salt: bytes) -> tuple[bytes, bytes]:
    """An event to log as its leaf hash and the salt it is committed under: ``fresh_salt``, or
    the salt its members were sealed under (then ``fresh_salt`` is left unused)."""
    kind, ref, payload, sealed = leaf
    if sealed is None:
        return leaf_of(fresh_salt, kind, ref, payload), fresh_salt
    return leaf_of_sealed(sealed, kind, ref, payload), sealed_salt(sealed)


@dataclass(frozen=True)
class Commitment:
    """An event committed: every member's opening, and the digests the leaf hashes."""

    openings: Mapping[str, bytes]

    @property
    def digests(self) -> list[bytes]:
        """Every member's digest, in byte order: what the leaf hashes."""
        return sorted(hashlib.sha256(encoded).digest() for encoded in self.openings.values())

    def disclose(self, names: Collection[str] | None) -> list[bytes]:
        """The openings of ``names`` that the event has (all of them for None)."""
        if names is None:
            return list(self.openings.values())
        return [self.openings[name] for name in names if name in self.openings]


def commit(salt: bytes, kind: str, ref: str, payload: bytes) -> Commitment:
    """The commitment of an event under its event ``salt``, to open in whole or in part."""
    return Commitment(dict(_openings(salt, kind, ref, payload)))


@dataclass(frozen=True)
class Opened:
    """A member read back from its opening."""

    name: str
    value: Any
    digest: bytes


def read_opening(encoded: bytes) -> Opened:
    """The member an opening reveals; raises EventError if it is not one."""
    if len(encoded) <= SALT_SIZE:
        raise EventError("an opening is a 32-byte salt followed by a JSON [name, value]")
    try:
        member = orjson.loads(encoded[SALT_SIZE:])
    except orjson.JSONDecodeError:
        raise EventError("an opening's member is not JSON") from None
    if not (isinstance(member, list) and len(member) == 2 and isinstance(member[0], str)):
        raise EventError("an opening's member is a JSON array [name, value]")
    return Opened(member[0], member[1], hashlib.sha256(encoded).digest())


def check_digests(digests: Collection[bytes]) -> None:
    if any(len(digest) != HASH_SIZE for digest in digests):
        raise EventError(f"every member digest is a {HASH_SIZE}-byte hash")
    if len(set(digests)) != len(digests):
        raise EventError("a member digest is listed twice")
