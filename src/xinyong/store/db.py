"""Engines, sessions and schema migrations for the embedded (SQLite) and production (PostgreSQL) store."""

import re
from ast import literal_eval
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer before it gives up."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> "Config":
    # Alembic is imported only to migrate: a command that merely checks the revision would
    # pay a tenth of a second for it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema at ``url`` to the newest migration (idempotent)."""
    from alembic import command

    make_engine(url).dispose()  # creates the SQLite folder when needed
    command.upgrade(alembic_config(url), "head")


def at_newest_schema(url: str) -> bool:
    """Whether the schema at ``url`` is this version's (without creating or changing anything)."""
    parsed = make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).is_file():
        return False
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = stored_revisions(connection)
    finally:
        engine.dispose()
    return current == newest_revisions()


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


def stored_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the store's ``alembic_version`` table holds (none for an empty store)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
    return frozenset(str(revision) for (revision,) in rows)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session
