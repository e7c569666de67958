"""Opening the configured store from the command line: migrate, then hand out sessions; and
remember each store opened, so that the command line can sign a ledger checkpoint over whatever
a job logged when it ends."""

from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import Settings, get_settings
from xinyong.store.db import make_engine, make_sessionmaker, migrate

# The stores this process opened, by URL: each gets a checkpoint when the command ends.
_opened: dict[str, sessionmaker[Session]] = {}


def open_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """The store at ``XINYONG_DATABASE_URL`` (or the default SQLite file), migrated to head."""
    url = (settings or get_settings()).resolved_database_url()
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    _opened.setdefault(url, factory)
    return factory


def opened_stores() -> list[sessionmaker[Session]]:
    """The stores opened since the last call, each once (the list is emptied)."""
    opened = list(_opened.values())
    _opened.clear()
    return opened
