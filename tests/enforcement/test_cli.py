"""``xinyong evaluate`` and ``xinyong check`` on a store named by the environment, on both
backends."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.enforcement.models import CheckLogRow, EntryRow, MeasureIndexRow
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ledger.service import latest_checkpoint, ledger_size
from xinyong.policy import load_shipped
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples

runner = CliRunner()


@pytest.fixture
def store(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    url = store_url
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    path = tmp_path / "rows.jsonl"
    company, representative = samples.organisation(1), samples.person(2)
    rows = [
        samples.defaulter_listing(samples.person(1), 1),
        samples.registration(company, representative, 1),
        samples.defaulter_listing(company, 2, subject_name="北京示例科技有限公司"),
    ]
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    IngestJob(factory, load_shipped(), today=date(2024, 6, 1)).run_file(
        path, digest=digest, report_dir=tmp_path
    )
    yield factory
    engine.dispose()
    get_settings.cache_clear()


def test_check_prints_the_decision_as_json_and_logs_it(store: sessionmaker[Session]) -> None:
    representative = samples.person(2)
    result = runner.invoke(
        app, ["check", representative, "buy_air_ticket", "--as-of", "2024-06-01", "--json"]
    )
    assert result.exit_code == 0, result.output
    decision = orjson.loads(result.output)
    assert decision["effect"] == "deny"
    assert decision["measures"][0]["via"] == samples.organisation(1)
    with store() as session:
        logged = session.scalars(select(CheckLogRow)).one()
    assert (logged.relying_party, logged.subject, logged.effect) == ("cli", representative, "deny")


def logged_rows(store: sessionmaker[Session]) -> list[tuple[str, str]]:
    with store() as session:
        return [
            (row.subject, row.effect)
            for row in session.scalars(select(CheckLogRow).order_by(CheckLogRow.id))
        ]


def test_every_answered_check_is_logged_once_and_a_refused_one_never(
    store: sessionmaker[Session],
) -> None:
    person = samples.person(1)
    for _ in range(2):  # the second check reads the decision table the first one kept
        answered = runner.invoke(
            app, ["check", person, "buy_air_ticket", "--as-of", "2024-06-01", "--json"]
        )
        assert answered.exit_code == 0, answered.output
    malformed = person[:-1] + ("0" if person[-1] != "0" else "1")
    refused = [
        runner.invoke(app, ["check", malformed, "buy_air_ticket"]),
        runner.invoke(app, ["check", "9111", "buy_air_ticket", "--json"]),
        runner.invoke(app, ["check", person, "fly", "--json"]),
    ]
    assert [result.exit_code for result in refused] == [2, 2, 2]
    assert "SUBJECT:" in refused[0].output and "{" not in refused[1].output
    assert logged_rows(store) == [(person, "deny"), (person, "deny")]


def test_a_store_that_needs_init_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    result = runner.invoke(app, ["check", samples.person(1), "buy_air_ticket"])
    assert result.exit_code == 2 and "run `xinyong init`" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_check_in_words_and_refusals(store: sessionmaker[Session]) -> None:
    result = runner.invoke(
        app, ["check", samples.person(1), "buy_air_ticket", "--as-of", "2024-06-01"]
    )
    assert result.exit_code == 0 and "deny" in result.output and "法释〔2015〕17号" in result.output
    unknown = runner.invoke(app, ["check", samples.person(1), "fly", "--as-of", "2024-06-01"])
    assert unknown.exit_code == 2 and "unknown action 'fly'" in unknown.output
    bad_day = runner.invoke(app, ["check", samples.person(1), "buy_air_ticket", "--as-of", "soon"])
    assert bad_day.exit_code == 2 and "not a date" in bad_day.output


def test_evaluate_rebuilds_entries_and_index_to_the_same_state(
    store: sessionmaker[Session],
) -> None:
    with store() as session:
        before = sorted(
            (code, grants)
            for code, grants in session.execute(
                select(MeasureIndexRow.identifier, MeasureIndexRow.grants)
            )
        )
    with store.begin() as session:
        session.execute(delete(MeasureIndexRow))
        session.execute(delete(EntryRow))
    result = runner.invoke(app, ["evaluate", "--as-of", "2024-06-01", "--json"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.output)
    assert summary["entries_started"] == 2
    assert summary["active_entries"]["court.defaulters"] == 2
    assert summary["index_rows"] == 3
    with store() as session:
        after = sorted(
            (code, grants)
            for code, grants in session.execute(
                select(MeasureIndexRow.identifier, MeasureIndexRow.grants)
            )
        )
        entries = session.scalar(select(func.count()).select_from(EntryRow))
    # Entry ids are new, the grants otherwise identical.
    assert [(code, [g[:3] for g in grants]) for code, grants in after] == [
        (code, [g[:3] for g in grants]) for code, grants in before
    ]
    assert entries == 2
    again = orjson.loads(runner.invoke(app, ["evaluate", "--json"]).output)
    assert (again["entries_started"], again["entries_changed"], again["index_rows_written"]) == (
        0,
        0,
        0,
    )
    words = runner.invoke(app, ["evaluate", "--as-of", "2024-06-01"])
    assert words.exit_code == 0 and "court.defaulters" in words.output


def test_with_a_signing_key_a_check_ends_with_a_checkpoint_over_it(
    store: sessionmaker[Session],
) -> None:
    assert runner.invoke(app, ["ledger", "keygen"]).exit_code == 0
    result = runner.invoke(app, ["check", samples.person(1), "buy_air_ticket", "--json"])
    assert result.exit_code == 0, result.output
    with store() as session:
        signed = latest_checkpoint(session)
        assert signed is not None and signed.tree_size == ledger_size(session)
