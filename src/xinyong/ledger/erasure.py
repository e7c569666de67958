"""Erasing events at the end of their retention, without breaking the tree.

An event's leaf hash stays in the tree for ever: checkpoints signed over it must keep verifying.
What can go is the ability to open it. Erasing an event forgets its salt (and its payload, when
the ledger kept one); the feature that owns the event deletes its own rows. The erasure is itself
an event (``ledger.erased``, naming the events and the reason), so ``ledger verify`` tells an
event erased by rule from one whose salt was deleted behind the application's back.
"""

from collections.abc import Collection

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.clock import utc_now
from xinyong.ledger.events import EventError, LeafInput
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import append, ledger_size
from xinyong.store.bulk import among, chunked

ERASED = "ledger.erased"


def erase(session: Session, events: Collection[int], reason: str) -> int | None:
    """Forget the salts (and kept payloads) of ``events``, in the caller's transaction, and log
    the erasure; returns its leaf index, or None when every one was erased already."""
    if not reason.strip():
        raise EventError("an erasure states its reason (the retention rule that ended)")
    size = ledger_size(session)
    outside = sorted(event for event in events if not 0 <= event < size)
    if outside:
        raise EventError(f"event {outside[0]} is not in the ledger of {size} events")
    connection = session.connection()
    wanted: list[int] = []
    for chunk in chunked(sorted(set(events))):
        rows = session.execute(
            select(LedgerLeaf.leaf_index, LedgerLeaf.kind).where(
                among(connection, LedgerLeaf.leaf_index, chunk), LedgerLeaf.salt.is_not(None)
            )
        )
        for index, kind in rows:
            if kind == ERASED:
                raise EventError(f"event {index} records an erasure; it is kept as evidence")
            wanted.append(index)
    if not wanted:
        return None
    wanted.sort()
    for chunk in chunked(wanted):
        session.execute(
            update(LedgerLeaf)
            .where(among(connection, LedgerLeaf.leaf_index, chunk))
            .values(salt=None, payload=None)
            .execution_options(synchronize_session=False)
        )
    payload = orjson.dumps(
        {"events": wanted, "reason": reason.strip(), "at": utc_now().isoformat()},
        option=orjson.OPT_SORT_KEYS,
    )
    (index,) = append(session, [LeafInput(ERASED, str(wanted[0]), payload)])
    return index


def erased_events(session: Session) -> set[int]:
    """Every event that a logged erasure names."""
    erased: set[int] = set()
    for payload in session.scalars(
        select(LedgerLeaf.payload).where(LedgerLeaf.kind == ERASED, LedgerLeaf.payload.is_not(None))
    ):
        assert payload is not None
        try:
            named = orjson.loads(payload)["events"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # an altered erasure: verification reports its leaf as changed
        erased.update(event for event in named if isinstance(event, int))
    return erased
