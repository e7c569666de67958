"""record heads: one B-tree by the document's key, no index by subject

Revision ID: 0019_ingest11
Revises: 0018_xlsxreg
Create Date: 2026-12-07 00:00:00.000000

Ingest writes one head per new document, and each B-tree of the heads costs every record. A
subject's heads are found through the records' index on ``(subject_id, record_type)`` joined
by ``record_id`` (a head's subject is its current version's), so the index on the heads'
``subject_id`` goes. On SQLite the table is rebuilt ``WITHOUT ROWID``: the document's key is the
table itself, not a second B-tree beside a rowid table. The rows are copied as they are.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_ingest11"
down_revision: str | None = "0018_xlsxreg"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuilt(with_rowid: bool) -> dict[str, object]:
    """How the heads' table is altered: rebuilt on SQLite with or without its rowid."""
    if op.get_bind().dialect.name != "sqlite":
        return {}
    return {"recreate": "always", "table_kwargs": {"sqlite_with_rowid": with_rowid}}


def upgrade() -> None:
    with op.batch_alter_table("record_heads", **_rebuilt(False)) as batch_op:  # type: ignore[arg-type]
        batch_op.drop_index("ix_record_heads_subject_id")


def downgrade() -> None:
    with op.batch_alter_table("record_heads", **_rebuilt(True)) as batch_op:  # type: ignore[arg-type]
        batch_op.create_index("ix_record_heads_subject_id", ["subject_id"], unique=False)
