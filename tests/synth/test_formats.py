"""Submission files: byte-identical for the same seed, the same rows in every format."""

import contextlib
import csv
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from xinyong.synth import COLUMNS, FORMATS, MANIFEST, SynthSummary, generate
from xinyong.synth.writers import PARQUET_ROW_GROUP, SubmissionFiles

AS_OF = date(2026, 11, 1)
PERSONS, ORGS = 2_000, 300


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def read_back(path: Path) -> list[dict[str, Any]]:
    """A file's rows as a JSON line holds them: absent values left out, ``fields`` decoded."""
    if path.suffix == ".jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == COLUMNS
            rows = [{k: v for k, v in row.items() if v != ""} for row in reader]
    else:
        table = pq.read_table(path)
        assert table.schema.names == list(COLUMNS)
        rows = [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]
    for row in rows:
        if "amount" in row:
            row["amount"] = float(row["amount"])
        if "fields" in row:
            # A deliberately broken cell stays text, as JSON Lines carries it.
            with contextlib.suppress(orjson.JSONDecodeError):
                row["fields"] = orjson.loads(row["fields"])
    return rows


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, SynthSummary]]:
    """The city of seed 5 in a format, written once a module on each worker that runs a test
    reading it, and never changed; its folder and summary."""
    root = tmp_path_factory.mktemp("cities")

    @cache
    def city(fmt: str) -> tuple[Path, SynthSummary]:
        return root / fmt, generate(root / fmt, PERSONS, ORGS, 5, fmt, AS_OF)

    return city


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_seed_gives_the_same_bytes(
    fmt: str, tmp_path: Path, cities: Callable[[str], tuple[Path, SynthSummary]]
) -> None:
    folder, first = cities(fmt)
    generate(tmp_path / "second", PERSONS, ORGS, 5, fmt, AS_OF)
    assert contents(folder) == contents(tmp_path / "second")
    assert len(contents(folder)) == len(first.files) + 2  # manifest, outcomes
    generate(tmp_path / "other", PERSONS, ORGS, 6, fmt, AS_OF)
    other = contents(tmp_path / "other")
    changed = [name for name, data in contents(folder).items() if other.get(name) != data]
    assert MANIFEST in changed and len(changed) > len(first.files) // 2


def test_every_format_carries_the_same_rows(
    cities: Callable[[str], tuple[Path, SynthSummary]],
) -> None:
    folders = {fmt: cities(fmt)[0] for fmt in FORMATS}
    manifest = orjson.loads((folders["jsonl"] / MANIFEST).read_bytes())
    assert manifest["format"] == "jsonl"
    for entry in manifest["files"]:
        expected = read_back(folders["jsonl"] / entry["file"])
        assert len(expected) == entry["rows"]
        for fmt in ("csv", "parquet"):
            name = f"{entry['authority']}.{fmt}"
            assert read_back(folders[fmt] / name) == expected, name
    broken = [
        row
        for entry in manifest["files"]
        for row in read_back(folders["jsonl"] / entry["file"])
        if isinstance(row.get("fields"), str)
    ]
    assert broken, "a malformed fields cell is planted somewhere"


def test_parquet_is_written_in_fixed_row_groups(tmp_path: Path) -> None:
    files = SubmissionFiles(tmp_path, "parquet")
    row = {"record_type": "health.blood_donation", "authority": "health.110000", "amount": None}
    for _ in range(PARQUET_ROW_GROUP + 5):
        files.write({**row, "fields": {"volume_ml": 400}})
    files.close()
    parquet = pq.ParquetFile(tmp_path / "health.110000.parquet")
    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.metadata.num_row_groups)]
    assert sizes == [PARQUET_ROW_GROUP, 5]
    assert str(parquet.schema_arrow.field("amount").type) == "double"
    assert str(parquet.schema_arrow.field("fields").type) == "string"
    assert parquet.read().column("fields")[0].as_py() == '{"volume_ml":400}'


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        generate(tmp_path, 10, 1, 1, "xlsx", AS_OF)


def test_the_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Another interpreter with another string-hash seed writes the same bytes as this one
    (whose seed is random unless the environment fixes it: the other's is then another)."""
    script = (
        "import sys, datetime, pathlib; from xinyong.synth import generate; "
        "generate(pathlib.Path(sys.argv[1]), 800, 120, 5, 'csv', datetime.date(2026, 11, 1))"
    )
    hash_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "other")], check=True, env=environment
    )
    generate(tmp_path / "here", 800, 120, 5, "csv", AS_OF)
    assert contents(tmp_path / "other") == contents(tmp_path / "here")


RECORDED_CITY = "8e9efa4a4422d3966ad35f9103618fcee52ac02f2a69b77238e9afd85d1070d1"
"""The digest of a small city (200 persons, 30 organisations, seed 1, JSON Lines) as every
machine must write it. It changes only with the generator, the exactly pinned Faker (its
names and addresses) or the national pack (its digest is in the manifest): then record the new
digest in the same commit, on purpose."""


def test_a_small_city_has_the_recorded_digest(tmp_path: Path) -> None:
    generate(tmp_path / "city", 200, 30, 1, "jsonl", AS_OF)
    digest = hashlib.sha256()
    for name, data in contents(tmp_path / "city").items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    assert digest.hexdigest() == RECORDED_CITY
