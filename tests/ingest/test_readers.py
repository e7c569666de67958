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

from xinyong.ingest.readers import UnreadableFile, read_rows
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


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_memory_stays_flat_as_files_grow(tmp_path: Path, suffix: str) -> None:
    """Both files are larger than every read buffer, so only rows could make the peak grow."""
    small_count, small_peak = peak_while_reading(write(tmp_path / f"small{suffix}", 15_000))
    large_count, large_peak = peak_while_reading(write(tmp_path / f"large{suffix}", 60_000))
    assert (small_count, large_count) == (15_000, 60_000)
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
