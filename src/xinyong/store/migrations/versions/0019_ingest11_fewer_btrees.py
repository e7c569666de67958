"""fewer B-trees per record: heads by the document's key alone, records by type once

Revision ID: 0019_ingest11
Revises: 0018_xlsxreg
Create Date: 2026-12-07 00:00:00.000000

Ingest writes a record version and a head for each new document, and every B-tree of those
two tables costs every record. A subject's heads are found through the records' index on
``(subject_id, record_type)`` joined by ``record_id`` (a head's subject is its current
version's), so the index on the heads' ``subject_id`` goes; on SQLite the heads are rebuilt
``WITHOUT ROWID``, so the document's key is the table itself rather than a second B-tree beside
a rowid table (the rows are copied as they are). The records' index on
``(record_type, effective_on)`` goes too: the few readers of every record of some types are
served as well by the index led by ``(record_type, decided_on)``.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0019_ingest11"
down_revision: str | None = "0018_xlsxreg"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuilt(*, upgrading: bool) -> dict[str, Any]:
    """How the heads' table is altered: on SQLite, rebuilt from the table as it stands before
    the step (with its rowid and subject index before the upgrade, without both after it) into
    the other form. The table is given, not reflected: reflection would read the tables it
    refers to, whose expression indexes SQLAlchemy warns it cannot read."""
    if op.get_bind().dialect.name != "sqlite":
        return {}
    heads = sa.Table(
        "record_heads",
        sa.MetaData(),
        sa.Column("document_key", sa.String(length=300), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name="fk_record_heads_record_id_records"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name="fk_record_heads_subject_id_subjects"
        ),
        sa.PrimaryKeyConstraint("document_key", name="pk_record_heads"),
        sa.Index("ix_record_heads_record_id_status", "record_id", "status"),
        *([sa.Index("ix_record_heads_subject_id", "subject_id")] if upgrading else []),
        sqlite_with_rowid=upgrading,
    )
    return {
        "recreate": "always",
        "copy_from": heads,
        "table_kwargs": {"sqlite_with_rowid": not upgrading},
    }


def upgrade() -> None:
    op.drop_index("ix_records_record_type_effective_on", table_name="records")
    with op.batch_alter_table("record_heads", **_rebuilt(upgrading=True)) as batch_op:
        batch_op.drop_index("ix_record_heads_subject_id")


def downgrade() -> None:
    with op.batch_alter_table("record_heads", **_rebuilt(upgrading=False)) as batch_op:
        batch_op.create_index("ix_record_heads_subject_id", ["subject_id"], unique=False)
    op.create_index(
        "ix_records_record_type_effective_on", "records", ["record_type", "effective_on"]
    )
