"""the check log's journals

Revision ID: 0010_check_log_journal
Revises: 0009
Create Date: 2026-12-06 08:30:00.000000

A serving process answers a check once its rows are in the process's journal file and moves
them into the store in groups; each group records the journal and the last entry it holds, so
that a process that starts moves what a killed process's journal holds and the store lacks,
once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_check_log_journal"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_log_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("journal", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("journal_seq", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_check_log_groups_journal", ["journal", "journal_seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("check_log_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_check_log_groups_journal")
        batch_op.drop_column("journal_seq")
        batch_op.drop_column("journal")
