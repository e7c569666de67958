"""Alembic environment: migrations run against the URL that ``xinyong.store.db.migrate`` passes.

The store knows no feature's tables: whoever compares or autogenerates against the models
imports ``xinyong.schema`` first, which puts every table on ``Base.metadata``.
"""

from alembic import context

from xinyong.store.base import Base
from xinyong.store.db import make_engine
from xinyong.store.references import include_object

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
