"""Opening the configured store from the command line: ``xinyong init`` migrates it, every other
command opens it as it is and refuses one that needs migrating; and remember each store opened,
so that the command line can sign a ledger checkpoint over whatever a job logged when it ends."""

from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import Settings, get_settings
from xinyong.store.db import at_newest_schema, make_engine, make_sessionmaker, migrate
from xinyong.store.driver import StoreNeedsInit as StoreNeedsInit

# The stores this process opened, by URL: each gets a checkpoint when the command ends.
_opened: dict[str, sessionmaker[Session]] = {}


def init_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """Create or migrate the configured store's schema, then open it: what ``xinyong init``
    does (and tests that need a store)."""
    migrate((settings or get_settings()).resolved_database_url())
    return open_store(settings)


def open_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """The store at ``XINYONG_DATABASE_URL`` (or the default SQLite file); ``StoreNeedsInit``
    unless its schema is this version's."""
    url = (settings or get_settings()).resolved_database_url()
    if not at_newest_schema(url):
        raise StoreNeedsInit(url)
    factory = make_sessionmaker(make_engine(url))
    _opened.setdefault(url, factory)
    return factory


def opened_stores() -> list[sessionmaker[Session]]:
    """The stores opened since the last call, each once (the list is emptied)."""
    opened = list(_opened.values())
    _opened.clear()
    return opened
