"""The signal that records changed: what derives from a subject's records must follow them.

Every writer of record events sends it in its own transaction: ingest (new records,
corrections, withdrawals; an upheld objection goes through ingest too), credit repair and
expiry (which also sends it when entries ran out on the calendar). Who listens is decided by
the assembly (``xinyong.assembly``): joint enforcement refreshes the subjects' entries and the
measures index, and subjects' rights tell them of new negative records.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from xinyong.policy import Pack
from xinyong.signals import Signal


@dataclass(frozen=True, slots=True)
class RecordsChanged:
    """The records of ``subject_ids`` changed in ``session``'s transaction, as of ``day`` in
    China; ``events`` are the new record events as ``(event, record)`` rows, when the writer
    has them (ingest does)."""

    session: Session
    pack: Pack
    subject_ids: Collection[int]
    day: date
    events: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]] = ()


records_changed: Signal[RecordsChanged] = Signal("records changed")
