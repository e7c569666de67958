"""records by subject and type; subjects by organisation code; records by registration number

Revision ID: 0018_xlsxreg
Revises: 0017_redress
Create Date: 2026-12-06 21:20:00.000000

A batch re-derives its subjects' entries from their records of the lists' types: the index on
``(subject_id, record_type)`` finds those without reading the subject's other records (one
organisation may hold thousands of penalties). It replaces the index on ``subject_id`` alone,
which is its prefix. A row that carries only an old code finds its subject by the organisation
code embedded in a USCC (positions 9-17), or by the registration number a registration record
carries: an index on each expression, written exactly as the reads write it on each dialect.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_xlsxreg"
down_revision: str | None = "0017_redress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORGANISATION_CODE = "substr(identifier, 9, 9)"
ORGANISATIONS = "kind = 'organisation'"


def _registration_number() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "(fields ->> 'registration_no')"
    return "CAST(json_extract(fields, '$.registration_no') AS VARCHAR)"


def upgrade() -> None:
    op.create_index("ix_records_subject_id_record_type", "records", ["subject_id", "record_type"])
    op.drop_index("ix_records_subject_id", table_name="records")
    op.create_index(
        "ix_subjects_organisation_code",
        "subjects",
        [sa.text(ORGANISATION_CODE)],
        sqlite_where=sa.text(ORGANISATIONS),
        postgresql_where=sa.text(ORGANISATIONS),
    )
    number = _registration_number()
    op.create_index(
        "ix_records_registration_no",
        "records",
        [sa.text(number)],
        sqlite_where=sa.text(f"{number} IS NOT NULL"),
        postgresql_where=sa.text(f"{number} IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_records_registration_no", table_name="records")
    op.drop_index("ix_subjects_organisation_code", table_name="subjects")
    op.create_index("ix_records_subject_id", "records", ["subject_id"])
    op.drop_index("ix_records_subject_id_record_type", table_name="records")
