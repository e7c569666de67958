"""What a leaf of the ledger is: one event, named by its kind and reference, with its content."""

from typing import NamedTuple


class LeafInput(NamedTuple):
    """An event to log. ``payload`` is the event's canonical bytes: a JSON object."""

    kind: str
    ref: str
    payload: bytes


class EventError(ValueError):
    """An event that cannot be logged as given."""


def check_event(kind: str, ref: str) -> None:
    """Kind and reference name the event in proofs and reports: a kind is required, and neither
    may hold a line feed, so that they print on one line."""
    if not kind or "\n" in kind or "\n" in ref:
        raise EventError(
            f"an event needs a kind, and no line feed in its kind or ref: {kind!r} {ref!r}"
        )
