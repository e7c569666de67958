"""A version's rows as files: JSON Lines (the rows as they are), CSV and Parquet (flat).

JSON Lines keeps every row exactly (keys sorted, one row a line). CSV and Parquet need flat
columns: a nested object becomes dotted columns (``subject.name``, ``list_name.zh``), a list
or a deeper object stays JSON text in its column. Columns come in the order they first
appear, rows in key order, so the same rows always give the same bytes. A CSV cell that a
spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice for CSV
injection, as the auditor's export does); JSON Lines and Parquet keep the text unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.audit.export import spreadsheet_text

MEDIA_TYPES = {
    "jsonl": "application/jsonl",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}


def jsonl(rows: Sequence[Any]) -> bytes:
    return b"".join(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n" for row in rows)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One level of nesting as dotted columns; anything deeper, and lists, as JSON text."""
    flat: dict[str, Any] = {}
    for name, value in row.items():
        column = f"{prefix}{name}"
        if isinstance(value, Mapping) and not prefix:
            flat.update(flatten(value, f"{column}."))
        elif isinstance(value, Mapping | list | tuple):
            flat[column] = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        else:
            flat[column] = value
    return flat


def _columns(flat: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in flat:
        seen.update(dict.fromkeys(row))
    return list(seen)


def csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    flat = [flatten(row) for row in rows]
    columns = _columns(flat)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow(
            ["" if row.get(name) is None else spreadsheet_text(row[name]) for name in columns]
        )
    return out.getvalue().encode()


def _arrow_column(values: list[Any]) -> pa.Array:
    present = [value for value in values if value is not None]
    if present and all(isinstance(value, bool) for value in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(value, int) and not isinstance(value, bool) for value in present):
        return pa.array(values, pa.int64())
    return pa.array([None if value is None else str(value) for value in values], pa.string())


def parquet_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    flat = [flatten(row) for row in rows]
    columns = _columns(flat)
    table = pa.table({name: _arrow_column([row.get(name) for row in flat]) for name in columns})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data: bytes = sink.getvalue().to_pybytes()
    return data


def parquet_rows(data: bytes) -> int:
    """How many rows a Parquet file holds (from its footer)."""
    rows: int = pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
    return rows


def csv_rows(data: bytes) -> int:
    """How many rows a CSV file holds under its header (cells may hold line breaks)."""
    return max(0, sum(1 for _ in csv.reader(io.StringIO(data.decode(), newline=""))) - 1)
