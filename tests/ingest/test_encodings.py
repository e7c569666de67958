"""Encodings: UTF-8 with or without BOM, GBK and GB18030 when declared, the wrong one refused
naming the likely one, and bytes that do not decode refusing only their row."""

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.ingest.models import QuarantinedRow, Submission
from xinyong.ingest.readers import UnreadableFile, file_codec
from xinyong.ingest.rows import RECORD_COLUMNS
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.policy import Pack
from xinyong.records.models import Subject
from xinyong.testing import samples
from xinyong.testing.store import migrated_store

TODAY = date(2026, 11, 1)
ROWS = 50
DAMAGED = 25  # the row whose name is broken bytes


def listings() -> list[dict[str, Any]]:
    return [
        samples.defaulter_listing(samples.person(i), i, subject_name=f"张{'三四五'[i % 3]}")
        for i in range(1, ROWS + 1)
    ]


def text_of(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(orjson.dumps(row).decode() + "\n" for row in rows)
    if fmt == "json":
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c for c in RECORD_COLUMNS if c != "op"])
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "fields": orjson.dumps(row["fields"]).decode()})
    return out.getvalue()


def ingest(
    factory: sessionmaker[Session], pack: Pack, path: Path, encoding: str | None = None
) -> IngestSummary:
    digest, _ = scan_file(path)
    return IngestJob(factory, pack, today=TODAY, batch_size=7).run_file(
        path, digest=digest, report_dir=path.parent, encoding=encoding
    )


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_a_gb18030_file_is_read_when_declared_and_refused_naming_it_when_not(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path, fmt: str, encoding: str
) -> None:
    path = tmp_path / f"court.{fmt}"
    path.write_bytes(text_of(listings(), fmt).encode(encoding))
    with pytest.raises(UnreadableFile, match="not UTF-8 text; it looks like gb18030") as refused:
        ingest(factory, national, path)
    assert "--encoding gb18030" in str(refused.value)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
    summary = ingest(factory, national, path, encoding=encoding)
    assert (summary.rows, summary.accepted) == (ROWS, ROWS)
    with factory() as session:
        names = set(session.scalars(select(Subject.name)))
    assert names == {"张三", "张四", "张五"}


def test_a_utf8_file_declared_gb18030_is_refused(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    path = tmp_path / "court.jsonl"
    path.write_text(text_of(listings(), "jsonl"))
    with pytest.raises(UnreadableFile, match="declared gb18030 but it is UTF-8"):
        ingest(factory, national, path, encoding="GB18030")
    with pytest.raises(UnreadableFile, match="unsupported encoding 'latin-1'"):
        ingest(factory, national, path, encoding="latin-1")


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_bytes_that_are_not_utf8_refuse_their_row_not_the_file(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path, fmt: str, bom: bytes
) -> None:
    rows = listings()
    rows[DAMAGED - 1]["subject_name"] = "DAMAGED"
    data = bom + text_of(rows, fmt).encode().replace(b"DAMAGED", "张".encode("gbk") + b"\xff")
    path = tmp_path / f"court.{fmt}"
    path.write_bytes(data)
    summary = ingest(factory, national, path)
    assert (summary.rows, summary.accepted, summary.rejected) == (ROWS, ROWS - 1, 1)
    with factory() as session:
        row_no, field, reason, raw = session.execute(
            select(
                QuarantinedRow.row_no,
                QuarantinedRow.field,
                QuarantinedRow.reason,
                QuarantinedRow.raw,
            )
        ).one()
    assert (row_no, field) == (DAMAGED, "subject_name")
    assert "not valid text in the file's encoding" in reason
    assert "\ufffd" in raw  # the clerk sees where the bytes were


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    migrated_store()
    yield tmp_path
    get_settings.cache_clear()


def unwrapped(output: str) -> str:
    """The terminal's text with Rich's line wrapping undone: where it breaks a message depends
    on the width and on the length of the temporary path in it."""
    return " ".join(output.split())


def test_the_command_takes_an_encoding_and_says_that_every_row_is_accounted_for(
    cli_store: Path,
) -> None:
    runner = CliRunner()
    path = cli_store / "court.csv"
    path.write_bytes(text_of(listings(), "csv").encode("gb18030"))
    refused = runner.invoke(app, ["ingest", str(path)])
    assert refused.exit_code == 2 and "--encoding gb18030" in unwrapped(refused.output)
    wrong = runner.invoke(app, ["ingest", "--encoding", "koi8-r", str(path)])
    assert wrong.exit_code == 2 and "unsupported encoding" in unwrapped(wrong.output)
    done = runner.invoke(app, ["ingest", "--json", "--encoding", "gb18030", str(path)])
    assert done.exit_code == 0, done.output
    [summary] = orjson.loads(done.stdout)
    assert (summary["rows"], summary["stored"], summary["accounted"]) == (ROWS, ROWS, True)
    table = runner.invoke(app, ["ingest", "--encoding", "gb18030", str(path)])
    assert f"all {ROWS} rows accounted for: 0 stored, {ROWS} duplicates" in unwrapped(table.output)


def test_auto_detects_gb18030_and_the_summary_says_so_and_a_profile_must_exist(
    cli_store: Path,
) -> None:
    runner = CliRunner()
    path = cli_store / "court.csv"
    path.write_bytes(text_of(listings(), "csv").encode("gb18030"))
    done = runner.invoke(app, ["ingest", "--json", "--encoding", "auto", str(path)])
    assert done.exit_code == 0, done.output
    [summary] = orjson.loads(done.stdout)
    assert (summary["encoding"], summary["stored"]) == ("gb18030", ROWS)
    table = runner.invoke(app, ["ingest", "--encoding", "auto", str(path)])
    assert "court.csv: read as gb18030" in unwrapped(table.output)
    unknown = runner.invoke(app, ["ingest", "--profile", "fines", str(path)])
    assert unknown.exit_code == 2 and "no import profile 'fines'" in unwrapped(unknown.output)


def test_auto_refuses_bytes_whose_encoding_cannot_be_told(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(128, 256)) * 64)
    with pytest.raises(UnreadableFile, match="cannot be told with confidence"):
        file_codec(path, "auto")
    path.write_bytes("法人及非法人组织，行政处罚决定书文号\n".encode("gbk") * 200)
    assert file_codec(path, "auto") == "gb18030"
    path.write_bytes("法人及非法人组织，行政处罚决定书文号\n".encode() * 200)
    assert file_codec(path, "auto") == "utf-8"
