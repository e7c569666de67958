"""The signal that list entries changed: entries started, and entries ended before their time.

The entry refresh (``xinyong.enforcement.refresh``) sends it inside the writer's transaction,
after it stored the new entries. Who listens is decided by the assembly
(``xinyong.assembly``): subjects' rights tell each subject of a listing and of an early end.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Connection

from xinyong.enforcement.rules import Entry
from xinyong.policy import Pack
from xinyong.signals import Signal

StartedEntry = tuple[int, int, Entry]
"""A new entry's id, its subject's id, and the entry."""
EndedEntry = tuple[int, int, Entry, Entry]
"""An entry's id, its subject's id, the entry before and after it was ended."""


@dataclass(frozen=True, slots=True)
class EntriesChanged:
    """Entries ``started`` and ``ended`` on ``connection``, refreshed as of ``day`` in China."""

    connection: Connection
    pack: Pack
    day: date
    started: Sequence[StartedEntry]
    ended: Sequence[EndedEntry]


entries_changed: Signal[EntriesChanged] = Signal("entries changed")
