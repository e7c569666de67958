"""Streaming readers for submission files: JSON (array or Lines), CSV and Parquet.

Each reader yields ``(row_no, raw_text, row_or_error)`` one row at a time, so a file of any size
is read with flat memory. ``row_no`` counts data rows from 1 (a CSV header is not a row). A row
that cannot be parsed is yielded as an error string so that the rest of the file goes on.
"""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

Row = dict[str, Any]
ReadItem = tuple[int, str, Row | str]
FORMATS = ("jsonl", "json", "csv", "parquet")
CHUNK_CHARS = 1 << 18  # JSON array text decoded per read: bounds the memory of a JSON array


class UnreadableFile(Exception):
    """The file cannot be read at all (missing, wrong format, corrupt): refused as a whole."""


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    raise UnreadableFile(
        f"{path}: unknown file type '{path.suffix}' (use .jsonl, .json, .csv, .parquet)"
    )


def read_rows(path: Path, fmt: str | None = None) -> Iterator[ReadItem]:
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    fmt = fmt or detect_format(path)
    if fmt in ("json", "jsonl"):
        return _read_json(path)
    if fmt == "csv":
        return _read_csv(path)
    return _read_parquet(path)


def _object(raw: str | bytes) -> Row | str:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return f"not valid JSON: {error}"
    if not isinstance(value, dict):
        return "each record must be a JSON object"
    return value


def _read_json(path: Path) -> Iterator[ReadItem]:
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        handle.seek(0)
        if head.startswith(b"["):
            yield from _read_json_array(handle)
            return
        row_no = 0
        for line in handle:
            stripped = line.strip()
            if not stripped:
                continue
            row_no += 1
            yield row_no, _decode(stripped), _object(stripped)


def _read_json_array(handle: io.BufferedReader) -> Iterator[ReadItem]:
    """Decode the elements of a top-level JSON array one by one, never holding the whole file."""
    decoder = json.JSONDecoder()
    text = io.TextIOWrapper(handle, encoding="utf-8-sig")
    buffer = ""
    position = 0
    row_no = 0
    started = False
    exhausted = False
    while True:
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if position >= len(buffer) - 1 and not exhausted:
            chunk = text.read(CHUNK_CHARS)
            exhausted = chunk == ""
            buffer = buffer[position:] + chunk
            position = 0
            continue
        if not started:
            if not buffer.startswith("["):
                raise UnreadableFile("a JSON file must hold an array of records or JSON Lines")
            started = True
            position = 1
            continue
        if position >= len(buffer):
            raise UnreadableFile("the JSON array is not closed with ']'")
        if buffer[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(buffer, position)
        except json.JSONDecodeError as error:
            if not exhausted:
                chunk = text.read(CHUNK_CHARS)
                exhausted = chunk == ""
                buffer = buffer[position:] + chunk
                position = 0
                continue
            raise UnreadableFile(
                f"the JSON array breaks off at record {row_no + 1}: {error}"
            ) from None
        row_no += 1
        raw = buffer[position:end]
        position = end
        yield row_no, raw, value if isinstance(value, dict) else "each record must be a JSON object"


def _read_csv(path: Path) -> Iterator[ReadItem]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            raise UnreadableFile(f"{path}: not a readable CSV file: {error}") from None
        if "record_type" not in header:
            raise UnreadableFile(f"{path}: the CSV header has no 'record_type' column")
        row_no = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                row_no += 1
                yield row_no, "", f"not a readable CSV row: {error}"
                continue
            row_no += 1
            raw = _csv_line(values)
            if len(values) != len(header):
                yield row_no, raw, f"has {len(values)} columns, the header has {len(header)}"
                continue
            yield (
                row_no,
                raw,
                {name: value for name, value in zip(header, values, strict=True) if value != ""},
            )


def _read_parquet(path: Path) -> Iterator[ReadItem]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise UnreadableFile(f"{path}: not a readable Parquet file: {error}") from None
    if "record_type" not in parquet.schema_arrow.names:
        raise UnreadableFile(f"{path}: the Parquet schema has no 'record_type' column")
    row_no = 0
    for batch in parquet.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            row_no += 1
            present = {name: value for name, value in row.items() if value is not None}
            yield row_no, orjson.dumps(present, default=str).decode(), present


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue().rstrip("\r\n")
