"""The store through its bare DB-API driver (sqlite3 or psycopg), for a command that must answer
in a fraction of a second: importing SQLAlchemy alone takes longer than ``xinyong check``
may take in all.

What SQLAlchemy and this module must agree on lives here and ``xinyong.store.db`` takes it
from here: the SQLite connection settings, how an instant and a day are stored on SQLite,
how the schema's revision is read, and the error for a store that needs ``xinyong init``.
"""

from __future__ import annotations

import re
import sqlite3
from ast import literal_eval
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer before it gives up."""


class StoreNeedsInit(Exception):
    """The store has no schema yet, or an older one than this version's."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the store at {shown_url(url)} is not at this version's schema: run `xinyong init` "
            "(it creates or migrates the schema; no other command does)"
        )


def shown_url(url: str) -> str:
    """``url`` with its password hidden, as SQLAlchemy shows it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Settings of every SQLite connection (SQLAlchemy calls this on each connect)."""
    # WAL lets the server read while ingest writes; NORMAL sync is durable at each commit in WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-65536")
    # Checkpoint every 40 MB of WAL rather than 4 MB: a page rewritten by several commits in
    # between is copied back once, which halves the cost of index-heavy appends (check log).
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


@lru_cache(maxsize=64)
def sqlite_instant(value: datetime | None) -> str | None:
    """An instant as SQLAlchemy's SQLite ``DateTime`` stores it: naive UTC text with
    microseconds. Cached: a batch stamps all of its rows with the same instant."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # The same text as strftime("%Y-%m-%d %H:%M:%S.%f") in a fifth of the time; the first 26
    # characters leave out a UTC offset.
    return value.isoformat(sep=" ", timespec="microseconds")[:26]


@lru_cache(maxsize=1 << 14)  # a batch's rows share few distinct days; a cache hit skips a frame
def sqlite_day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


_ASSIGNED = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.+)$", re.MULTILINE)


@cache
def newest_revisions() -> frozenset[str]:
    """The head revisions of this version's migrations, read from their files as Alembic reads
    them (``revision`` and ``down_revision``, a name, a tuple of names or None), without
    importing Alembic."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        assigned = dict(_ASSIGNED.findall(path.read_text("utf-8")))
        revisions.add(literal_eval(assigned["revision"].strip()))
        down = literal_eval(assigned.get("down_revision", "None").strip())
        replaced.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - replaced)


@dataclass(frozen=True, slots=True)
class BareStore:
    """A DB-API connection to the store, and how its statements mark parameters."""

    connection: Any
    """A ``sqlite3.Connection`` or a ``psycopg.Connection``, in a transaction once used."""
    dialect: str
    """``sqlite`` or ``postgresql``, as SQLAlchemy names them."""

    @property
    def marker(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def instant(self, value: datetime) -> Any:
        """``value`` as the driver takes it for a ``UTCDateTime`` column."""
        return sqlite_instant(value) if self.dialect == "sqlite" else value

    def day(self, value: date) -> Any:
        """``value`` as the driver takes it for a ``Date`` column."""
        return sqlite_day(value) if self.dialect == "sqlite" else value

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; on SQLite it holds the write lock from its start (a reader that
        writes later could find its snapshot stale and fail)."""
        if self.dialect != "sqlite":
            with self.connection.transaction():
                yield
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (``:memory:`` for none); None for another backend."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] != "sqlite":
        return None
    path = unquote(rest[1:].partition("?")[0]) if rest.startswith("/") else ""
    return path or ":memory:"


def open_bare(url: str) -> BareStore:
    """The store at ``url`` through its driver; ``StoreNeedsInit`` unless its schema is this
    version's (nothing is created or changed)."""
    file = sqlite_file(url)
    if file is not None:
        if file == ":memory:" or not Path(file).is_file():
            raise StoreNeedsInit(url)
        connection: Any = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
        sqlite_pragmas(connection)
        store = BareStore(connection, "sqlite")
        has_revisions = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        )
    else:
        # Imported only for a PostgreSQL store: a command on SQLite spares itself the import.
        import psycopg

        scheme, _, rest = url.partition("://")
        connection = psycopg.connect(f"{scheme.split('+')[0]}://{rest}", autocommit=True)
        store = BareStore(connection, "postgresql")
        # As SQLAlchemy looks for it: in the schemas of the connection's search path.
        has_revisions = "SELECT to_regclass('alembic_version') IS NOT NULL"
    try:
        (found,) = connection.execute(has_revisions).fetchone()
        stored = frozenset(
            str(revision)
            for (revision,) in (
                connection.execute("SELECT version_num FROM alembic_version").fetchall()
                if found
                else ()
            )
        )
    except Exception:
        connection.close()
        raise
    if stored != newest_revisions():
        connection.close()
        raise StoreNeedsInit(url)
    return store
