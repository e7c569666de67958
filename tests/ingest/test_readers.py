"""Readers stream: memory does not grow with the file, and every format yields the same rows."""

import csv
import tracemalloc
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.ingest.readers import MAX_ROW_CHARS, UnreadableFile, read_rows
from xinyong.ingest.values import MAX_DEPTH
from xinyong.testing import samples


def write(path: Path, rows: int) -> Path:
    fmt = path.suffix
    records = (samples.defaulter_listing(samples.person(i), i) for i in range(rows))
    if fmt == ".jsonl":
        with path.open("wb") as out:
            for record in records:
                out.write(orjson.dumps(record) + b"\n")
    elif fmt == ".json":
        with path.open("wb") as out:
            out.write(b"[\n")
            for index, record in enumerate(records):
                out.write((b",\n" if index else b"") + orjson.dumps(record))
            out.write(b"\n]\n")
    elif fmt == ".csv":
        with path.open("w", newline="") as out:
            writer = None
            for record in records:
                flat = {**record, "fields": orjson.dumps(record["fields"]).decode()}
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(flat))
                    writer.writeheader()
                writer.writerow(flat)
    else:
        batch = [
            {**r, "fields": orjson.dumps(r["fields"]).decode()}
            for r in (samples.defaulter_listing(samples.person(i), i) for i in range(rows))
        ]
        pq.write_table(pa.Table.from_pylist(batch), path, row_group_size=4096)
    return path


def peak_while_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    count = sum(1 for _ in read_rows(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak


# Reads files past every buffer: `make test` runs it, the quick loop does not.
@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_memory_stays_flat_as_files_grow(tmp_path: Path, suffix: str) -> None:
    """Both files are larger than every read buffer, so only rows could make the peak grow."""
    small_count, small_peak = peak_while_reading(write(tmp_path / f"small{suffix}", 15_000))
    large_count, large_peak = peak_while_reading(write(tmp_path / f"large{suffix}", 30_000))
    assert (small_count, large_count) == (15_000, 30_000)
    assert large_peak < small_peak * 1.2 + 256 * 1024, (small_peak, large_peak)


def test_every_format_yields_the_same_rows(tmp_path: Path) -> None:
    rows = {}
    for suffix in (".jsonl", ".json", ".csv", ".parquet"):
        items = list(read_rows(write(tmp_path / f"f{suffix}", 300)))
        rows[suffix] = [
            (
                number,
                {
                    **row,
                    "fields": orjson.loads(row["fields"])
                    if isinstance(row["fields"], str)
                    else row["fields"],
                    "amount": float(row["amount"]),
                },
            )
            for number, _, row in items
            if isinstance(row, dict)
        ]
    assert rows[".jsonl"] == rows[".json"] == rows[".csv"] == rows[".parquet"]
    assert [number for number, _ in rows[".jsonl"]] == list(range(1, 301))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=4), max_size=30)
)
def test_json_arrays_split_into_their_elements_at_any_size(
    tmp_path_factory: pytest.TempPathFactory, values: list[dict[str, str]]
) -> None:
    path = tmp_path_factory.mktemp("arr") / "a.json"
    path.write_bytes(orjson.dumps(values, option=orjson.OPT_INDENT_2))
    assert [row for _, _, row in read_rows(path)] == values


def test_a_broken_json_array_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"a": 1}, {"b": ')
    with pytest.raises(UnreadableFile, match="breaks off"):
        list(read_rows(path))


@pytest.mark.parametrize(
    "text",
    [
        '[{"a": 1} {"b": 2},,]',
        '[{"a": 1},,{"b": 2}]',
        '[{"a": 1}, {"b": 2},]',
        '[{"a": 1}, {"b": 2}',
        '[{"a": 1}] [{"b": 2}]',
        '[{"a": 1}, {"b": NaN}]',
        '[{"a": 1}, {"b": "\x01"}]',
    ],
)
def test_a_broken_json_array_is_refused_before_a_row_is_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(UnreadableFile, match="not valid JSON"):
        read_rows(path)  # not iterated: the whole array is checked first


def test_a_json_array_element_keeps_what_a_fast_parser_would_change(tmp_path: Path) -> None:
    """yajl reads a lone surrogate escape as "?", and joins one to the next escape."""
    path = tmp_path / "escapes.json"
    path.write_text('[{"a": "x\\ud800y"}, {"a": "\\ud800\\u0041"}, {"a": "\\ud83d\\ude00"}]')
    assert [row for _, _, row in read_rows(path)] == [
        {"a": "x\ud800y"},
        {"a": "\ud800A"},
        {"a": "😀"},
    ]


def test_a_deep_or_long_element_is_refused_alone(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    deep = "[" * 100_000 + "]" * 100_000
    long = '"' + "x" * (MAX_ROW_CHARS + 1) + '"'
    path.write_text(f'[{{"a": 1}}, {{"b": {deep}}}, {{"c": {long}}}, 7, {{"d": 2}}]')
    assert [(number, row) for number, _, row in read_rows(path)] == [
        (1, {"a": 1}),
        (2, f"nested deeper than {MAX_DEPTH} levels"),
        (3, f"the row is longer than {MAX_ROW_CHARS:,} characters"),
        (4, "each record must be a JSON object"),
        (5, {"d": 2}),
    ]


def test_a_long_json_line_is_refused_alone(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text('{"a": 1}\n{"b": "' + "x" * (2 * MAX_ROW_CHARS) + '"}\n\n{"c": 2}\n')
    assert [(number, row) for number, _, row in read_rows(path)] == [
        (1, {"a": 1}),
        (2, f"the row is longer than {MAX_ROW_CHARS:,} characters"),
        (3, {"c": 2}),
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_a_byte_order_mark_is_read_past(tmp_path: Path, suffix: str) -> None:
    plain = write(tmp_path / f"plain{suffix}", 3)
    marked = tmp_path / f"marked{suffix}"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert [row for _, _, row in read_rows(marked)] == [row for _, _, row in read_rows(plain)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".jsonl", ".json", ".csv"]))
def test_arbitrary_bytes_are_rows_or_a_refused_file(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"f{suffix}"
    path.write_bytes(b"record_type,x\n" + data if suffix == ".csv" else data)
    try:
        items = list(read_rows(path))
    except UnreadableFile:
        return
    assert [number for number, _, _ in items] == list(range(1, len(items) + 1))
    assert all(isinstance(row, dict | str) for _, _, row in items)
