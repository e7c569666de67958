"""accounts: an e-mail address, password reset tokens, federated sign-ins under way

Revision ID: 0015_reports
Revises: 0014_operations
Create Date: 2026-12-06 09:30:00.000000

An account may have an e-mail address; a password reset sends a single-use link there. Only
the SHA-256 of each reset token is kept, with its expiry and when it was used. A sign-in sent
to an OpenID Connect provider waits in ``federated_sign_ins`` until it comes back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_reports"
down_revision: str | None = "0014_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_password_resets_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_resets_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "federated_sign_ins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("next", sa.String(length=500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federated_sign_ins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_federated_sign_ins_state_hash")),
    )
    with op.batch_alter_table("federated_sign_ins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federated_sign_ins_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("federated_sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federated_sign_ins_expires_at"))
    op.drop_table("federated_sign_ins")
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_account_id"))
    op.drop_table("password_resets")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("email")
