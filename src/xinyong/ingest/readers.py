"""Streaming readers for submissions: JSON (array or Lines), CSV and Parquet files, API bodies.

Each reader yields ``(row_no, raw_text, row_or_error)`` one row at a time, so a file of any size
is read with flat memory. ``row_no`` counts data rows from 1 (a CSV header is not a row, nor is
a blank line). A row that cannot be parsed is yielded as an error string so that the rest of
the file goes on. What cannot be read at all is refused as a whole, before the first row is
yielded: a missing file, an unknown format, the wrong encoding, a CSV without a header, a
Parquet file that does not decode, and a JSON array with a syntax error anywhere in it (a
stream parser cannot find the next record after one, so the file is checked to its end first).
"""

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import accumulate, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson
from ijson.common import ObjectBuilder

from xinyong.ingest.encodings import (
    AUTO,
    DEFAULT,
    SAMPLE_BYTES,
    EncodingRefused,
    Utf8Bytes,
    check_sample,
    codec_name,
    detected,
    open_text,
)
from xinyong.ingest.values import MAX_DEPTH

Row = dict[str, Any]
# A JSON Lines row handed over as its text, for whoever validates it to parse (a worker process:
# the text crosses to it more cheaply than the values it holds).
Unparsed = tuple[str]
ReadItem = tuple[int, str, Row | str | Unparsed]
Opener = Callable[[], BinaryIO]
FORMATS = ("jsonl", "json", "csv", "parquet")
MAX_ROW_CHARS = 1 << 20  # a longer row is refused unread (a record is a few hundred characters)
RAW_KEPT = 2000  # how much of a row the quarantine keeps as received (a record is far shorter)
NOT_AN_OBJECT = "each record must be a JSON object"
# The yajl parser under ijson turns a lone UTF-16 surrogate escape into "?", joins it to the
# next escape, or fails; a file with any surrogate escape is read with ijson's pure Python
# parser instead, which keeps a lone one so that its row is refused. Files that escape
# characters beyond the BMP as pairs take that slower path too; they are rare.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_FAST, _EXACT = ijson, ijson.get_backend("python")  # the fastest backend installed, and Python's
_CONTAINERS = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}


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


def file_codec(path: Path, encoding: str | None) -> str:
    """The codec a text file is read in: the declared one (UTF-8 if none) after checking that
    the file's first bytes are in it, or, for ``auto``, the one detected with confidence."""
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    try:
        codec = codec_name(encoding)
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        if codec == AUTO:
            codec = detected(sample)
        check_sample(sample, codec)
    except EncodingRefused as error:
        raise UnreadableFile(f"{path}: {error}") from None
    return codec


def read_rows(
    path: Path, fmt: str | None = None, *, encoding: str | None = None, parsed: bool = True
) -> Iterator[ReadItem]:
    """The rows of ``path``, after checking that the file can be read as a whole; unless
    ``parsed``, JSON Lines rows as their text (:data:`Unparsed`)."""
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    fmt = fmt or detect_format(path)
    if fmt == "parquet":
        try:
            codec = codec_name(encoding)
        except EncodingRefused as error:
            raise UnreadableFile(f"{path}: {error}") from None
        if codec not in (DEFAULT, AUTO):
            raise UnreadableFile(f"{path}: Parquet text is UTF-8; --encoding applies to text files")
        return _read_parquet(path)
    codec = file_codec(path, encoding)

    def opener() -> BinaryIO:
        return path.open("rb")

    try:
        if fmt == "csv":
            return _read_csv(opener, codec)
        return read_json(opener, codec, parsed=parsed)
    except (EncodingRefused, UnreadableFile) as error:
        raise UnreadableFile(f"{path}: {error}") from None


def read_body(body: bytes, *, lines: bool) -> Iterator[ReadItem]:
    """The rows of an API body: a JSON array, or JSON Lines when ``lines`` or not an array.

    Raises :class:`UnreadableFile` for a body that is not UTF-8 JSON at all.
    """

    def opener() -> BinaryIO:
        return io.BytesIO(body)

    try:
        check_sample(body[:SAMPLE_BYTES], DEFAULT)
    except EncodingRefused as error:
        looks = f" (it looks like {error.likely})" if error.likely else ""
        raise UnreadableFile(f"not UTF-8 text{looks}: JSON is sent in UTF-8") from None
    return read_json(opener, DEFAULT, lines=lines)


