"""The check log: who asked about which subject, why, for what, and the answer.

The subject sees this log. Rows are buffered and written in batches (by a background thread
in the API, at once by the CLI), because one INSERT per check would cost more than the check:
a crash loses at most the last ``interval`` seconds of rows, which is documented in
``docs/enforcement.md``. A request's decisions share who asked, why, when and under which
policy, so the buffer keeps those once per request and four strings per decision.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.models import CheckLogRow, subject_key
from xinyong.store.base import Base
from xinyong.store.bulk import BulkTable

TABLE = Base.metadata.tables[CheckLogRow.__tablename__]
LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked: the API key id (``cli`` from the command line) and its label."""

    key_id: str
    label: str


@dataclass(frozen=True, slots=True)
class _Request:
    """One request's decisions and what they share: who asked, why, when, under which policy."""

    checked_at: datetime
    asker: Asker
    purpose: str
    as_of: date
    policy_version: str
    decisions: list[tuple[str, str, str, str]]
    """(decision id, subject, action, effect) per decision."""


# A row's own values, in the order the flush builds them; the values a request shares with
# others (who asked, why, for which day, under which policy) are sent once per group of rows.
_ROW_COLUMNS = ("subject_key", "decision_id", "subject", "action", "effect", "checked_at")
_SHARED_COLUMNS = ("relying_party", "relying_party_label", "purpose", "as_of", "policy_version")


class CheckLog:
    """A buffer of check-log rows, flushed to the store in batches."""

    def __init__(self, factory: sessionmaker[Session], *, max_rows: int = 200_000) -> None:
        """``max_rows``: past this many buffered rows a request flushes at once (back-pressure
        when the flushing thread falls behind); otherwise only that thread writes."""
        self.factory = factory
        self.max_rows = max_rows
        self._pending: list[_Request] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_all(self, decisions: Sequence[Decision], asker: Asker, purpose: str) -> None:
        """Log the decisions of one request (one instant for all of them)."""
        if not decisions:
            return
        first = decisions[0]
        request = _Request(
            utc_now(),
            asker,
            purpose,
            first.as_of,
            first.policy_version,
            [
                (decision.decision_id, decision.subject_id, decision.action, decision.effect)
                for decision in decisions
            ],
        )
        with self._lock:
            self._pending.append(request)
            self._rows += len(decisions)
            full = self._rows >= self.max_rows
        if full:
            self.flush()

    def flush(self) -> int:
        """Write the buffered rows; returns how many."""
        with self._flushing:
            with self._lock:
                pending, self._pending, self._rows = self._pending, [], 0
            if not pending:
                return 0
            try:
                written = 0
                with self.factory.begin() as session:
                    table = BulkTable(session.connection(), TABLE, columns=_ROW_COLUMNS)
                    for shared, rows in _groups(table, pending).items():
                        table.insert_values_unlocked(
                            rows, dict(zip(_SHARED_COLUMNS, shared, strict=True))
                        )
                        written += len(rows)
            except Exception:
                # Keep the rows (a busy or unreachable store must not lose the log); the next
                # flush writes them with whatever has come since.
                with self._lock:
                    self._pending[:0] = pending
                    self._rows += sum(len(request.decisions) for request in pending)
                raise
            return written

    def start(self, interval: float = 0.2) -> None:
        """Flush every ``interval`` seconds from a daemon thread, until ``stop``."""
        if self._thread is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.flush()
                except Exception:
                    LOG.exception("check log: flush failed; the rows are kept and retried")

        self._thread = threading.Thread(target=run, name="check-log", daemon=True)
        self._thread.start()
        # A worker that shuts down normally writes what it still holds.
        atexit.register(self.stop)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()


def _groups(
    table: BulkTable, pending: Sequence[_Request]
) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The rows of ``pending`` by the values they share, each group in subject-key order.

    In key order, the inserts into the ``subject_key`` index touch neighbouring pages instead
    of random ones.
    """
    moment = table.converter("checked_at")
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for request in pending:
        shared = (
            request.asker.key_id,
            request.asker.label,
            request.purpose,
            request.as_of,
            request.policy_version,
        )
        rows = groups.setdefault(shared, [])
        at = moment(request.checked_at)
        for decision in request.decisions:
            rows.append((subject_key(decision[1]), *decision, at))
    for rows in groups.values():
        rows.sort(key=itemgetter(0))
    return groups
