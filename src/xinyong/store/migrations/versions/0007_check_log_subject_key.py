"""check log: found by a 64-bit subject key

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 05:40:00.000000

The subject's check log is looked up by ``subject_key`` (``xinyong.enforcement.models``)
instead of an index on (subject, checked_at); the index on the relying party and the unique
index on the decision id, which nothing reads by, go (decision ids are unique by
construction). Existing rows get their key here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from xinyong.enforcement.models import subject_key

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 10_000


def upgrade() -> None:
    with op.batch_alter_table("check_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_key", sa.BigInteger(), nullable=True))
    connection = op.get_bind()
    log = sa.table(
        "check_log",
        sa.column("id", sa.Integer()),
        sa.column("subject", sa.String()),
        sa.column("subject_key", sa.BigInteger()),
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(log.c.id, log.c.subject)
            .where(log.c.id > last)
            .order_by(log.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        connection.execute(
            log.update().where(log.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "subject_key": subject_key(subject)} for row_id, subject in rows],
        )
        last = rows[-1][0]
    with op.batch_alter_table("check_log", schema=None) as batch_op:
        batch_op.alter_column("subject_key", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index(batch_op.f("ix_check_log_subject_checked_at"))
        batch_op.drop_index(batch_op.f("ix_check_log_relying_party"))
        batch_op.drop_constraint(batch_op.f("uq_check_log_decision_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_check_log_subject_key"), ["subject_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("check_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_log_subject_key"))
        batch_op.create_unique_constraint(batch_op.f("uq_check_log_decision_id"), ["decision_id"])
        batch_op.create_index(
            batch_op.f("ix_check_log_relying_party"), ["relying_party"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_check_log_subject_checked_at"), ["subject", "checked_at"], unique=False
        )
        batch_op.drop_column("subject_key")
