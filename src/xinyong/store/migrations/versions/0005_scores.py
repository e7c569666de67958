"""scores: evaluation versions, scores and their contributions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:45:00.000000

The tables of scoring (``xinyong.scoring.models``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("policy_digest", sa.String(length=64), nullable=False),
        sa.Column("policies", sa.String(length=1000), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evaluations_status_completed_at"),
            ["status", "completed_at"],
            unique=False,
        )

    op.create_table(
        "scores",
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=80), nullable=False),
        sa.Column("scheme_version", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_scores_evaluation_id_evaluations"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_scores_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("evaluation_id", "subject_id", "scheme", name=op.f("pk_scores")),
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scores_evaluation_id_scheme_grade"),
            ["evaluation_id", "scheme", "grade"],
            unique=False,
        )

    op.create_table(
        "score_contributions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=80), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("window_end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_score_contributions_evaluation_id_evaluations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_contributions")),
    )
    with op.batch_alter_table("score_contributions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_contributions_evaluation_id_subject_id_scheme"),
            ["evaluation_id", "subject_id", "scheme"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("score_contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_contributions_evaluation_id_subject_id_scheme"))
    op.drop_table("score_contributions")
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scores_evaluation_id_scheme_grade"))
    op.drop_table("scores")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_status_completed_at"))
    op.drop_table("evaluations")
