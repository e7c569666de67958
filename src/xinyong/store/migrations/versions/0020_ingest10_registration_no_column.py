"""records by registration number: a column the writer fills, not an index on the JSON field

Revision ID: 0020_ingest10
Revises: 0019_ingest11
Create Date: 2026-12-07 11:20:00.000000

An index on an expression over the fields, with the same expression as its condition, parses
every record's fields JSON as the record is stored (twice on SQLite, for the condition and the
key), though only a registration carries the number. The number becomes a column of its own,
filled by the writer (``xinyong.records.models.registration_number_of``) and here from the
stored fields, and the partial index is on the column: a record without a number costs the
index a test of a null.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_ingest10"
down_revision: str | None = "0019_ingest11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_records_registration_no"


def _field_text() -> str:
    """The field's text, as the index of 0018 wrote it on each dialect."""
    if op.get_bind().dialect.name == "postgresql":
        return "(fields ->> 'registration_no')"
    return "CAST(json_extract(fields, '$.registration_no') AS VARCHAR)"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="records")
    op.add_column("records", sa.Column("registration_no", sa.String(), nullable=True))
    number = _field_text()
    op.execute(f"UPDATE records SET registration_no = {number} WHERE {number} IS NOT NULL")
    op.create_index(
        INDEX,
        "records",
        ["registration_no"],
        sqlite_where=sa.text("registration_no IS NOT NULL"),
        postgresql_where=sa.text("registration_no IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="records")
    op.drop_column("records", "registration_no")
    number = _field_text()
    op.create_index(
        INDEX,
        "records",
        [sa.text(number)],
        sqlite_where=sa.text(f"{number} IS NOT NULL"),
        postgresql_where=sa.text(f"{number} IS NOT NULL"),
    )
