"""the references ingest writes with every record, checked per statement on PostgreSQL

Revision ID: 0020_statement_references
Revises: 0019_ingest11
Create Date: 2026-12-08 00:00:00.000000

A foreign key makes PostgreSQL query the referenced table, and lock the row it finds, for every
row written. Records, record events and record heads hold two keys each, so every record
stored cost six such queries: two fifths of the server's work during an ingest. Those six
foreign keys, and the three of the legal representatives that registrations name, become
triggers that do what they did once per statement (``xinyong.store.references``):

- after an insert into the referencing table, the distinct keys of the statement's new rows
  are looked up in the referenced table at once (after an update, the keys it brings that its
  rows did not hold before); one that is missing fails the statement with
  ``foreign_key_violation``;
- after a delete from a referenced table, each referencing table is locked in SHARE mode (the
  delete waits for the transactions writing it, and then sees their rows) and a deleted key
  that is still named fails the delete the same way; a truncate is refused while a referencing
  table has rows, and a referenced row's key cannot change.

SQLite does not enforce foreign keys, so nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_statement_references"
down_revision: str | None = "0019_ingest11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (referencing table, column, referenced table): each referenced by its ``id``.
REFERENCES = (
    ("records", "subject_id", "subjects"),
    ("records", "submission_id", "submissions"),
    ("record_events", "record_id", "records"),
    ("record_events", "submission_id", "submissions"),
    ("record_heads", "record_id", "records"),
    ("record_heads", "subject_id", "subjects"),
    ("legal_representatives", "organisation_id", "subjects"),
    ("legal_representatives", "person_id", "subjects"),
    ("legal_representatives", "record_id", "records"),
)

# The check of one referencing table, for its inserts and its updates: static statements, so
# that PL/pgSQL plans each once per session (a statement of one row, as an update of one head
# is, costs a few microseconds). An update checks only the keys it brings that the rows had not
# (a change of status names no new key). The keys are looked up together, by primary key; the
# one that is missing is searched for only when one is.
CHECK = """
    IF TG_OP = 'UPDATE' THEN
        keys := ARRAY(SELECT {column} FROM new_rows WHERE {column} IS NOT NULL
                      EXCEPT SELECT {column} FROM old_rows);
    ELSE
        keys := ARRAY(SELECT DISTINCT {column} FROM new_rows WHERE {column} IS NOT NULL);
    END IF;
    IF cardinality(keys) > 0
       AND (SELECT count(*) FROM {referenced} WHERE id = ANY(keys)) < cardinality(keys) THEN
        SELECT k INTO missing FROM unnest(keys) AS k
        WHERE NOT EXISTS (SELECT 1 FROM {referenced} WHERE id = k) LIMIT 1;
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = 'insert or update on table "{table}" violates its reference '
                      '{column} -> {referenced}.id',
            DETAIL = format('Key ({column})=(%s) is not present in table "{referenced}".',
                            missing);
    END IF;"""


def _references_of(table: str) -> str:
    checks = "".join(
        CHECK.format(table=table, column=column, referenced=referenced)
        for t, column, referenced in REFERENCES
        if t == table
    )
    return (
        f"CREATE FUNCTION xinyong_references_of_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE\n    keys bigint[];\n    missing bigint;\nBEGIN{checks}\n"
        "    RETURN NULL;\nEND $$"
    )


# The guard of one referenced table, built like its referencing tables' checks: a truncate is
# refused while a referencing table has rows; after a delete, each referencing table is locked
# in SHARE mode, which waits for every transaction writing it, and the statement after the lock
# runs on a fresh snapshot (read committed), so it sees those transactions' rows.
TRUNCATE_GUARD = """
        IF EXISTS (SELECT 1 FROM {table}) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'foreign_key_violation',
                MESSAGE = 'cannot truncate table "{referenced}": table "{table}" references it';
        END IF;"""
DELETE_GUARD = """
    LOCK TABLE {table} IN SHARE MODE;
    SELECT {column} INTO named FROM {table} WHERE {column} = ANY(keys) LIMIT 1;
    IF named IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = 'delete on table "{referenced}" violates the reference '
                      '{table}.{column} -> {referenced}.id',
            DETAIL = format('Key (id)=(%s) is still referenced from table "{table}".', named);
    END IF;"""


def _referenced(referenced: str) -> str:
    pairs = [(table, column) for table, column, r in REFERENCES if r == referenced]
    truncates = "".join(
        TRUNCATE_GUARD.format(table=table, referenced=referenced)
        for table in dict.fromkeys(table for table, _ in pairs)
    )
    deletes = "".join(
        DELETE_GUARD.format(table=table, column=column, referenced=referenced)
        for table, column in pairs
    )
    return (
        f"CREATE FUNCTION xinyong_referenced_{referenced}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$\nDECLARE\n    keys bigint[];\n    named bigint;\nBEGIN\n"
        f"    IF TG_OP = 'TRUNCATE' THEN{truncates}\n        RETURN NULL;\n    END IF;\n"
        f"    keys := ARRAY(SELECT id FROM old_rows);{deletes}\n    RETURN NULL;\nEND $$"
    )


KEY_KEPT = """
CREATE FUNCTION xinyong_key_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'foreign_key_violation',
        MESSAGE = format('the key of a row of "%s" cannot change: other tables reference it',
                         TG_TABLE_NAME),
        DETAIL = format('Key (id)=(%s) would become (%s).', OLD.id, NEW.id);
END $$
"""

REFERENCING = tuple(dict.fromkeys(table for table, _, _ in REFERENCES))
REFERENCED = tuple(dict.fromkeys(referenced for _, _, referenced in REFERENCES))
FUNCTIONS = (
    *(f"xinyong_references_of_{table}" for table in REFERENCING),
    *(f"xinyong_referenced_{referenced}" for referenced in REFERENCED),
    "xinyong_key_kept",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, referenced in REFERENCES:
        op.drop_constraint(f"fk_{table}_{column}_{referenced}", table, type_="foreignkey")
    op.execute(KEY_KEPT)
    for table in REFERENCING:
        op.execute(_references_of(table))
        # A trigger with transition tables has one event: one for inserts, one for updates.
        op.execute(
            f"CREATE TRIGGER {table}_references_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION xinyong_references_of_{table}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_references_update AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION xinyong_references_of_{table}()"
        )
    for referenced in REFERENCED:
        op.execute(_referenced(referenced))
        op.execute(
            f"CREATE TRIGGER {referenced}_referenced_delete AFTER DELETE ON {referenced} "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION xinyong_referenced_{referenced}()"
        )
        op.execute(
            f"CREATE TRIGGER {referenced}_referenced_truncate BEFORE TRUNCATE ON {referenced} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION xinyong_referenced_{referenced}()"
        )
        op.execute(
            f"CREATE TRIGGER {referenced}_referenced_key BEFORE UPDATE OF id ON {referenced} "
            "FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) "
            "EXECUTE FUNCTION xinyong_key_kept()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in FUNCTIONS:
        # CASCADE drops the triggers that call it.
        op.execute(f"DROP FUNCTION {function}() CASCADE")
    for table, column, referenced in REFERENCES:
        op.create_foreign_key(
            f"fk_{table}_{column}_{referenced}", table, referenced, [column], ["id"]
        )
