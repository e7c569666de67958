"""What a leaf of the ledger is: one event, named by its kind and reference, with its content."""

from typing import NamedTuple


class LeafInput(NamedTuple):
    """An event to log. ``payload`` is the event's canonical bytes."""

    kind: str
    ref: str
    payload: bytes


class EventError(ValueError):
    """An event that cannot be logged as given."""


def leaf_data(kind: str, ref: str, payload: bytes) -> bytes:
    """The bytes a leaf hashes: ``kind`` LF ``ref`` LF ``payload``.

    Kind and reference are hashed with the payload so that a proof names what it proves; they
    may not contain a line feed, which keeps the encoding unambiguous and readable.
    """
    if not kind or "\n" in kind or "\n" in ref:
        raise EventError(
            f"an event needs a kind, and no line feed in its kind or ref: {kind!r} {ref!r}"
        )
    return b"%s\n%s\n%s" % (kind.encode(), ref.encode(), payload)
