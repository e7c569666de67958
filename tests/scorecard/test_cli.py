"""``xinyong scorecard train|monitor`` end to end on a small city."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.scorecard.model import Scorecard
from xinyong.scorecard.population import subject_features
from xinyong.store.db import make_engine, make_sessionmaker, migrate
from xinyong.synth import MANIFEST, OUTCOMES, generate
from xinyong.testing.store import migrated_store

runner = CliRunner()
AS_OF = date(2026, 11, 1)


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    get_settings.cache_clear()
    migrated_store()
    yield url
    get_settings.cache_clear()


def test_help_names_the_commands() -> None:
    result = runner.invoke(app, ["scorecard", "--help"])
    assert result.exit_code == 0
    assert "train" in result.output and "monitor" in result.output


# Training imports scikit-learn and pandas (a second of processor time): on the worker that
# trains the module's shared scorecard, they are imported already.
@pytest.mark.xdist_group("scorecard")
def test_train_then_monitor_and_score_the_store(
    environment: str, national: Pack, financial: Pack, tmp_path: Path
) -> None:
    trained = runner.invoke(
        app, ["scorecard", "train", "--persons", "2500", "--seed", "3", "--version", "v1", "--json"]
    )
    assert trained.exit_code == 0, trained.output
    card = orjson.loads(trained.stdout)
    assert card["version"] == "v1" and card["metrics"]["holdout"]["auc"] > 0.55
    assert Path(card["folder"], "model_card.md").is_file()

    empty = runner.invoke(app, ["scorecard", "monitor", "--json"])
    assert empty.exit_code == 1 and "nobody has a financial record" in empty.output

    migrate(environment)
    factory = make_sessionmaker(make_engine(environment))
    city = tmp_path / "city"
    generate(city, 400, 20, 5, "jsonl", AS_OF)
    job = IngestJob(factory, national, today=AS_OF)
    for name in orjson.loads((city / MANIFEST).read_bytes())["ingest_order"]:
        job.run_file(city / name, digest=scan_file(city / name)[0], report_dir=tmp_path)
    watched = runner.invoke(app, ["scorecard", "monitor", "--as-of", "2026-11-01", "--json"])
    assert watched.exit_code == 0, watched.output
    report = orjson.loads(watched.stdout)
    assert report["version"] == "v1" and report["current_subjects"] > 50
    assert {item["name"] for item in report["features"]} == {f["name"] for f in card["features"]}
    assert all(
        item["psi"] >= 0 and item["status"] in {"stable", "watch", "shift"}
        for item in report["features"]
    )
    assert sum(report["score"]["current"]) == report["current_subjects"]

    table = runner.invoke(app, ["scorecard", "monitor", "--as-of", "2026-11-01"])
    assert table.exit_code == 0 and "PSI" in table.output and "score" in table.output

    borrower = next(
        line.split(",")[0]
        for line in (city / OUTCOMES).read_text(encoding="utf-8").splitlines()[1:]
        if subject_features(factory, financial, line.split(",")[0], AS_OF) is not None
    )
    scored = runner.invoke(app, ["scorecard", "score", borrower, "--as-of", "2026-11-01", "--json"])
    assert scored.exit_code == 0, scored.output
    answer = orjson.loads(scored.stdout)
    features = subject_features(factory, financial, borrower, AS_OF)
    assert features is not None
    expected = Scorecard.load(card["folder"]).score(features)
    assert (answer["points"], answer["band"]) == (expected.points, expected.band)
    assert [r["feature"] for r in answer["reasons"]] == [r.feature for r in expected.reasons]
    shown = runner.invoke(app, ["scorecard", "score", borrower, "--as-of", "2026-11-01"])
    assert shown.exit_code == 0 and str(expected.points) in shown.output
    unknown = runner.invoke(app, ["scorecard", "score", "11010519491231002X"])
    assert unknown.exit_code == 1 and "no financial record" in unknown.output


def test_bad_arguments_are_refused(environment: str) -> None:
    assert runner.invoke(app, ["scorecard", "monitor", "--version", "nope"]).exit_code == 1
    assert runner.invoke(app, ["scorecard", "train", "--as-of", "soon"]).exit_code == 2
    assert runner.invoke(app, ["scorecard", "train", "--version", "a/b"]).exit_code == 2
