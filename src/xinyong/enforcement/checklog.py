"""The check log: who asked about which subject, why, for what, and the answer.

The subject sees this log, so an answered check must never lack its row. The server writes a
request's rows before it answers (``CheckLog.write``), and concurrent requests share one
transaction (group commit): a writer thread takes everything queued, writes it as one
*group* and commits, then releases the requests of the group to answer, while the next group
gathers. A worker killed at any moment has answered only checks whose rows are committed.

A group whose write fails is split into its requests and each is written alone, so one bad
request (a value the store refuses) fails only itself, with a 503, and logging goes on.

Every group is a row of ``check_log_groups``; a few times a second (and when a process
starts, for what a killed one left) unsealed groups get one ledger leaf each, whose payload
is rebuilt from the group's stored rows (a registered ledger source): ``xinyong ledger
verify`` then reports an edited or deleted check-log row by its group.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.models import CheckLogGroup, CheckLogRow, subject_key
from xinyong.ledger import LeafInput, append, register_source
from xinyong.store.base import Base
from xinyong.store.bulk import BulkTable, among, chunked

TABLE = Base.metadata.tables[CheckLogRow.__tablename__]
GROUPS = Base.metadata.tables[CheckLogGroup.__tablename__]
KIND = "check_log.group"
"""The ledger kind of a group's leaf; its reference is the group's id."""
SEAL_SECONDS = 0.5
"""How long a written group may wait for its ledger leaf while the process runs."""
LOG = logging.getLogger(__name__)


class CheckLogFailed(RuntimeError):
    """Rows the store refused: their checks must not be answered."""


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked: the API key id (``cli`` from the command line) and its label."""

    key_id: str
    label: str


@dataclass(slots=True)
class _Request:
    """One request's decisions and what they share: who asked, why, when, under which policy."""

    checked_at: datetime
    asker: Asker
    purpose: str
    as_of: date
    policy_version: str
    decisions: list[tuple[str, str, str, str]]
    """(decision id, subject, action, effect) per decision."""
    waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
    """Where to say the rows are written (a request of the server), or None (a command)."""
    error: BaseException | None = field(default=None)


# A row's own values, in the order the writer builds them; the values a request shares with
# others (who asked, why, for which day, under which policy) are sent once per group of rows.
_ROW_COLUMNS = ("subject_key", "decision_id", "subject", "action", "effect", "checked_at")
_SHARED_COLUMNS = ("relying_party", "relying_party_label", "purpose", "as_of", "policy_version")
# What a group's leaf commits to, per row, in id order.
_SEALED_COLUMNS = (
    "id",
    "decision_id",
    "checked_at",
    "relying_party",
    "relying_party_label",
    "purpose",
    "subject",
    "subject_key",
    "action",
    "as_of",
    "effect",
    "policy_version",
)