def read_json(
    opener: Opener, codec: str, *, lines: bool = False, parsed: bool = True
) -> Iterator[ReadItem]:
    """A JSON array's elements, or the lines of JSON Lines (what the first character says;
    unless ``parsed``, as their text)."""
    with open_text(opener(), codec, newline="\n") as text:
        head = text.read(4096).lstrip()
    if head.startswith("[") and not lines:
        exact = _has_surrogate_escapes(opener)
        return _array_rows(opener, codec, exact, _check_array(opener, codec, exact))
    return _json_lines(opener, codec, parsed)


def parse_json(text: str) -> Any:
    """A JSON text as Python values; raises ``ValueError`` with the reason.

    An integer beyond 64 bits comes back as a float (orjson's reading), which row validation
    refuses as out of range like any number beyond ±2^63.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error):
            raise ValueError(_too_deep()) from None
        raise ValueError(f"not valid JSON: {error}") from None


def json_object(text: str) -> Row | str:
    """One JSON Lines row: an object, or the reason it is not one."""
    try:
        value = parse_json(text)
    except ValueError as error:
        return str(error)
    return value if isinstance(value, dict) else NOT_AN_OBJECT


def parsed_row(item: Row | str | Unparsed) -> Row | str:
    """A row read, parsed if it was handed over as its text."""
    return json_object(item[0]) if isinstance(item, tuple) else item


def _json_lines(opener: Opener, codec: str, parsed: bool) -> Iterator[ReadItem]:
    with open_text(opener(), codec, newline="\n") as text:
        row_no = 0
        while line := text.readline(MAX_ROW_CHARS):
            if len(line) == MAX_ROW_CHARS and not line.endswith("\n"):
                while (rest := text.readline(MAX_ROW_CHARS)) and not rest.endswith("\n"):
                    pass
                row_no += 1
                yield row_no, line[:RAW_KEPT], _too_long()
                continue
            stripped = line.strip()
            if stripped:
                row_no += 1
                # A row of RAW_KEPT characters or fewer is its own raw text: one string.
                yield row_no, stripped[:RAW_KEPT], json_object(stripped) if parsed else (stripped,)


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels"


def _too_long() -> str:
    return f"the row is longer than {MAX_ROW_CHARS:,} characters"


def _has_surrogate_escapes(opener: Opener) -> bool:
    with opener() as handle:
        tail = b""
        while chunk := handle.read(1 << 22):
            if _SURROGATE_ESCAPE.search(tail + chunk):
                return True
            tail = chunk[-5:]
    return False


def _events(opener: Opener, codec: str, exact: bool) -> Iterator[tuple[str, Any]]:
    backend = _EXACT if exact else _FAST
    with open_text(opener(), codec, newline="") as text:
        yield from backend.basic_parse(Utf8Bytes(text))


def _check_array(opener: Opener, codec: str, exact: bool) -> int:
    """Read the whole array once, to refuse a broken one before any of its rows is stored;
    returns how deep its elements nest (the array itself is not counted)."""
    try:
        # Depth as a running sum over the events, all in C: this pass costs little per row.
        kinds = map(itemgetter(0), _events(opener, codec, exact))
        return max(accumulate(map(_CONTAINERS.get, kinds, repeat(0))), default=1) - 1
    except (ijson.JSONError, UnicodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    whole = _records_before_error(opener, codec, exact)
    raise UnreadableFile(f"not valid JSON: the array breaks off after record {whole} ({reason})")


def _records_before_error(opener: Opener, codec: str, exact: bool) -> int:
    """How many elements of a broken array are whole (the error path may take its time)."""
    depth = records = 0
    try:
        for event, _ in _events(opener, codec, exact):
            depth += _CONTAINERS.get(event, 0)
            if depth == 1 and event != "start_array":
                records += 1
    except (ijson.JSONError, UnicodeError):
        pass
    return records


def _array_rows(opener: Opener, codec: str, exact: bool, deepest: int) -> Iterator[ReadItem]:
    """The elements of a checked JSON array. Elements are built by the parser itself when none
    is too deep; otherwise each is built only as deep and as long as allowed (building an
    element thousands of levels deep would take memory that grows with the square of it)."""
    if deepest <= MAX_DEPTH:
        with open_text(opener(), codec, newline="") as text:
            parser = _EXACT if exact else _FAST
            for row_no, value in enumerate(parser.items(Utf8Bytes(text), "item"), start=1):
                yield (row_no, *_element_read(value))
        return
    events = _events(opener, codec, exact)
    next(events)  # the array's own start
    row_no = 0
    for event, value in events:
        if event == "end_array":
            return
        row_no += 1
        if event not in ("start_map", "start_array"):
            yield (row_no, *_element_read(value))
            continue
        yield (row_no, *_element(event, events))


def _element(first: str, events: Iterator[tuple[str, Any]]) -> tuple[str, Row | str]:
    builder = ObjectBuilder()
    builder.event(first, None)
    depth, size = 1, 0
    refusal: str | None = None
    for event, value in events:
        depth += _CONTAINERS.get(event, 0)
        if refusal is None:
            size += len(value) if isinstance(value, str) else 1
            if depth > MAX_DEPTH:
                refusal = _too_deep()
            elif size > MAX_ROW_CHARS:
                refusal = _too_long()
            else:
                builder.event(event, value)
        if depth == 0:
            break
    if refusal is not None:
        return "", refusal
    return _element_read(builder.value)


def _element_read(value: Any) -> tuple[str, Row | str]:
    """An element, and its text as received: written back as JSON (the array's text is not
    kept), which also measures it."""
    raw = _json_text(value)
    if len(raw) > MAX_ROW_CHARS:
        return raw[:RAW_KEPT], _too_long()
    return raw[:RAW_KEPT], value if isinstance(value, dict) else NOT_AN_OBJECT


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_plain).decode()
    except TypeError:  # orjson writes neither integers beyond 64 bits nor lone surrogates
        return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else str(value)


def _read_csv(opener: Opener, codec: str) -> Iterator[ReadItem]:
    text = open_text(opener(), codec, newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as error:
        text.close()
        raise UnreadableFile(f"not a readable CSV file: {error}") from None
    if "record_type" not in header:
        text.close()
        raise UnreadableFile("the CSV header has no 'record_type' column")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        text.close()
        raise UnreadableFile(f"the CSV header names the column '{repeated[0]}' twice")
    return _csv_rows(text, reader, header)


def _csv_rows(text: io.TextIOWrapper, reader: Any, header: list[str]) -> Iterator[ReadItem]:
    with text:
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
            if not values:
                continue  # a blank line
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


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue().rstrip("\r\n")[:RAW_KEPT]


def _read_parquet(path: Path) -> Iterator[ReadItem]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        if "record_type" not in parquet.schema_arrow.names:
            raise UnreadableFile(f"{path}: the Parquet schema has no 'record_type' column")
        for _ in parquet.iter_batches(batch_size=65536):
            pass  # every page decodes: a damaged file is refused before a row is stored
    except UnreadableFile:
        raise
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise UnreadableFile(f"{path}: not a readable Parquet file: {error}") from None
    return _parquet_rows(parquet)


def _parquet_rows(parquet: Any) -> Iterator[ReadItem]:
    row_no = 0
    for batch in parquet.iter_batches(batch_size=8192):
        try:
            rows = batch.to_pylist()
        except (UnicodeDecodeError, ValueError, OverflowError):
            rows = [_parquet_row(batch, index) for index in range(batch.num_rows)]
        for row in rows:
            row_no += 1
            if isinstance(row, str):
                yield row_no, "", row
                continue
            present = {name: value for name, value in row.items() if value is not None}
            yield row_no, _json_text(present)[:RAW_KEPT], present


def _parquet_row(batch: Any, index: int) -> Row | str:
    try:
        row: Row = batch.slice(index, 1).to_pylist()[0]
    except (UnicodeDecodeError, ValueError, OverflowError) as error:
        return f"the row's values cannot be read: {error}"
    return row
