"""``xinyong evaluate --engine``: the batch and reference engines report the same evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import load_shipped
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = migrated_sqlite(tmp_path / "store.db")
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = make_engine(url)
    company = samples.organisation(1)
    rows = [
        samples.defaulter_listing(samples.person(1), 1),
        samples.registration(company, samples.person(2), 1),
        samples.defaulter_listing(company, 2, subject_name="北京示例科技有限公司"),
        samples.blood_donation(samples.person(3), 1),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    IngestJob(make_sessionmaker(engine), load_shipped(), today=date(2024, 6, 1)).run_file(
        path, digest=digest, report_dir=tmp_path
    )
    yield
    engine.dispose()
    get_settings.cache_clear()


def evaluate(*options: str) -> dict[str, object]:
    result = runner.invoke(
        app, ["evaluate", "--as-of", "2024-06-01", "--pack", "city-pilot", "--json", *options]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = orjson.loads(result.output)
    return summary


def test_duckdb_and_reference_report_the_same_evaluation(store: None) -> None:
    batch = evaluate("--engine", "duckdb")
    reference = evaluate("--engine", "reference")
    assert batch["engine"] == "duckdb"
    assert batch["evaluation"] != reference["evaluation"]
    for key in ("active_entries", "grades", "index_rows", "subjects"):
        assert batch[key] == reference[key], key
    assert set(batch["grades"]) == {"city.points", "city.rating"}  # type: ignore[arg-type]


def test_an_unknown_engine_is_refused(store: None) -> None:
    result = runner.invoke(app, ["evaluate", "--engine", "pandas"])
    assert result.exit_code == 2 and "pandas" in result.output
