"""What a leaf of the ledger is: one event, named by its kind and reference, with its content."""

from collections.abc import Mapping
from typing import Any, NamedTuple, TypeAlias

import orjson

Sealed: TypeAlias = bytes
"""Some payload members of an event, hashed ahead of the others (in another process, say): the
event's 32-byte salt, a byte counting the member salts that follow, the 32-byte member salts of
``@event`` and of the members left for later (in the order of their names), then the members'
32-byte digests in byte order, end to end. One bytes object, cheap to hand between processes by
the thousand; ``xinyong.ledger.commitment.seal`` makes it."""


class LeafInput(NamedTuple):
    """An event to log. ``payload`` is the event's canonical bytes (a JSON object), or that
    object itself, whose members the leaf commits to without reading bytes back: an appender
    encodes it only to keep it (``canonical``).

    With ``sealed``, the payload's other members were hashed ahead under the salt it carries,
    and ``payload`` holds only the rest: the event is committed under that salt, and its
    payload, not whole here, cannot be kept (only a kind whose payloads verification rebuilds
    may be logged so)."""

    kind: str
    ref: str
    payload: bytes | Mapping[str, Any]
    sealed: Sealed | None = None


def canonical(payload: bytes | Mapping[str, Any]) -> bytes:
    """A payload's canonical bytes: JSON with sorted keys and no whitespace."""
    if isinstance(payload, bytes):
        return payload
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


class EventError(ValueError):
    """An event that cannot be logged as given."""


def kept_payload(leaf: LeafInput) -> bytes:
    """The payload a leaf row keeps for ``leaf``: its canonical bytes, when it has them whole.
    A sealed event's payload holds only the members left after the seal, so it cannot be kept:
    only kinds whose payloads verification rebuilds may be logged sealed."""
    if leaf.sealed is not None:
        raise EventError(
            f"{leaf.kind} {leaf.ref}: an event sealed in part has no whole payload to keep; "
            "only kinds whose payloads verification rebuilds may be logged sealed"
        )
    return canonical(leaf.payload)


def check_event(kind: str, ref: str) -> None:
    """Kind and reference name the event in proofs and reports: a kind is required, and neither
    may hold a line feed, so that they print on one line."""
    if not kind or "\n" in kind or "\n" in ref:
        raise EventError(
            f"an event needs a kind, and no line feed in its kind or ref: {kind!r} {ref!r}"
        )
