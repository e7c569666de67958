"""The check log: who asked about which subject, why, for what, and the answer.

The subject sees this log, so an answered check must never lack its row. A serving process
answers a request once its rows are in its journal (``journal.Journal``: one append to a file
for the requests of a turn of the event loop, which a killed process cannot undo), and moves
the journalled rows into the store in groups a few times a second (``CheckLog.write``): the
answer waits for a system call shared with its neighbours, not for a commit.
Commands (``add_all`` and ``flush``) write to the store before they show a decision. A process
that starts moves what the journals of killed processes hold and the store lacks, once (each
group records the last journal entry it holds).

The event loop never waits for the store: writers take turns through a file lock on a SQLite
file (``_StoreTurn``), the writer's connection gives up at once when another writer holds the
store (``busy_timeout`` 0; ``lock_timeout`` on PostgreSQL), and then the group goes back to
the queue and is tried again shortly. SQLite's write-ahead log is copied back into the
database by a thread, never in a commit.

A group whose write fails is split into its requests and each is written alone, so one bad
request (a value the store refuses) fails only itself: a command says so and shows no
decision; an answered request's rows go to the journal directory's ``refused.jsonl`` for an
operator, with the reason, and logging goes on.

Every group is a row of ``check_log_groups``. About twice a second a worker seals the groups
it wrote: one ledger leaf per group, whose payload a ledger source (``group_payloads``,
registered by the assembly) rebuilds from
the group's stored rows (so ``xinyong ledger verify`` reports an edited or deleted row by its
group), and one ``check_log_subjects`` entry per subject and group (how a subject finds its
rows: an index on the hot table would cost every small commit a page per row). Groups that a
killed worker wrote and never sealed are sealed, read back from the store, by a worker that
starts or sweeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from sqlalchemy import Connection, Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.journal import Entry, Journal, JournalFailed, Row, keep_refused, orphans
from xinyong.enforcement.models import CheckLogGroup, CheckLogRow, CheckLogSubject
from xinyong.enforcement.sealing import KIND as KIND
from xinyong.enforcement.sealing import SEALED_COLUMNS, SUBJECT_KEY, group_payload
from xinyong.enforcement.subjects import subject_key
from xinyong.ledger import LeafInput, append
from xinyong.store.base import Base
from xinyong.store.bulk import MARKERS, BulkTable, among, chunked
from xinyong.store.db import BUSY_TIMEOUT_MS
from xinyong.tracing import REQUEST_ID

TABLE = Base.metadata.tables[CheckLogRow.__tablename__]
GROUPS = Base.metadata.tables[CheckLogGroup.__tablename__]
SUBJECTS = Base.metadata.tables[CheckLogSubject.__tablename__]
SEAL_SECONDS = 0.5
"""How long a written group may wait for its ledger leaf while the process runs."""
DRAIN_SECONDS = 0.05
"""How long journalled rows wait to be moved into the store: a commit costs as much as a
dozen rows, so a serving process writes what a twentieth of a second brings as one group."""
MOST_PENDING = 200_000
"""Requests journalled and not yet in the store beyond which a serving process stops
answering (503) until the store takes them: the store has been unreachable for a while."""
RECOVERY_GROUP = 5_000
"""Requests per group when a killed process's journal is moved into the store."""
CHECKPOINT_SECONDS = 1.0
"""How often a serving process copies SQLite's write-ahead log back into the database."""
LOCK_WAIT_MS = 20
"""On PostgreSQL, how long a check-log write may wait for a lock (the ledger's head, held by
an ingest) before it is tried again later."""
PATIENCE_SECONDS = 30.0
"""How long a command waits for a busy store before it gives up."""
RETRY_SECONDS = 0.002
"""How soon a command tries again when another process is writing to the check log."""
SWEEP_SECONDS = 30.0
"""How often a worker seals groups left unsealed this long (by a worker that was killed)."""
LOG = logging.getLogger(__name__)
_T = TypeVar("_T")


class CheckLogFailed(RuntimeError):
    """Rows that could not be logged: their checks must not be answered."""


