"""The mirror's embedded store: one SQLite file holding the feed's rows, where the feed stands,
and the journal of every check the mirror answered.

Each delta is applied in one transaction that also moves the version, and only onto the
version it follows, so a mirror killed at any point holds a whole version and a rerun applies
nothing twice. A group of checks is committed to the journal (``synchronous=FULL``: on disk)
before its answers are given, so a crash loses no answered check. A group is assigned to a
report batch before the batch is sent, so a batch sent again is the same batch.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, TypedDict

import orjson

from xinyong.enforcement.decisions import ALLOW, REVIEW

DATABASE = "mirror.db"
CACHE_KIB = 65_536
_SCHEMA = """
create table if not exists state (name text primary key, value text not null);
create table if not exists feed (subject text primary key, row blob, version integer not null);
create index if not exists feed_version on feed (version);
create table if not exists answered (
    id integer primary key autoincrement,
    at text not null,
    purpose text not null,
    feed_version integer not null,
    policy_version text not null,
    checks blob not null,
    batch text,
    reported integer not null default 0
);
create index if not exists answered_unreported on answered (reported, id);
"""


class Journaled(TypedDict):
    """A group of checks as journaled: a column per field, so that a group of ten thousand is
    written (and read) by orjson at once rather than as ten thousand small lists."""

    subjects: list[str]
    actions: str | list[str]
    """One action for every check of the group, or the action of each."""
    not_allowed: list[tuple[int, str]]
    """The positions answered other than ``allow``, with their effects (most are allowed)."""
    stale: list[str]
    """The actions answered past their staleness limit: ``review`` for each of their checks."""


class Outdated(RuntimeError):
    """The store moved on (another process applied the version): nothing was applied."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where the local copy of the feed stands."""

    feed: str
    version: int
    manifest_sha256: str
    policy: bytes
    confirmed_at: float
    """When the platform last vouched (with this mirror's nonce) that this version is its
    latest, in seconds since the epoch by the mirror's clock, taken before asking."""


@dataclass(frozen=True, slots=True)
class Group:
    """Checks answered together, as journaled."""

    id: int
    at: str
    purpose: str
    feed_version: int
    policy_version: str
    checks: list[list[Any]]
    """[subject, action, effect, stale] per check, in the order answered."""


