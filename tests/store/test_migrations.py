"""The Alembic history builds exactly the schema the models declare, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import xinyong.store.schema  # noqa: F401  (every feature's tables)
from xinyong.store.base import Base
from xinyong.store.db import make_engine, migrate


def test_migrated_schema_matches_the_models(store_url: str) -> None:
    engine = make_engine(store_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_migrating_twice_is_harmless(store_url: str) -> None:
    migrate(store_url)
    migrate(store_url)
