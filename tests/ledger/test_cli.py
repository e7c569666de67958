"""``xinyong ledger keygen | checkpoint | verify`` on a store named by the environment."""

import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.config import get_settings
from xinyong.ledger import LeafInput, append, register_source
from xinyong.ledger.cli import app as cli
from xinyong.store.base import Base

fixtures = MetaData()
penalties = Table(
    "test_penalties",
    fixtures,
    Column("id", Integer, primary_key=True),
    Column("amount", Integer),
)


def penalty_payload(penalty_id: int, amount: int) -> bytes:
    return orjson.dumps({"penalty": penalty_id, "amount": amount})


def rebuild_penalties(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    rows = session.execute(select(penalties).where(penalties.c.id.in_([int(ref) for ref in refs])))
    return {str(row.id): penalty_payload(row.id, row.amount) for row in rows}


register_source("penalty", rebuild_penalties)

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    fixtures.create_all(engine)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def log_events(engine: Engine, count: int) -> None:
    with Session(engine) as session, session.begin():
        for i in range(count):
            session.execute(penalties.insert().values(id=i, amount=100 * i))
        append(
            session,
            [
                LeafInput("penalty.imposed", str(i), penalty_payload(i, 100 * i))
                for i in range(count)
            ],
        )
        append(session, [LeafInput("policy.published", "national", b"pack digest")])


def test_keygen_writes_a_private_key_once(store: Engine) -> None:
    result = runner.invoke(cli, ["keygen", "--origin", "credit.example/ledger", "--json"])
    assert result.exit_code == 0, result.output
    made = orjson.loads(result.stdout)
    path = Path(made["path"])
    assert made["origin"] == "credit.example/ledger" and made["key"].startswith(
        "credit.example/ledger+"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path == get_settings().ledger_key_path
    result = runner.invoke(cli, ["keygen"])
    assert result.exit_code == 2 and "already exists" in result.output
    result = runner.invoke(cli, ["keygen", "--force"])
    assert result.exit_code == 0 and "xinyong.local/ledger+" in result.output
    assert runner.invoke(cli, ["keygen", "--force", "--origin", "two words"]).exit_code == 2


def test_commands_that_sign_need_the_key(store: Engine) -> None:
    for command in (["checkpoint"], ["verify"]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 2 and "xinyong ledger keygen" in result.output


def test_checkpoint_and_verify(store: Engine) -> None:
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    log_events(store, 20)
    result = runner.invoke(cli, ["checkpoint", "--json"])
    assert result.exit_code == 0, result.output
    signed = orjson.loads(result.stdout)
    assert signed["tree_size"] == 21 and signed["note"].startswith("xinyong.local/ledger\n21\n")
    result = runner.invoke(cli, ["checkpoint"])
    assert result.exit_code == 0 and "checkpoint of 21 events" in result.output

    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "ledger verified: 21 events, 1 checkpoint signed" in result.output
    report = orjson.loads(runner.invoke(cli, ["verify", "--json"]).stdout)
    assert report["ok"] and report["divergences"] == []


def test_verify_names_the_first_divergent_event(store: Engine, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    log_events(store, 20)
    assert runner.invoke(cli, ["checkpoint"]).exit_code == 0
    with store.begin() as connection:
        connection.exec_driver_sql("UPDATE test_penalties SET amount = 1 WHERE id IN (3, 12)")

    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 1
    assert "first divergence: event 3 (penalty.imposed 3)" in result.output

    result = runner.invoke(cli, ["verify", "--json"])
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert not report["ok"] and report["total_divergences"] == 2
    assert [item["leaf_index"] for item in report["divergences"]] == [3, 12]

    # An auditor holds only the published key, not the signing key.
    published = orjson.loads(runner.invoke(cli, ["keygen", "--force", "--json"]).stdout)["key"]
    result = runner.invoke(cli, ["verify", "--key", published, "--json"])
    assert result.exit_code == 1
    reasons = [item["reason"] for item in orjson.loads(result.stdout)["divergences"]]
    assert any("no signature by the key" in reason for reason in reasons)
    assert runner.invoke(cli, ["verify", "--key", "not-a-key+00+AA=="]).exit_code == 2


def test_verify_on_a_store_without_a_ledger(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 2 and "cannot read the ledger" in result.output
