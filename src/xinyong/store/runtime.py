"""Opening the configured store from the command line: migrate, then hand out sessions; and, when
the command ends, sign a ledger checkpoint over whatever it logged."""

from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import Settings, get_settings
from xinyong.store.db import make_engine, make_sessionmaker, migrate
from xinyong.store.history import sign_checkpoint_if_keyed

# The stores this process opened, by URL: each gets a checkpoint when the command ends.
_opened: dict[str, sessionmaker[Session]] = {}


def open_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """The store at ``XINYONG_DATABASE_URL`` (or the default SQLite file), migrated to head."""
    url = (settings or get_settings()).resolved_database_url()
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    _opened.setdefault(url, factory)
    return factory


def sign_opened_stores(settings: Settings | None = None) -> None:
    """At the end of a job: sign the head of every store it opened, so that what it logged is
    provable at once (nothing is signed where nothing was appended, or without a key)."""
    key_path = (settings or get_settings()).ledger_key_path
    while _opened:
        _, factory = _opened.popitem()
        sign_checkpoint_if_keyed(factory, key_path)