class _StoreUnavailable(CheckLogFailed):
    """The store stayed busy or unreachable: the rows are not written (and, if journalled,
    still in the journal)."""


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked: the API key id (``cli`` from the command line) and its label."""

    key_id: str
    label: str


@dataclass(slots=True)
class _Request:
    """One request's rows and what they share: who asked, why, for which day, under which
    policy, when it was answered, and where it is journalled."""

    asker: Asker
    purpose: str
    as_of: date
    policy_version: str
    rows: list[Row]
    """(subject key, decision id, subject, action, effect, request id) per decision."""
    answered_at: datetime
    journal: str | None = None
    """The name of the journal holding the request (None: a command's, not journalled)."""
    seq: int = 0
    """Its entry's number in that journal."""

    def entry(self) -> Entry:
        return Entry(
            self.seq,
            self.answered_at,
            self.asker.key_id,
            self.asker.label,
            self.purpose,
            self.as_of,
            self.policy_version,
            self.rows,
        )


# A row's own values, in the order the writer builds them (with its request's instant); the
# values a request shares with others (who asked, why, for which day, under which policy) and
# the group's id are sent once per statement.
_ROW_COLUMNS = (
    "subject_key",
    "decision_id",
    "subject",
    "action",
    "effect",
    "request_id",
    "checked_at",
)
_SHARED_COLUMNS = ("relying_party", "relying_party_label", "purpose", "as_of", "policy_version")
_GROUP_COLUMNS = (*_SHARED_COLUMNS, "group_id")


@dataclass(slots=True)
class _Group:
    """A group written by this process and not yet sealed: its rows as the leaf commits to
    them, and the subject keys its rows are about."""

    rows: list[list[Any]]
    keys: set[int]


class CheckLog:
    """Check-log rows queued by requests, written in groups and sealed on the ledger."""

    def __init__(self, factory: sessionmaker[Session], journals: Path | None = None) -> None:
        """``journals``: the directory of serving processes' journals (needed by ``write``;
        ``start`` moves the rows of killed processes' journals found there into the store)."""
        self.factory = factory
        self._journals = journals
        engine: Engine = factory.kw["bind"]
        self._store_name = engine.url.render_as_string(hide_password=True)
        self._journal: Journal | None = None
        self._pending: list[_Request] = []
        # Requests journalled at the next turn of the event loop, in one write: their lines,
        # and the future they wait for.
        self._journalling: list[_Request] = []
        self._lines: list[bytes] = []
        self._group: asyncio.Future[None] | None = None
        self._lock = threading.Lock()
        self._store = _StoreTurn(engine)
        self._writer: _GroupWriter | None = None
        self._written: dict[int, _Group] = {}
        self._due = False
        self._next_seal = 0.0
        self._next_sweep = 0.0
        self._seal_timer: asyncio.TimerHandle | None = None
        self._stopping = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def add_all(self, decisions: Sequence[Decision], asker: Asker, purpose: str) -> None:
        """Queue the decisions of one request for the next ``flush`` (commands, tests)."""
        if decisions:
            with self._lock:
                self._pending.append(_request(decisions, asker, purpose))

    async def write(self, decisions: Sequence[Decision], asker: Asker, purpose: str) -> None:
        """Journal the decisions of one request; once this returns they may be answered.

        Called on the serving event loop. The requests of one turn of the loop are journalled
        together at the start of the next, in one ``write`` (a system call costs more than a
        check); each waits for its group's write, and the loop moves the journalled rows into
        the store within ``DRAIN_SECONDS``. Raises ``CheckLogFailed`` if the journal refused
        them, or if the store has not taken ``MOST_PENDING`` requests (it is unreachable).
        """
        if not decisions:
            return
        if self._journals is None:
            raise RuntimeError("a check log without a journal directory cannot answer requests")
        request = _request(decisions, asker, purpose)
        with self._lock:
            if len(self._pending) >= MOST_PENDING:
                raise CheckLogFailed("the store has not taken the check log for a while")
            if self._journal is None:
                self._journal = Journal(self._journals, self._store_name)
            request.seq, line = self._journal.entry(
                request.answered_at,
                asker.key_id,
                asker.label,
                purpose,
                request.as_of,
                request.policy_version,
                request.rows,
            )
            request.journal = self._journal.name
            self._journalling.append(request)
            self._lines.append(line)
            group = self._group
            if group is None:
                loop = asyncio.get_running_loop()
                group = self._group = loop.create_future()
                loop.call_soon(self._journal_group)
        await group

    def _journal_group(self) -> None:
        """Write the lines of the requests waiting for the journal, then let them answer."""
        failed: CheckLogFailed | None = None
        due = True
        with self._lock:
            group, self._group = self._group, None
            requests, self._journalling = self._journalling, []
            lines, self._lines = self._lines, []
            try:
                if self._journal is None:  # the log stopped meanwhile
                    raise JournalFailed("the check journal is closed")
                self._journal.write(b"".join(lines))
            except JournalFailed as error:
                failed = CheckLogFailed(str(error))
            else:
                self._pending.extend(requests)
                due, self._due = self._due, True
        if not due:
            asyncio.get_running_loop().call_later(DRAIN_SECONDS, self._write_due)
        if group is None or group.done():  # its requests were cancelled (a shutdown)
            return
        if failed is None:
            group.set_result(None)
        else:
            group.set_exception(failed)

    def pending(self) -> int:
        """Requests answered (journalled) or queued whose rows are not yet in the store."""
        with self._lock:
            return len(self._pending)

    def _write_due(self) -> None:
        loop = asyncio.get_running_loop()
        # Another process is writing: its turn ends soon, the rows wait in the journal.
        if not self._store.enter(blocking=False):
            loop.call_later(RETRY_SECONDS, self._write_due)
            return
        try:
            with self._lock:
                pending, self._pending, self._due = self._pending, [], False
            self._write(pending)
            if self._written and time.monotonic() >= self._next_seal:
                self._seal_and_log()
        except _StoreBusy:
            # Another writer (an ingest, a sign-in) holds the store: this loop does not wait
            # in SQLite's busy handler or for a lock, it serves requests and tries again.
            self._queue_again(pending)
            loop.call_later(DRAIN_SECONDS, self._write_due)
            return
        except Exception:
            # The store is unreachable: the rows stay journalled and queued.
            LOG.exception("check log: writing failed; tried again shortly")
            self._queue_again(pending)
            loop.call_later(DRAIN_SECONDS, self._write_due)
            return
        finally:
            self._store.leave()
        if self._written and self._seal_timer is None:
            # Sealed when due even if no further check comes.
            self._seal_timer = loop.call_later(SEAL_SECONDS, self._seal_due)

    def _seal_due(self) -> None:
        self._seal_timer = None
        if not self._written and time.monotonic() < self._next_sweep:
            return
        if not self._store.enter(blocking=False):
            self._seal_timer = asyncio.get_running_loop().call_later(RETRY_SECONDS, self._seal_due)
            return
        try:
            self._seal_and_log()
        finally:
            self._store.leave()

    def _seal_and_log(self) -> None:
        # On the event loop: a thread would get the interpreter lock from the busy loop only
        # at switch intervals, and hold the writers' turn many times longer.
        try:
            self._seal()
        except _StoreBusy:
            pass  # sealed on the next occasion
        except Exception:
            LOG.exception("check log: sealing failed; the groups are sealed later")
        self._next_seal = time.monotonic() + SEAL_SECONDS

    def _queue_again(self, requests: Sequence[_Request]) -> None:
        with self._lock:
            self._pending[:0] = requests
            self._due = True

    def _patiently(self, step: Callable[[], _T]) -> _T:
        """``step()`` in the writers' turn, waiting (in this thread) while the store is busy."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            with self._store:
                try:
                    return step()
                except _StoreBusy:
                    if time.monotonic() > deadline:
                        raise _StoreUnavailable(
                            "the store stayed busy; the rows are not written"
                        ) from None
            time.sleep(RETRY_SECONDS)

    def flush(self) -> int:
        """Write what is queued, in this thread, then seal it; returns the rows written.

        Raises ``CheckLogFailed`` after writing the rest if some request could not be written.
        """
        with self._lock:
            pending, self._pending = self._pending, []

        def write() -> tuple[int, int]:
            return self._write(pending)

        written, failed = self._patiently(write)
        while self._pending:
            with self._lock:
                pending, self._pending = self._pending, []
            more, refused = self._patiently(write)
            written, failed = written + more, failed + refused
        self._patiently(self._seal)
        if failed:
            raise CheckLogFailed(f"{failed} check-log rows could not be written; see the log")
        return written

    def start(self) -> int:
        """Move into the store what killed processes' journals hold and it lacks, and seal
        what they left unsealed; on SQLite, copy the write-ahead log back into the database
        from a thread of its own, until ``stop``. Returns the rows moved from journals."""
        self._next_sweep = 0.0
        moved = self._recover()
        self._patiently(self._seal_and_log)
        engine: Engine = self.factory.kw["bind"]
        if engine.dialect.name == "sqlite" and self._checkpointer is None:
            _quiet_checkpoints(engine)
            self._stopping.clear()
            self._checkpointer = threading.Thread(
                target=self._checkpoint_often, args=(engine,), name="check-log-wal", daemon=True
            )
            self._checkpointer.start()
        return moved

    def _recover(self) -> int:
        """Move the entries of orphaned journals that no group holds into the store, then
        delete the journals (still locked, so no other process moves them again)."""
        if self._journals is None:
            return 0
        moved = 0
        with orphans(self._journals, self._store_name) as found:
            for name, entries, path in found:

                def step(name: str = name, entries: list[Entry] = entries) -> int:
                    held = self._held(name)
                    requests = [_journalled(name, entry) for entry in entries if entry.seq > held]
                    written = 0
                    for start in range(0, len(requests), RECOVERY_GROUP):
                        chunk = requests[start : start + RECOVERY_GROUP]
                        written += self._write(chunk, requeue=False)[0]
                    return written

                count = self._patiently(step)
                path.unlink()
                if count:
                    LOG.warning("check log: %d rows moved from the journal %s", count, path)
                moved += count
        return moved

    def _held(self, journal: str) -> int:
        """The last entry of ``journal`` a group in the store holds (0: none)."""
        with self.factory() as session:
            held = session.scalar(
                select(func.max(CheckLogGroup.journal_seq)).where(CheckLogGroup.journal == journal)
            )
        return int(held or 0)

    def _checkpoint_often(self, engine: Engine) -> None:
        """Copy the write-ahead log back into the database every second, outside the writers'
        turn and the event loop: in a commit (SQLite's default) every request of the group
        would wait for tens of megabytes to be copied and synced."""
        while not self._stopping.wait(CHECKPOINT_SECONDS):
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:
                LOG.exception("check log: checkpoint failed; tried again in a second")

    def stop(self) -> None:
        """Write and seal what is still queued (a worker shutting down)."""
        if self._seal_timer is not None:
            self._seal_timer.cancel()
            self._seal_timer = None
        self._stopping.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        written_all = True
        try:
            self.flush()
        except _StoreUnavailable:
            written_all = False  # the journal keeps them for the next process that starts
            LOG.exception("check log: rows left in the journal while shutting down")
        except CheckLogFailed:
            LOG.exception("check log: rows refused while shutting down")
        with self._store:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        if self._journal is not None:
            self._journal.close(remove=written_all)
            self._journal = None

    # The methods below run in the store's turn (``self._store``).

    def _write(self, requests: Sequence[_Request], *, requeue: bool = True) -> tuple[int, int]:
        """Write ``requests`` as one group, or each alone if that fails.

        Returns the rows written and the rows refused. Raises ``_StoreBusy`` if the store was
        busy before anything was written; requests left when it turns busy later are queued
        again (``requeue``) or it raises then too (the caller starts over).
        """
        if not requests:
            return 0, 0
        written = failed = 0
        try:
            written = self._insert(requests)
        except _StoreBusy:
            raise
        except Exception as error:
            if len(requests) == 1:
                failed = self._refused(requests[0], error)
            else:
                for position, request in enumerate(requests):
                    try:
                        written += self._insert([request])
                    except _StoreBusy:
                        if not requeue:
                            raise
                        self._queue_again(requests[position:])
                        break
                    except Exception as alone:
                        failed += self._refused(request, alone)
        return written, failed

    def _refused(self, request: _Request, error: Exception) -> int:
        """Say that the store refused ``request``'s rows; keep them if it was answered."""
        LOG.error("check log: the store refused a request's rows: %r", error)
        if request.journal is not None and self._journals is not None:
            keep_refused(self._journals, request.entry(), error)
        return len(request.rows)

    def _insert(self, requests: Sequence[_Request]) -> int:
        """One transaction: a group row and the rows of ``requests``, committed."""
        writer = self._writer_connection()
        try:
            group, rows = writer.insert(requests)
        except Exception as error:
            self._after(error)
            raise
        written = _Group(rows, {row[SUBJECT_KEY] for row in rows})
        with self._lock:
            self._written[group] = written
        return len(rows)

    def _seal(self) -> int:
        """Seal the groups this process wrote (and, when a sweep is due, those that others
        left unsealed): a ledger leaf each, and their subjects' entries. Returns how many.

        Each group is claimed by the statement that marks it sealed, so processes sealing at
        the same time never seal a group twice.
        """
        with self._lock:
            own, self._written = self._written, {}
        try:
            return self._seal_groups(own)
        except Exception as error:
            with self._lock:  # nothing was sealed: they are sealed on the next occasion
                self._written = {**own, **self._written}
            self._after(error)
            raise

    def _seal_groups(self, own: Mapping[int, _Group]) -> int:
        sweep = time.monotonic() >= self._next_sweep
        sealed: dict[int, _Group] = {}
        with Session(self._writer_connection().connection) as session, session.begin():
            if own:
                mine = _claim(session, among(session.connection(), GROUPS.c.id, list(own)))
                sealed.update((group, own[group]) for group in mine)
            if sweep:
                cutoff = utc_now() - timedelta(seconds=SWEEP_SECONDS)
                if self._next_sweep == 0.0:  # this process has just started: all of them
                    cutoff = utc_now()
                left = _claim(session, GROUPS.c.written_at <= cutoff)
                rows = _group_rows(session, left)
                for group in left:
                    found = rows.get(group, [])
                    sealed[group] = _Group(found, {row[SUBJECT_KEY] for row in found})
            if sealed:
                _seal(session, sealed)
        if sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
        return len(sealed)

    def _writer_connection(self) -> _GroupWriter:
        if self._writer is None:
            engine: Engine = self.factory.kw["bind"]
            self._writer = _GroupWriter(engine.connect())
        return self._writer

    def _after(self, error: Exception) -> None:
        """After a failed write: a new connection next time if this one was lost, and
        ``_StoreBusy`` if the store was only busy."""
        writer = self._writer
        if writer is not None and writer.connection.invalidated:
            writer.close()
            self._writer = None
        if _busy(error):
            raise _StoreBusy from error


def _quiet_checkpoints(engine: Engine) -> None:
    """Keep the commits of ``engine``'s (SQLite) connections from copying the write-ahead log
    back into the database: ``CheckLog._checkpoint_often`` does it."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _no_checkpoint):
        event.listen(engine, "connect", _no_checkpoint)


def _no_checkpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class _StoreBusy(Exception):
    """Another writer holds the store: nothing was written; try again shortly."""


def _busy(error: BaseException) -> bool:
    """Whether ``error`` says only that another writer holds the store (SQLite's lock, or a
    PostgreSQL lock not granted within the writer's ``lock_timeout``)."""
    cause = getattr(error, "orig", error)
    if isinstance(cause, sqlite3.OperationalError):
        return cause.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    # Only a process with a PostgreSQL store has loaded psycopg (a command on SQLite spares
    # itself the import); without it, no error can be psycopg's.
    errors = sys.modules.get("psycopg.errors")
    return errors is not None and isinstance(cause, errors.LockNotAvailable)


class _StoreTurn:
    """One check-log writer at a time: of this process and, on a SQLite file, of every
    process on the machine.

    SQLite admits one writer and makes the others sleep and retry (1 ms, 2 ms, 5 ms ...), and
    an event loop sleeping there answers nobody. With a lock on a file beside the database a
    worker whose turn it is not learns so at once and serves requests until it is.
    """

    def __init__(self, engine: Engine) -> None:
        self._thread = threading.Lock()
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._path = None if database in (None, "", ":memory:") else f"{database}-checklog.lock"
        self._file: BinaryIO | None = None

    def enter(self, *, blocking: bool) -> bool:
        if not self._thread.acquire(blocking=blocking):
            return False
        if self._path is None:
            return True
        if self._file is None:
            self._file = open(self._path, "ab")  # noqa: SIM115  (held for the process)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread.release()
            return False
        return True

    def leave(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._thread.release()

    def __enter__(self) -> None:
        self.enter(blocking=True)

    def __exit__(self, *_: object) -> None:
        self.leave()


class _GroupWriter:
    """The statements of a group on one connection held for the process's check log: a
    write costs two statements and a commit, with nothing prepared anew."""

    def __init__(self, connection: Connection) -> None:
        # The writer never waits for a lock: the event loop it runs on would wait with it.
        self.connection = connection
        self._patience(0 if connection.dialect.name == "sqlite" else LOCK_WAIT_MS)
        # On the event loop, so no other thread waits on each row's release of the
        # interpreter lock: one prepared INSERT for many rows (COPY on PostgreSQL).
        self.rows = BulkTable(connection, TABLE, columns=(*_ROW_COLUMNS, *_GROUP_COLUMNS))
        self.shared = [self.rows.converter(name) for name in _GROUP_COLUMNS]
        groups = BulkTable(connection, GROUPS, columns=("written_at", "sealed"))
        self.moment = groups.converter("written_at")
        markers = ", ".join([MARKERS[connection.dialect.paramstyle]] * 4)
        self.group_sql = (
            f"INSERT INTO {GROUPS.name} (written_at, sealed, journal, journal_seq) "
            f"VALUES ({markers}) RETURNING id"
        )

    def _patience(self, milliseconds: int) -> None:
        if self.connection.dialect.name == "sqlite":
            self.connection.exec_driver_sql(f"PRAGMA busy_timeout={milliseconds}")
        else:
            self.connection.exec_driver_sql(f"SET lock_timeout = {milliseconds}")
        self.connection.commit()

    def close(self) -> None:
        """Back to the pool, as patient as the pool's other connections."""
        with contextlib.suppress(Exception):  # a lost connection is not pooled again anyway
            self._patience(BUSY_TIMEOUT_MS if self.connection.dialect.name == "sqlite" else 0)
        self.connection.close()

    def insert(self, requests: Sequence[_Request]) -> tuple[int, list[list[Any]]]:
        """Write one group; returns its id and its rows as its leaf commits to them.

        The group records the last journal entry it holds (all journalled requests of a
        process are in its one journal, in order).
        """
        journalled = [request for request in requests if request.journal is not None]
        journal = journalled[-1].journal if journalled else None
        seq = max((request.seq for request in journalled), default=None)
        sealed: list[list[Any]] = []
        with self.connection.begin():
            group = self.connection.exec_driver_sql(
                self.group_sql, (self.moment(utc_now()), False, journal, seq)
            ).scalar_one()
            for shared, requests_sharing in _by_shared_values(requests).items():
                key_id, label, purpose, as_of, policy = shared
                constants = tuple(
                    convert(value)
                    for convert, value in zip(self.shared, (*shared, group), strict=True)
                )
                self.rows.insert_values(
                    [
                        (*row, self.moment(request.answered_at), *constants)
                        for request in requests_sharing
                        for row in request.rows
                    ]
                )
                sealed.extend(
                    [decision, request.answered_at, key_id, label, purpose, subject, key, action,
                     as_of, effect, policy]
                    for request in requests_sharing
                    for key, decision, subject, action, effect, _request_id in request.rows
                )  # fmt: skip
        return group, sealed


def _request(decisions: Sequence[Decision], asker: Asker, purpose: str) -> _Request:
    first = decisions[0]
    request_id = REQUEST_ID.get()
    return _Request(
        asker,
        purpose,
        first.as_of,
        first.policy_version,
        [
            (
                subject_key(decision.subject_id),
                decision.decision_id,
                decision.subject_id,
                decision.action,
                decision.effect,
                request_id,
            )
            for decision in decisions
        ],
        utc_now(),
    )


def _journalled(journal: str, entry: Entry) -> _Request:
    """The request a journal's entry holds."""
    return _Request(
        Asker(entry.key_id, entry.label),
        entry.purpose,
        entry.as_of,
        entry.policy_version,
        entry.rows,
        entry.answered_at,
        journal,
        entry.seq,
    )


def _by_shared_values(requests: Iterable[_Request]) -> dict[tuple[Any, ...], list[_Request]]:
    """``requests`` by the values they share, in the order they came."""
    groups: dict[tuple[Any, ...], list[_Request]] = {}
    for request in requests:
        shared = (
            request.asker.key_id,
            request.asker.label,
            request.purpose,
            request.as_of,
            request.policy_version,
        )
        groups.setdefault(shared, []).append(request)
    return groups


def _claim(session: Session, which: Any) -> list[int]:
    """Mark the unsealed groups ``which`` selects as sealed; returns those this did mark."""
    return sorted(
        session.execute(
            update(CheckLogGroup)
            .where(~CheckLogGroup.sealed, which)
            .values(sealed=True)
            .returning(CheckLogGroup.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )


def _seal(session: Session, groups: Mapping[int, _Group]) -> None:
    """A ledger leaf per group (one that lost its rows commits to having none), and the
    subjects' entries in key order."""
    ordered = sorted(groups)
    append(
        session,
        [LeafInput(KIND, str(group), group_payload(groups[group].rows)) for group in ordered],
    )
    keys = sorted((key, group) for group in ordered for key in groups[group].keys)
    BulkTable(session.connection(), SUBJECTS).insert_values(keys)


def _group_rows(session: Session, groups: Sequence[int]) -> dict[int, list[list[Any]]]:
    """The rows of each of ``groups`` as stored now, in id order (``SEALED_COLUMNS``)."""
    columns = [TABLE.c[name] for name in SEALED_COLUMNS]
    rows: dict[int, list[list[Any]]] = defaultdict(list)
    connection = session.connection()
    for chunk in chunked(groups):
        for group, *values in session.execute(
            select(TABLE.c.group_id, *columns)
            .where(among(connection, TABLE.c.group_id, chunk))
            .order_by(TABLE.c.group_id, TABLE.c.id)
        ):
            rows[group].append(values)
    return rows


@dataclass(frozen=True, slots=True)
class ReportedRow:
    """A check answered elsewhere (by a relying party's mirror) and reported afterwards."""

    decision_id: str
    checked_at: datetime
    purpose: str
    subject: str
    action: str
    as_of: date
    effect: str
    policy_version: str


def log_reported(session: Session, asker: Asker, rows: Sequence[ReportedRow]) -> int:
    """Write reported checks to the check log as one group, sealed on the ledger in the
    caller's transaction, each row with the instant it was answered; returns the group's id.

    The group is sealed from its rows as stored, so the leaf commits to exactly what
    ``xinyong ledger verify`` rebuilds."""
    connection = session.connection()
    group: int = session.execute(
        GROUPS.insert().values(written_at=utc_now(), sealed=True).returning(GROUPS.c.id)
    ).scalar_one()
    BulkTable(
        connection, TABLE, columns=("group_id", "relying_party", "relying_party_label", *_REPORTED)
    ).insert(
        {
            "group_id": group,
            "relying_party": asker.key_id,
            "relying_party_label": asker.label,
            "subject_key": subject_key(row.subject),
            **{name: getattr(row, name) for name in _REPORTED if name != "subject_key"},
        }
        for row in rows
    )
    stored = _group_rows(session, [group])[group]
    _seal(session, {group: _Group(stored, {row[SUBJECT_KEY] for row in stored})})
    return group


_REPORTED = tuple(
    name for name in SEALED_COLUMNS if name not in ("relying_party", "relying_party_label")
)
"""A mirror's reported row: what a sealed row holds but who asked (the key that signed)."""


def group_payloads(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    """The canonical bytes of each group named by ``refs``: its rows as stored now, in id order.

    Groups without rows are left out (the ledger reports them as deleted).
    """
    groups = [int(ref) for ref in refs if ref.isascii() and ref.isdigit()]
    return {str(group): group_payload(rows) for group, rows in _group_rows(session, groups).items()}
