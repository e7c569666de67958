""" "In the future" is decided by the day in China, on every path, whatever the server's clock zone.

China is UTC+8: from 16:00 to 24:00 UTC it is already the next day there. A record decided
today in China must be accepted then, and one decided tomorrow in China refused.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.app import create_app
from xinyong.cli import app
from xinyong.config import Settings, get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.keys.service import create_key
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_store

# 07:00 UTC (15:00 in China, the same day) and 23:00 UTC (07:00 in China, the next day).
INSTANTS = [
    (datetime(2026, 11, 6, 7, 0, tzinfo=UTC), date(2026, 11, 6)),
    (datetime(2026, 11, 5, 23, 0, tzinfo=UTC), date(2026, 11, 6)),
]


def rows(china_today: date) -> list[dict[str, Any]]:
    tomorrow = china_today + timedelta(days=1)
    return [
        samples.defaulter_listing(
            samples.person(1),
            1,
            decided_on=china_today.isoformat(),
            effective_on=china_today.isoformat(),
        ),
        samples.defaulter_listing(
            samples.person(2), 2, decided_on=tomorrow.isoformat(), effective_on=tomorrow.isoformat()
        ),
    ]


@pytest.mark.parametrize(("instant", "china_today"), INSTANTS)
def test_a_job_takes_todays_records_in_china_and_refuses_tomorrows(
    factory: sessionmaker[Session],
    national: Pack,
    tmp_path: Path,
    instant: datetime,
    china_today: date,
) -> None:
    path = tmp_path / "court.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows(china_today)))
    digest, _ = scan_file(path)
    with time_machine.travel(instant, tick=False):
        summary = IngestJob(factory, national).run_file(path, digest=digest, report_dir=tmp_path)
    assert (summary.accepted, summary.rejected) == (1, 1)


@pytest.fixture
def court_client(store_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(Settings(database_url=store_url, var_dir=tmp_path))) as client:
        engine = make_engine(store_url)
        with make_sessionmaker(engine).begin() as session:
            token = create_key(session, role="authority", authority="court.110105", label="t")
        engine.dispose()
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("instant", "china_today"), INSTANTS)
def test_the_api_takes_todays_records_in_china_and_refuses_tomorrows(
    court_client: tuple[TestClient, dict[str, str]], instant: datetime, china_today: date
) -> None:
    client, court = court_client
    with time_machine.travel(instant, tick=False):
        answer = client.post("/v1/submissions", json=rows(china_today), headers=court).json()
    assert [row["status"] for row in answer["rows"]] == ["accepted", "rejected"]
    assert "future" in answer["rows"][1]["reason"]


@pytest.mark.parametrize(("instant", "china_today"), INSTANTS)
def test_the_command_takes_todays_records_in_china_and_refuses_tomorrows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instant: datetime, china_today: date
) -> None:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    migrated_store()
    path = tmp_path / "court.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows(china_today)))
    try:
        with time_machine.travel(instant, tick=False):
            result = CliRunner().invoke(app, ["ingest", "--json", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [summary] = orjson.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
