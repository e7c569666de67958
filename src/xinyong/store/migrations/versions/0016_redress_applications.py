"""rights: objections sent together about the records of one case

Revision ID: 0016_redress
Revises: 0015_reports
Create Date: 2026-12-06 11:30:00.000000

An objection may name the other records of the same case (same case number) in one
application: each record keeps its own case, and every case of the application carries the id
of its first case in ``application_id``, so that the reviewer sees and decides them together.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_redress"
down_revision: str | None = "0015_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rights_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_rights_cases_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rights_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_cases_application_id"))
        batch_op.drop_column("application_id")