class LocalStore:
    """The SQLite file of one mirror."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.db = sqlite3.connect(
            folder / DATABASE, isolation_level=None, check_same_thread=False, timeout=30
        )
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("pragma synchronous=full")
        # A delta of 100,000 changes touches pages all over the feed's two B-trees: with
        # SQLite's default 2 MB cache most of them are read again; 64 MB holds them.
        self.db.execute(f"pragma cache_size={-CACHE_KIB}")
        self.db.executescript(_SCHEMA)
        self.instance = self._setting("instance") or self._init_instance()

    def close(self) -> None:
        self.db.close()

    def _setting(self, name: str) -> str | None:
        row = self.db.execute("select value from state where name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _init_instance(self) -> str:
        """A random name for this mirror's decision ids and batch ids."""
        instance = secrets.token_hex(6)
        self.db.execute("insert or ignore into state values ('instance', ?)", (instance,))
        return self._setting("instance") or instance

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("begin immediate")
        try:
            yield self.db
        except BaseException:
            self.db.execute("rollback")
            raise
        self.db.execute("commit")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read transaction: what is read inside it is one committed state of the file."""
        self.db.execute("begin")
        try:
            yield
        finally:
            self.db.execute("commit")

    def setting(self, name: str) -> str | None:
        return self._setting(name)

    def set(self, name: str, value: str) -> None:
        self.db.execute("insert or replace into state values (?, ?)", (name, value))

    def changed(self) -> int:
        """A number that moves whenever another connection commits (SQLite's data_version)."""
        value: int = self.db.execute("pragma data_version").fetchone()[0]
        return value

    def position(self) -> Position | None:
        values = dict(self.db.execute("select name, value from state").fetchall())
        if "version" not in values:
            return None
        return Position(
            values["feed"],
            int(values["version"]),
            values["manifest_sha256"],
            values["policy"].encode(),
            float(values.get("confirmed_at", "0")),
        )

    def row(self, subject: str) -> bytes | None:
        """The feed's row for ``subject`` as JSON (found by the primary key's index), or None."""
        found = self.db.execute("select row from feed where subject = ?", (subject,)).fetchone()
        return None if found is None else found[0]

    def rows(self, since: int = 0) -> Iterator[tuple[str, bytes | None]]:
        """The rows (JSON) set by versions after ``since``; a row deleted since is
        (subject, None)."""
        for subject, row in self.db.execute(
            "select subject, row from feed where version > ?", (since,)
        ):
            if row is not None or since:
                yield subject, row

    def generation(self) -> str:
        """Changes with every snapshot reload (after one, nothing is known incrementally)."""
        return self._setting("generation") or ""

    def replace(
        self, feed: str, version: int, sha256: str, policy: bytes, rows: Iterable[tuple[str, Any]]
    ) -> None:
        """Hold exactly ``rows`` as ``version`` of ``feed`` (a snapshot reload)."""
        with self._transaction() as db:
            db.execute("delete from feed")
            db.executemany(
                "insert into feed values (?, ?, ?)",
                ((subject, orjson.dumps(row), version) for subject, row in rows),
            )
            self._move(db, feed, version, sha256, policy)
            db.execute(
                "insert or replace into state values ('generation', ?)", (secrets.token_hex(8),)
            )

    def apply(
        self,
        feed: str,
        previous: int,
        version: int,
        sha256: str,
        policy: bytes,
        ops: Sequence[tuple[str, str, Any]],
    ) -> None:
        """Apply one delta onto ``previous``; ``Outdated`` if the store is not there."""
        with self._transaction() as db:
            found = db.execute("select value from state where name = 'version'").fetchone()
            if found is None or int(found[0]) != previous:
                raise Outdated(f"the store is at version {found and found[0]}, not {previous}")
            # A DEL carries no row (``operations`` holds every delta to that). A deleted row stays as a tombstone until the next reload, so a reader that
            # holds the rows in memory learns of the deletion from ``rows(since)``.
            # An update in place (not "or replace", a delete and an insert).
            db.executemany(
                "insert into feed values (?, ?, ?) on conflict (subject) "
                "do update set row = excluded.row, version = excluded.version",
                ((key, None if row is None else orjson.dumps(row), version) for _, key, row in ops),
            )
            self._move(db, feed, version, sha256, policy)

    @staticmethod
    def _move(db: sqlite3.Connection, feed: str, version: int, sha256: str, policy: bytes) -> None:
        db.executemany(
            "insert or replace into state values (?, ?)",
            [
                ("feed", feed),
                ("version", str(version)),
                ("manifest_sha256", sha256),
                ("policy", policy.decode()),
            ],
        )

    def confirm(self, at: float) -> None:
        self.set("confirmed_at", repr(at))

    def journal(
        self, at: str, purpose: str, feed_version: int, policy_version: str, checks: Journaled
    ) -> int:
        """Commit a group of answered checks; returns its id."""
        cursor = self.db.execute(
            "insert into answered (at, purpose, feed_version, policy_version, checks) "
            "values (?, ?, ?, ?, ?)",
            (at, purpose, feed_version, policy_version, orjson.dumps(checks)),
        )
        group = cursor.lastrowid
        assert group is not None
        return group

    def pending(self) -> list[tuple[str, list[Group]]]:
        """Batches assigned but not yet acknowledged by the platform, oldest first."""
        found: dict[str, list[Group]] = {}
        for row in self.db.execute(
            "select id, at, purpose, feed_version, policy_version, checks, batch "
            "from answered where reported = 0 and batch is not null order by id"
        ):
            found.setdefault(row[6], []).append(_group(row))
        return list(found.items())

    def assign(self, limit: int) -> str | None:
        """Put the oldest unassigned groups (up to ``limit`` checks, at least one group) in a
        new batch; returns its id, or None when every answered check is in a batch."""
        chosen: list[int] = []
        total = 0
        with closing(
            self.db.execute(
                "select id, checks from answered where batch is null and reported = 0 order by id"
            )
        ) as cursor:
            for group, checks in cursor:
                count = len(orjson.loads(checks)["subjects"])
                if chosen and total + count > limit:
                    break
                chosen.append(group)
                total += count
        if not chosen:
            return None
        batch = f"{self.instance}:{chosen[0]}-{chosen[-1]}"
        with self._transaction() as db:
            db.executemany(
                "update answered set batch = ? where id = ?", ((batch, g) for g in chosen)
            )
        return batch

    def reported(self, batch: str) -> None:
        self.db.execute("update answered set reported = 1 where batch = ?", (batch,))

    def unreported(self) -> int:
        """How many answered checks the platform has not acknowledged."""
        return sum(
            len(orjson.loads(checks)["subjects"])
            for (checks,) in self.db.execute("select checks from answered where reported = 0")
        )


def _group(row: Sequence[Any]) -> Group:
    group, at, purpose, version, policy_version, blob, _ = row
    checks: Journaled = orjson.loads(blob)
    actions = checks["actions"]
    stale = set(checks["stale"])
    effects = dict(checks["not_allowed"])
    listed = [
        [
            subject,
            action,
            REVIEW if action in stale else effects.get(position, ALLOW),
            action in stale,
        ]
        for position, (subject, action) in enumerate(
            zip(
                checks["subjects"],
                repeat(actions) if isinstance(actions, str) else actions,
                strict=False,
            )
        )
    ]
    return Group(group, at, purpose, version, policy_version, listed)
