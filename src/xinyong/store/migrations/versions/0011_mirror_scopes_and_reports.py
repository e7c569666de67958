"""relying-party scopes and mirrors' check reports

Revision ID: 0011_mirror
Revises: 0010_check_log_journal
Create Date: 2026-12-08 09:00:00.000000

- ``api_keys.actions``: a relying party's scope, the actions it implements (its feed holds
  the subjects whose decision for them is not a plain allow); ``api_keys.mirror_key``: the
  verifier key of its mirror, set by the mirror's first signed report.
- ``mirror_batches``: each signed batch of checks a mirror reported, naming the check-log
  group its checks went into; a batch id is taken once per key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_mirror"
down_revision: str | None = "0010_check_log_journal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("mirror_key", sa.String(length=200), nullable=True))
    op.create_table(
        "mirror_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=80), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=1000), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_batches")),
        sa.UniqueConstraint("key_id", "batch_id", name=op.f("uq_mirror_batches_key_id_batch_id")),
    )
    op.create_index(
        op.f("ix_mirror_batches_group_id"), "mirror_batches", ["group_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mirror_batches_group_id"), table_name="mirror_batches")
    op.drop_table("mirror_batches")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("mirror_key")
        batch_op.drop_column("actions")
