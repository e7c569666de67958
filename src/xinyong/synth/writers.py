"""Per-authority submission files in JSON Lines, CSV or Parquet, written as rows stream in.

Every format carries the same columns. ``fields`` is a JSON object in JSON Lines and JSON text
in CSV and Parquet; a value that is already text (a deliberately broken ``fields`` cell) is
written as it is. Absent values are left out of a JSON line, empty in CSV and null in Parquet.

Memory stays flat: text formats go through a small file buffer, Parquet keeps at most one row
group per open file, as Arrow batches. Nothing that varies between runs (time, paths) is written, so the same
rows give the same bytes.
"""

import csv
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.ingest.rows import RECORD_COLUMNS

COLUMNS = RECORD_COLUMNS
FORMATS = ("jsonl", "csv", "parquet")
PARQUET_ROW_GROUP = 16_384
_PARQUET_BATCH = 1_024  # a divisor of PARQUET_ROW_GROUP
_FILE_BUFFER = 1 << 16
_PARQUET_SCHEMA = pa.schema(
    [(name, pa.float64() if name == "amount" else pa.string()) for name in COLUMNS]
)


def fields_text(fields: Any) -> str:
    """``fields`` as it appears in a CSV cell or a Parquet string column."""
    if isinstance(fields, str):
        return fields
    return orjson.dumps(fields).decode()


class SubmissionFile(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonLinesFile:
    def __init__(self, path: Path) -> None:
        self._handle = path.open("wb", buffering=_FILE_BUFFER)

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        self._handle.close()


class CsvFile:
    def __init__(self, path: Path) -> None:
        self._handle = path.open("w", encoding="utf-8", newline="", buffering=_FILE_BUFFER)
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(COLUMNS)

    def write(self, record: dict[str, Any]) -> None:
        self._writer.writerow(
            [
                "" if value is None else _csv_cell(name, value)
                for name, value in ((name, record.get(name)) for name in COLUMNS)
            ]
        )

    def close(self) -> None:
        self._handle.close()


def _csv_cell(column: str, value: Any) -> str:
    if column == "fields":
        return fields_text(value)
    if column == "amount" and isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


class ParquetFile:
    """Gathers rows into Arrow batches, compact in memory, and writes one row group each time
    ``PARQUET_ROW_GROUP`` rows are in."""

    def __init__(self, path: Path) -> None:
        # Parquet metadata holds no timestamp: created_by names the pyarrow version only, so
        # equal rows in equal row groups give equal bytes.
        self._writer = pq.ParquetWriter(path, _PARQUET_SCHEMA, compression="zstd")
        self._columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        self._batches: list[pa.RecordBatch] = []
        self._pending = 0  # rows in _columns
        self._gathered = 0  # rows in _batches

    def write(self, record: dict[str, Any]) -> None:
        for name, column in self._columns.items():
            value = record.get(name)
            column.append(fields_text(value) if name == "fields" and value is not None else value)
        self._pending += 1
        if self._pending == _PARQUET_BATCH:
            self._gather()
            if self._gathered == PARQUET_ROW_GROUP:
                self._flush()

    def _gather(self) -> None:
        if self._pending:
            self._batches.append(pa.record_batch(self._columns, schema=_PARQUET_SCHEMA))
            self._columns = {name: [] for name in COLUMNS}
            self._gathered += self._pending
            self._pending = 0

    def _flush(self) -> None:
        if self._gathered:
            table = pa.Table.from_batches(self._batches, schema=_PARQUET_SCHEMA)
            self._writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)
            self._batches = []
            self._gathered = 0

    def close(self) -> None:
        self._gather()
        self._flush()
        self._writer.close()


def open_submission(path: Path, fmt: str) -> SubmissionFile:
    if fmt == "jsonl":
        return JsonLinesFile(path)
    if fmt == "csv":
        return CsvFile(path)
    if fmt == "parquet":
        return ParquetFile(path)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


class SubmissionFiles:
    """One file per authority under ``out_dir``, opened when its first row arrives."""

    def __init__(self, out_dir: Path, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.out_dir = out_dir
        self.fmt = fmt
        self._files: dict[str, SubmissionFile] = {}

    def file_name(self, authority: str) -> str:
        return f"{authority}.{self.fmt}"

    def write(self, record: dict[str, Any]) -> None:
        authority = record["authority"]
        handle = self._files.get(authority)
        if handle is None:
            handle = open_submission(self.out_dir / self.file_name(authority), self.fmt)
            self._files[authority] = handle
        handle.write(record)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
