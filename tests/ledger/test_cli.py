"""``xinyong ledger keygen | checkpoint | verify | migrate`` on a store named by the
environment."""

import stat
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, select
from sqlalchemy.orm import Session
from tests.ledger.conftest import rewrite_tree
from typer.testing import CliRunner

from xinyong.config import get_settings
from xinyong.ledger import LeafInput, SigningKey, TreeHead, append, merkle, register_source
from xinyong.ledger.checkpoint import (
    VerifierKey,
    read_signing_key,
    sign_checkpoint,
    signed_by,
    write_signing_key,
)
from xinyong.ledger.cli import app as cli
from xinyong.ledger.models import LedgerCheckpoint, LedgerLeaf
from xinyong.testing.store import migrated_sqlite

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
    url = migrated_sqlite(tmp_path / "store.db")
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = create_engine(url)
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
        append(session, [LeafInput("policy.published", "national", b'{"digest": "9f2c"}')])


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
    assert result.exit_code == 0 and "xinyong.local/ledger/2+" in result.output
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
    assert signed["tree_size"] == 21 and signed["note"].startswith("xinyong.local/ledger/2\n21\n")
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


def test_a_rotated_key_vouches_for_what_it_signed_and_for_nothing_after(
    store: Engine, tmp_path: Path
) -> None:
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    old = read_signing_key(get_settings().ledger_key_path)
    log_events(store, 20)
    assert runner.invoke(cli, ["checkpoint"]).exit_code == 0
    rotated = orjson.loads(runner.invoke(cli, ["keygen", "--force", "--json"]).stdout)
    assert rotated["retired"] == {"key": old.verifier.encode(), "last_size": 21}
    new = rotated["key"]
    # The head is signed again by the new key, though the log did not grow: the latest
    # checkpoint is the new key's as soon as anything signs.
    handover = orjson.loads(runner.invoke(cli, ["checkpoint", "--json"]).stdout)
    assert handover["tree_size"] == 21
    assert signed_by(handover["note"], VerifierKey.parse(new))
    assert not signed_by(handover["note"], old.verifier)
    assert orjson.loads(runner.invoke(cli, ["checkpoint", "--json"]).stdout) == handover
    with Session(store) as session, session.begin():
        append(session, [LeafInput("policy.published", f"v{n}", b"{}") for n in range(6)])
    assert orjson.loads(runner.invoke(cli, ["checkpoint", "--json"]).stdout)["tree_size"] == 27

    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "3 checkpoints signed: 1 by xinyong.local/ledger/2 (key" in result.output
    assert "retired at 21 events), 2 by" in result.output
    report = orjson.loads(runner.invoke(cli, ["verify", "--json"]).stdout)
    assert report["ok"] and report["signed_by"] == {old.verifier.encode(): 1, new: 2}

    # An auditor trusts the published keys: the new one alone leaves the old checkpoint
    # unvouched for; with the retired keys' list it verifies.
    alone = runner.invoke(cli, ["verify", "--key", new, "--json"])
    assert alone.exit_code == 1
    assert "no signature by the key" in orjson.loads(alone.stdout)["divergences"][0]["reason"]
    listed = tmp_path / "published.keys"
    listed.write_text((get_settings().ledger_key_path.parent / "retired.keys").read_text())
    assert runner.invoke(cli, ["verify", "--key", new, "--retired", str(listed)]).exit_code == 0
    for size in ("twenty-one", str(2**63), "9" * 5000):
        listed.write_text(f"{size} {old.verifier.encode()}")
        refused = runner.invoke(cli, ["verify", "--key", new, "--retired", str(listed)])
        # The message as read, however the console wrapped it.
        assert refused.exit_code == 2 and "expected SIZE KEY" in " ".join(refused.output.split())

    # Whoever holds the retired key (it leaked) cannot vouch for a later history with it.
    with store.begin() as connection:
        root = connection.scalar(
            select(LedgerCheckpoint.root_hash).where(LedgerCheckpoint.tree_size == 27)
        )
    assert root is not None
    forged = sign_checkpoint(TreeHead(27, root), old)
    with Session(store) as session, session.begin():
        session.add(
            LedgerCheckpoint(
                origin=forged.origin,
                tree_size=27,
                root_hash=root,
                note=forged.note,
                signed_at=datetime.now(UTC),
            )
        )
    report = orjson.loads(runner.invoke(cli, ["verify", "--json"]).stdout)
    assert not report["ok"]
    assert [item["reason"] for item in report["divergences"]] == [
        f"checkpoint #4 (size 27): signed by the key {old.verifier.encode()}, which was retired "
        "when the ledger held 21 events: it vouches for nothing after"
    ]


