"""rights: objections and repair applications, evidence files

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:20:00.000000

The tables of the subject's cases (``xinyong.rights.models``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rights_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("document_key", sa.String(length=300), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("authority", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("obligations_declared", sa.Boolean(), nullable=True),
        sa.Column("obligation_record_id", sa.Integer(), nullable=True),
        sa.Column("commitment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("mark_due_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("limit_on", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("correction", sa.JSON(), nullable=True),
        sa.Column("withdraw", sa.Boolean(), nullable=False),
        sa.Column("result_record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_rights_cases_entry_id_entries")
        ),
        sa.ForeignKeyConstraint(
            ["obligation_record_id"],
            ["records.id"],
            name=op.f("fk_rights_cases_obligation_record_id_records"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_rights_cases_record_id_records")
        ),
        sa.ForeignKeyConstraint(
            ["result_record_id"],
            ["records.id"],
            name=op.f("fk_rights_cases_result_record_id_records"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_rights_cases_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_cases")),
    )
    with op.batch_alter_table("rights_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rights_cases_authority_status"), ["authority", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rights_cases_document_key"), ["document_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rights_cases_status_due_on"), ["status", "due_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rights_cases_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "rights_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["rights_cases.id"], name=op.f("fk_rights_evidence_case_id_rights_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_evidence")),
    )
    with op.batch_alter_table("rights_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rights_evidence_case_id_position"), ["case_id", "position"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("rights_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_evidence_case_id_position"))

    op.drop_table("rights_evidence")
    with op.batch_alter_table("rights_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_cases_subject_id"))
        batch_op.drop_index(batch_op.f("ix_rights_cases_status_due_on"))
        batch_op.drop_index(batch_op.f("ix_rights_cases_document_key"))
        batch_op.drop_index(batch_op.f("ix_rights_cases_authority_status"))

    op.drop_table("rights_cases")
