"""Opening the configured store from the command line: migrate, then hand out sessions."""

from sqlalchemy.orm import Session, sessionmaker

import xinyong.store.history  # noqa: F401  (registers record events as a ledger source)
from xinyong.config import Settings, get_settings
from xinyong.store.db import make_engine, make_sessionmaker, migrate


def open_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """The store at ``XINYONG_DATABASE_URL`` (or the default SQLite file), migrated to head."""
    url = (settings or get_settings()).resolved_database_url()
    migrate(url)
    return make_sessionmaker(make_engine(url))