class CheckLog:
    """Check-log rows queued by requests, written in groups and sealed on the ledger."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._pending: list[_Request] = []
        self._ready = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._unsealed = False

    def add_all(self, decisions: Sequence[Decision], asker: Asker, purpose: str) -> None:
        """Queue the decisions of one request for the next ``flush`` (commands, tests)."""
        if decisions:
            self._queue(_request(decisions, asker, purpose))

    async def write(self, decisions: Sequence[Decision], asker: Asker, purpose: str) -> None:
        """Log the decisions of one request; returns once their rows are committed.

        Raises ``CheckLogFailed`` if the store refused them. Needs the writer (``start``).
        """
        if not decisions:
            return
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._queue(_request(decisions, asker, purpose, (loop, written)))
        await written

    def _queue(self, request: _Request) -> None:
        with self._ready:
            self._pending.append(request)
            self._ready.notify()

    def flush(self) -> int:
        """Write what is queued, in this thread, then seal it; returns the rows written.

        Raises ``CheckLogFailed`` after writing the rest if some request could not be written.
        """
        with self._ready:
            pending, self._pending = self._pending, []
        written, failed = self._write(pending)
        self.seal()
        if failed:
            raise CheckLogFailed(f"{failed} check-log rows could not be written; see the log")
        return written

    def _write(self, requests: Sequence[_Request]) -> tuple[int, int]:
        """Write ``requests`` as one group, or each alone if that fails; tell their waiters.

        Returns the rows written and the rows refused.
        """
        if not requests:
            return 0, 0
        written = failed = 0
        try:
            written = self._insert(requests)
        except Exception as error:
            if len(requests) == 1:
                LOG.exception("check log: the store refused a request's rows")
                requests[0].error = CheckLogFailed(f"the check log refused the rows: {error}")
                failed = len(requests[0].decisions)
            else:
                for request in requests:
                    alone_written, alone_failed = self._write_alone(request)
                    written += alone_written
                    failed += alone_failed
        _release(requests)
        return written, failed

    def _write_alone(self, request: _Request) -> tuple[int, int]:
        try:
            return self._insert([request]), 0
        except Exception as error:
            LOG.exception("check log: the store refused a request's rows")
            request.error = CheckLogFailed(f"the check log refused the rows: {error}")
            return 0, len(request.decisions)

    def _insert(self, requests: Sequence[_Request]) -> int:
        """One transaction: a group row and the rows of ``requests``, committed."""
        written = 0
        with self.factory.begin() as session:
            connection = session.connection()
            group = connection.execute(
                insert(GROUPS).values(written_at=utc_now(), sealed=False).returning(GROUPS.c.id)
            ).scalar_one()
            table = BulkTable(connection, TABLE, columns=_ROW_COLUMNS)
            for shared, rows in _by_shared_values(table, requests).items():
                constants = dict(zip(_SHARED_COLUMNS, shared, strict=True))
                table.insert_values_unlocked(rows, {**constants, "group_id": group})
                written += len(rows)
        self._unsealed = True
        return written

    def seal(self) -> int:
        """Give every written group not yet on the ledger its leaf; returns how many.

        Each group is claimed by the statement that marks it sealed, so processes sealing at
        the same time never seal a group twice.
        """
        with self.factory.begin() as session:
            claimed = sorted(
                session.execute(
                    update(CheckLogGroup)
                    .where(~CheckLogGroup.sealed)
                    .values(sealed=True)
                    .returning(CheckLogGroup.id)
                    .execution_options(synchronize_session=False)
                ).scalars()
            )
            refs = [str(group) for group in claimed]
            payloads = group_payloads(session, refs)
            # A group whose rows are gone before sealing commits to having none.
            append(session, [LeafInput(KIND, ref, payloads.get(ref, b"[]")) for ref in refs])
        self._unsealed = False
        return len(claimed)

    def start(self) -> None:
        """Write queued requests from a thread of their own, and seal, until ``stop``."""
        if self._thread is not None:
            return
        self._stopping = False
        self._unsealed = True  # groups a killed process wrote and never sealed
        self._thread = threading.Thread(target=self._run, name="check-log", daemon=True)
        self._thread.start()
        # A worker that shuts down normally writes and seals what it still holds.
        atexit.register(self.stop)

    def stop(self) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        next_seal = time.monotonic()
        while True:
            with self._ready:
                while not self._pending and not self._stopping:
                    if self._unsealed and time.monotonic() >= next_seal:
                        break
                    self._ready.wait(
                        max(0.0, next_seal - time.monotonic()) if self._unsealed else None
                    )
                pending, self._pending = self._pending, []
                stopping = self._stopping
            self._write(pending)
            if self._unsealed and (stopping or time.monotonic() >= next_seal):
                try:
                    self.seal()
                except Exception:
                    LOG.exception("check log: sealing failed; the groups are sealed later")
                next_seal = time.monotonic() + SEAL_SECONDS
            if stopping and not pending:
                return


def _request(
    decisions: Sequence[Decision],
    asker: Asker,
    purpose: str,
    waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None,
) -> _Request:
    first = decisions[0]
    return _Request(
        utc_now(),
        asker,
        purpose,
        first.as_of,
        first.policy_version,
        [
            (decision.decision_id, decision.subject_id, decision.action, decision.effect)
            for decision in decisions
        ],
        waiter,
    )


def _release(requests: Sequence[_Request]) -> None:
    """Wake the requests waiting for these rows: one call into each event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Request]] = defaultdict(list)
    for request in requests:
        if request.waiter is not None:
            by_loop[request.waiter[0]].append(request)
    for loop, waiting in by_loop.items():
        # A closed loop has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, waiting)


def _settle(requests: Sequence[_Request]) -> None:
    for request in requests:
        assert request.waiter is not None
        written = request.waiter[1]
        if written.done():  # the client went away and its request was cancelled
            continue
        if request.error is None:
            written.set_result(None)
        else:
            written.set_exception(request.error)


def _by_shared_values(
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


def group_payloads(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    """The canonical bytes of each group named by ``refs``: its rows as stored now, in id order.

    Groups without rows are left out (the ledger reports them as deleted).
    """
    ids = [int(ref) for ref in refs if ref.isascii() and ref.isdigit()]
    columns = [TABLE.c[name] for name in _SEALED_COLUMNS]
    rows: dict[str, list[list[Any]]] = defaultdict(list)
    connection = session.connection()
    for chunk in chunked(ids):
        for group, *values in session.execute(
            select(TABLE.c.group_id, *columns)
            .where(among(connection, TABLE.c.group_id, chunk))
            .order_by(TABLE.c.group_id, TABLE.c.id)
        ):
            rows[str(group)].append(values)
    return {ref: orjson.dumps(group_rows) for ref, group_rows in rows.items()}


register_source(KIND, group_payloads)
