"""request ids on the check log and the access log

Revision ID: 0014_operations
Revises: 0013_ingest_real
Create Date: 2026-12-06 08:30:00.000000

- ``check_log.request_id`` and ``access_log.request_id``: the HTTP request (``X-Request-ID``)
  that caused the row, so an operator can follow one request from the proxy's log to the
  database. Nullable: rows written before, and rows of commands, have none. Neither is sealed
  on the ledger, so existing leaves still verify.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_operations"
down_revision: str | None = "0013_ingest_real"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("check_log", "access_log")


def upgrade() -> None:
    # A nullable column without a default: a metadata-only change on both backends, however
    # long the check log is.
    for table in TABLES:
        op.add_column(table, sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("request_id")