def test_a_key_file_that_is_not_text_is_refused_by_name(store: Engine, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    binary = tmp_path / "key.bin"
    binary.write_bytes(b"\xff\xfe\x00 not a key")
    for command in (["verify", "--key", str(binary)], ["verify", "--retired", str(binary)]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 2 and "key.bin is not a key file" in result.output
    beside = get_settings().ledger_key_path.parent / "retired.keys"
    beside.write_bytes(binary.read_bytes())
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 2 and "retired.keys is not a key file" in result.output


def test_verify_on_a_store_without_a_ledger(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(cli, ["keygen"]).exit_code == 0
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 2 and "cannot read the ledger" in result.output


FIRST_ORIGIN = "xinyong.local/ledger"


def first_scheme_log(engine: Engine, count: int) -> SigningKey:
    """A ledger as the first scheme wrote it: leaves hashing ``kind LF ref LF payload`` in the
    clear, no salts, and a checkpoint signed under the first log's origin."""
    key = SigningKey.generate(FIRST_ORIGIN)
    write_signing_key(get_settings().ledger_key_path, key)
    events = [("penalty.imposed", str(i), penalty_payload(i, 100 * i)) for i in range(count)]
    hashes = [merkle.leaf_hash(b"%s\n%s\n%s" % (k.encode(), r.encode(), p)) for k, r, p in events]
    root = merkle.root_hash(hashes)
    with engine.begin() as connection:
        for i in range(count):
            connection.execute(penalties.insert().values(id=i, amount=100 * i))
        connection.exec_driver_sql(
            "INSERT INTO ledger_leaves (leaf_index, kind, ref) VALUES (?, ?, ?)",
            [(i, kind, ref) for i, (kind, ref, _) in enumerate(events)],
        )
        connection.exec_driver_sql(
            "INSERT INTO ledger_head (id, tree_size) VALUES (1, ?)", (count,)
        )
        signed = sign_checkpoint(TreeHead(count, root), key)
        connection.exec_driver_sql(
            "INSERT INTO ledger_checkpoints (origin, tree_size, root_hash, note, signed_at) "
            "VALUES (?, ?, ?, ?, '2026-11-01 00:00:00.000000')",
            (signed.origin, count, signed.root_hash, signed.note),
        )
    rewrite_tree(engine, hashes)
    return key


def test_migrate_moves_the_first_log_to_salted_commitments(store: Engine) -> None:
    first = first_scheme_log(store, 9)
    result = runner.invoke(cli, ["verify", "--json"])
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert report["total_divergences"] == 9
    assert "xinyong ledger migrate" in report["divergences"][0]["reason"]
    assert runner.invoke(cli, ["migrate", "--origin", FIRST_ORIGIN]).exit_code == 2

    result = runner.invoke(cli, ["migrate", "--json"])
    assert result.exit_code == 0, result.output
    moved = orjson.loads(result.stdout)
    assert (moved["recommitted"], moved["retired_checkpoints"]) == (9, 1)
    assert moved["origin"] == "xinyong.local/ledger/2" and moved["tree_size"] == 9
    path = get_settings().ledger_key_path
    assert read_signing_key(path).name == "xinyong.local/ledger/2"
    assert read_signing_key(path.with_name("signing.key.first-log")).encode() == first.encode()
    assert (
        (path.parent / "first-log-checkpoints.txt").read_text().startswith(FIRST_ORIGIN + "\n9\n")
    )
    with Session(store) as session:
        kept = session.execute(
            select(LedgerLeaf.leaf_index, LedgerLeaf.ref).order_by(LedgerLeaf.leaf_index)
        ).all()
        origins = set(session.scalars(select(LedgerCheckpoint.origin)))
    assert kept == [(i, str(i)) for i in range(9)] and origins == {"xinyong.local/ledger/2"}

    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 0 and "ledger verified: 9 events, 1 checkpoint" in result.output
    with store.begin() as connection:
        connection.exec_driver_sql("UPDATE test_penalties SET amount = 7 WHERE id = 4")
    assert "event 4 (penalty.imposed 4)" in runner.invoke(cli, ["verify"]).output
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 1 and "nothing to migrate" in result.output


def test_migrate_refuses_an_event_without_content_and_changes_nothing(store: Engine) -> None:
    first = first_scheme_log(store, 5)
    with store.begin() as connection:
        connection.exec_driver_sql("DELETE FROM test_penalties WHERE id = 2")
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 2
    assert "event 2 (penalty.imposed 2) has no content left" in result.output
    assert read_signing_key(get_settings().ledger_key_path).encode() == first.encode()
    assert not get_settings().ledger_key_path.with_name("signing.key.new").exists()
    with Session(store) as session:
        assert session.scalar(select(LedgerCheckpoint.origin)) == FIRST_ORIGIN
        assert set(session.scalars(select(LedgerLeaf.salt))) == {None}
