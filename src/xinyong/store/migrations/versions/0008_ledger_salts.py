"""ledger: every event committed under its own salt

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00.000000

Leaves now commit to salted member digests (``xinyong.ledger.commitment``) instead of hashing
an event's content in the clear. The salt of each event is kept beside it. Leaves logged before
have none: ``xinyong ledger verify`` names them, and ``xinyong ledger migrate`` recommits them
under a new log origin (docs/ledger.md, "Moving from the first log").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_leaves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_leaves", schema=None) as batch_op:
        batch_op.drop_column("salt")
