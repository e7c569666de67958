"""Alembic environment: migrations run against the URL that ``xinyong.store.db.migrate`` passes."""

from alembic import context

import xinyong.store.schema  # noqa: F401  (registers every feature's tables on the metadata)
from xinyong.store.base import Base
from xinyong.store.db import make_engine

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
