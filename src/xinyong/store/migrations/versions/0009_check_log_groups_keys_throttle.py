"""check log groups, the API key counter, sign-in throttling

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:00:00.000000

- ``check_log_groups``: one row per transaction of check-log rows, sealed on the ledger;
  ``check_log.group_id`` names it. Existing rows are put in groups of up to 10,000 (by id),
  left for the next process that logs checks to seal. The subject's rows are found through
  ``check_log_subjects`` (filled as groups are sealed) instead of an index on
  ``check_log.subject_key``, which cost every small commit a page per row. On PostgreSQL the
  check log's id becomes 64 bits.
- ``api_key_state``: a counter every key creation and revocation bumps, polled by every
  process that keeps keys in memory.
- ``sign_in_throttle``: failed sign-ins per account name and per address, with the back-off.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEGACY_GROUP = 10_000


def upgrade() -> None:
    op.create_table(
        "check_log_groups",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_log_groups")),
    )
    op.create_index(
        "ix_check_log_groups_unsealed",
        "check_log_groups",
        ["id"],
        unique=False,
        sqlite_where=sa.text("sealed = 0"),
        postgresql_where=sa.text("NOT sealed"),
    )
    op.create_table(
        "check_log_subjects",
        sa.Column("subject_key", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("subject_key", "group_id", name=op.f("pk_check_log_subjects")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("check_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.BigInteger(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_check_log_subject_key"))
        batch_op.create_index(batch_op.f("ix_check_log_group_id"), ["group_id"], unique=False)
    _group_existing_rows()
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("check_log", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
        op.execute("ALTER SEQUENCE check_log_id_seq AS bigint")
    op.create_table(
        "api_key_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_state")),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_throttle_last_at"), ["last_at"], unique=False)


def _group_existing_rows() -> None:
    connection = op.get_bind()
    log = sa.table("check_log", sa.column("id", sa.BigInteger()), sa.column("group_id"))
    groups = sa.table(
        "check_log_groups",
        sa.column("id", sa.BigInteger()),
        sa.column("written_at", sa.DateTime(timezone=True)),
        sa.column("sealed", sa.Boolean()),
    )
    last = 0
    while True:
        ids = connection.scalars(
            sa.select(log.c.id).where(log.c.id > last).order_by(log.c.id).limit(LEGACY_GROUP)
        ).all()
        if not ids:
            return
        group = connection.execute(
            groups.insert()
            .values(written_at=sa.func.current_timestamp(), sealed=False)
            .returning(groups.c.id)
        ).scalar_one()
        connection.execute(
            log.update().where(log.c.id >= ids[0], log.c.id <= ids[-1]).values(group_id=group)
        )
        last = ids[-1]


def downgrade() -> None:
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttle_last_at"))
    op.drop_table("sign_in_throttle")
    op.drop_table("api_key_state")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE check_log_id_seq AS integer")
        op.alter_column("check_log", "id", type_=sa.Integer(), existing_type=sa.BigInteger())
    with op.batch_alter_table("check_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_log_group_id"))
        batch_op.create_index(batch_op.f("ix_check_log_subject_key"), ["subject_key"], unique=False)
        batch_op.drop_column("group_id")
    op.drop_table("check_log_subjects")
    op.drop_index("ix_check_log_groups_unsealed", table_name="check_log_groups")
    op.drop_table("check_log_groups")
