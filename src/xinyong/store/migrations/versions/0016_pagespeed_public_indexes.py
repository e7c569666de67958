"""public pages: indexes that let the store filter, count and page public records itself

Revision ID: 0016_pagespeed
Revises: 0015_reports
Create Date: 2026-12-06 11:20:00.000000

The double publicity channel counts and orders organisations' public licences and penalties by
type, decision day and grade: an index over those columns (and the subject) answers it without
reading the records' wide rows. Each record version finds its head (is it the current version,
does its decision stand?) by ``record_id``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_pagespeed"
down_revision: str | None = "0015_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_records_record_type_decided_on_severity_subject_id"),
            ["record_type", "decided_on", "severity", "subject_id"],
            unique=False,
        )
    with op.batch_alter_table("record_heads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_heads_record_id_status"), ["record_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("record_heads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_heads_record_id_status"))
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_record_type_decided_on_severity_subject_id"))
