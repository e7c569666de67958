"""The facts a batch evaluation reads, taken from the store in one pass by DuckDB.

DuckDB reads the SQLite store through its ``sqlite`` extension and a PostgreSQL store through
``postgres`` (both shipped as PyPI packages, so nothing is downloaded at run time), and hands
the plan two Arrow tables: ``records`` (the current version of every decision of a type the
policy reads, with its withdrawal day and the fields the rules name) and ``subjects``.

A field the rules name becomes a column of canonical JSON text (``"A"``, ``12``, ``null``
for an explicit null, SQL NULL when absent), so equality with a rule's allowed values is a
string comparison on every engine; an integer-valued field also gets an integer column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import duckdb_ext
import orjson
import pyarrow as pa
from pydantic import JsonValue
from sqlalchemy.engine import make_url

from xinyong.policy import Pack
from xinyong.policy.schemes import RecordCondition
from xinyong.records.facts import ENDED_STATUSES

EXTENSIONS = Path(next(iter(duckdb_ext.__path__))) / "extensions"
"""Where the ``duckdb-ext-*`` packages put DuckDB's extensions."""


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that finds the packaged extensions and reads timestamps as UTC."""
    connection = duckdb.connect(config={"extension_directory": str(EXTENSIONS)})
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def attach_store(connection: duckdb.DuckDBPyConnection, url: str) -> None:
    """Attach the store at ``url`` read-only as the catalogue ``store``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        connection.execute("LOAD sqlite")
        connection.execute(
            f"ATTACH {_quote(str(parsed.database))} AS store (TYPE sqlite, READ_ONLY)"
        )
    elif backend == "postgresql":
        connection.execute("LOAD postgres")
        parts = {
            "host": parsed.host,
            "port": parsed.port,
            "dbname": parsed.database,
            "user": parsed.username,
            "password": parsed.password,
        }
        dsn = " ".join(f"{key}={value}" for key, value in parts.items() if value is not None)
        connection.execute(f"ATTACH {_quote(dsn)} AS store (TYPE postgres, READ_ONLY)")
    else:
        raise ValueError(f"batch evaluation reads SQLite or PostgreSQL stores, not {backend}")


def json_text(value: JsonValue) -> str:
    """The canonical JSON text of a value, as DuckDB's ``json_extract`` renders fields."""
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class FactsSpec:
    """Which record types and fields an evaluation reads; fields map to column names."""

    record_types: tuple[str, ...]
    fields: dict[str, str]

    def text(self, field: str) -> str:
        """Column of the field's canonical JSON text."""
        return self.fields[field]

    def integer(self, field: str) -> str:
        """Column of the field's value when it is a JSON integer, else NULL."""
        return f"{self.fields[field]}_int"


def facts_spec(pack: Pack, conditions: Iterable[RecordCondition] = ()) -> FactsSpec:
    """Everything the pack's lists and the given scheme conditions read."""
    types: set[str] = set()
    names: set[str] = set()
    for credit_list in pack.lists.values():
        for rule in credit_list.entry:
            types.add(rule.record_type)
            names.update(rule.fields)
        if credit_list.extension is not None:
            names.add(credit_list.extension.field)
        if credit_list.removal is not None:
            types.update(credit_list.removal.record_types)
            names.update(credit_list.removal.same_fields)
    for condition in conditions:
        types.add(condition.record_type)
        names.update(condition.fields)
    return FactsSpec(
        tuple(sorted(types)), {name: f"field_{n}" for n, name in enumerate(sorted(names))}
    )


@dataclass(frozen=True)
class Snapshot:
    """The facts, and how far the store had got when they were read."""

    records: pa.Table
    subjects: pa.Table
    last_record_id: int
    last_event_id: int


def read_facts(connection: duckdb.DuckDBPyConnection, spec: FactsSpec) -> Snapshot:
    """Read the facts from the attached ``store``: one consistent read of each table."""
    marks = connection.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM store.records),"
        " (SELECT coalesce(max(id), 0) FROM store.record_events)"
    ).fetchone()
    assert marks is not None
    field_columns = []
    for name in spec.fields:
        path = "$." + json_text(name)
        field_columns.append(
            f"json_extract(r.fields, {_quote(path)})::VARCHAR AS {spec.text(name)}"
        )
        field_columns.append(
            f"CASE WHEN json_type(r.fields, {_quote(path)}) IN ('BIGINT', 'UBIGINT')"
            f" THEN json_extract(r.fields, {_quote(path)})::BIGINT END AS {spec.integer(name)}"
        )
    types = ", ".join(_quote(code) for code in spec.record_types) or "NULL"
    ended = ", ".join(_quote(status) for status in ENDED_STATUSES)
    records = connection.execute(
        f"""
        SELECT h.subject_id::BIGINT AS subject_id, r.id::BIGINT AS record_id,
               r.document_key, r.record_type,
               r.decided_on::DATE AS decided_on, r.effective_on::DATE AS effective_on,
               r.severity, r.amount::DOUBLE AS amount, h.status,
               CASE WHEN h.status IN ({ended}) THEN w.withdrawn_on END AS withdrawn_on
               {"".join(", " + column for column in field_columns)}
        FROM store.record_heads h
        JOIN store.records r ON r.id = h.record_id
        LEFT JOIN (
            -- The day in China (UTC+8) the decision stopped grounding anything: its first
            -- withdrawal or repair on any version of the document, as the reference reads it.
            SELECT cur.id AS record_id,
                   (min(e.occurred_at)::TIMESTAMP + INTERVAL 8 HOUR)::DATE AS withdrawn_on
            FROM store.records cur
            JOIN store.records v ON v.document_key = cur.document_key
            JOIN store.record_events e ON e.record_id = v.id
            WHERE e.kind IN ({ended}) GROUP BY cur.id
        ) w ON w.record_id = r.id
        WHERE r.record_type IN ({types}) AND r.id <= ?
        """,
        [marks[0]],
    ).fetch_arrow_table()
    subjects = connection.execute(
        "SELECT id::BIGINT AS subject_id, kind FROM store.subjects ORDER BY id"
    ).fetch_arrow_table()
    return Snapshot(records, subjects, int(marks[0]), int(marks[1]))


def read_entries(connection: duckdb.DuckDBPyConnection) -> pa.Table:
    """The stored entries that ever held, as schemes read them (after entries are published)."""
    return connection.execute(
        "SELECT id::BIGINT AS entry_id, subject_id::BIGINT AS subject_id, list_code,"
        " record_id::BIGINT AS record_id,"
        " started_on::DATE AS started_on, ended_on::DATE AS ended_on"
        " FROM store.entries WHERE ended_on > started_on"
    ).fetch_arrow_table()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
