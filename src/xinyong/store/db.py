"""Engines, sessions and schema migrations for the embedded (SQLite) and production (PostgreSQL) store."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from xinyong.store.driver import BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS
from xinyong.store.driver import MIGRATIONS, newest_revisions, sqlite_pragmas

if TYPE_CHECKING:
    from alembic.config import Config


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", sqlite_pragmas)
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
