"""``xinyong ledger verify`` runs the derived-state verification after the ledger's own: one
command for the operator, exit 1 on any difference, the differences in ``--json``."""

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from tests.integrity.conftest import Town
from typer.testing import CliRunner

from xinyong.config import get_settings
from xinyong.enforcement.models import MeasureIndexRow
from xinyong.ledger.cli import app as cli
from xinyong.records.models import Subject

runner = CliRunner()


@pytest.fixture
def environment(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, town: Town
) -> Iterator[Town]:
    """The town's store and var folder (its search index included) as the CLI finds them."""
    monkeypatch.setenv("XINYONG_DATABASE_URL", store_url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    assert get_settings().var_dir / "search" == town.search_root
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    assert runner.invoke(cli, ["checkpoint"]).exit_code == 0
    yield town
    get_settings.cache_clear()


def test_a_clean_store_verifies(environment: Town) -> None:
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "ledger verified" in result.output
    assert "derived state verified: recomputed from the logged records, no difference" in (
        result.output
    )
    report = orjson.loads(runner.invoke(cli, ["verify", "--json"]).stdout)
    assert report["ok"] and report["derived"]["ok"]
    assert report["derived"]["checked"]["search_index"] == 3


def test_a_deleted_index_row_fails_verification(
    environment: Town, factory: sessionmaker[Session]
) -> None:
    with factory.begin() as session:
        subject_id = session.scalars(
            select(Subject.id).where(Subject.identifier == environment.defaulter)
        ).one()
        session.execute(delete(MeasureIndexRow).where(MeasureIndexRow.subject_id == subject_id))

    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 1
    assert "ledger verified" in result.output  # the logged events are intact
    assert "the derived state differs" in result.output and environment.defaulter in result.output

    result = runner.invoke(cli, ["verify", "--json"])
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert not report["ok"] and report["total_divergences"] == 0
    derived = report["derived"]
    assert (derived["ok"], derived["total_differences"], derived["by_area"]) == (
        False,
        1,
        {"measure_index": 1},
    )
    [difference] = derived["differences"]
    assert (difference["subject"], difference["what"], difference["stored"]) == (
        environment.defaulter,
        "row",
        None,
    )
    assert difference["recomputed"][0][4] == "court.defaulters"
    assert "every check about the subject answers allow" in difference["description"]
