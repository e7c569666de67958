"""rights: objections sent together about the records of one case; audit: auditors' searches

Revision ID: 0017_redress
Revises: 0016_pagespeed
Create Date: 2026-12-06 11:30:00.000000

An objection may name the other records of the same case (same case number) in one
application: each record keeps its own case, and every case of the application carries the id
of its first case in ``application_id``, so that the reviewer sees and decides them together.

Every search and export an auditor makes in the auditor's console is kept in
``audit_searches`` (and on the ledger): the auditors' own reading is audited too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_redress"
down_revision: str | None = "0016_pagespeed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rights_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_rights_cases_application_id"), ["application_id"], unique=False
        )
    op.create_table(
        "audit_searches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("ledger_leaf", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_audit_searches_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_searches")),
    )
    with op.batch_alter_table("audit_searches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_searches_searched_at"), ["searched_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_searches_searched_at"))
    op.drop_table("audit_searches")
    with op.batch_alter_table("rights_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_cases_application_id"))
        batch_op.drop_column("application_id")
