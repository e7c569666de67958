"""The ``xinyong`` command: every command has --help; init, keys and ingest work end to end."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import typer
from sqlalchemy import select
from typer.core import TyperGroup
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.keys.models import ApiKey
from xinyong.ledger.models import LedgerLeaf
from xinyong.records.models import PolicyPublication
from xinyong.store.runtime import open_store
from xinyong.testing import samples
from xinyong.testing.store import migrated_store

runner = CliRunner()


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    migrated_store()
    yield tmp_path
    get_settings.cache_clear()


def command_paths(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    context = typer.Context(group)
    paths = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        paths.append((*prefix, name))
        if isinstance(command, TyperGroup):
            paths += command_paths(command, (*prefix, name))
    return paths


def test_every_command_has_help() -> None:
    paths = command_paths(typer.main.get_group(app))
    for expected in (
        ("init",),
        ("id",),
        ("ingest",),
        ("subject",),
        ("synth",),
        ("demo",),
        ("serve",),
        ("bench",),
        ("policy", "check"),
        ("keys", "create"),
        ("ledger", "verify"),
    ):
        assert expected in paths, expected
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_init_publishes_the_pack_once_and_logs_it_on_the_ledger() -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    second = runner.invoke(app, ["init"])
    assert second.exit_code == 0 and "already current" in second.output
    with open_store()() as session:
        publications = list(session.scalars(select(PolicyPublication)))
        leaves = list(session.scalars(select(LedgerLeaf.kind)))
    assert len(publications) == 1 and publications[0].name == "national"
    assert leaves == ["policy.published"]


def test_init_answers_json() -> None:
    first = orjson.loads(runner.invoke(app, ["init", "--json"]).output)
    second = orjson.loads(runner.invoke(app, ["init", "--json"]).output)
    assert (first["pack"], first["published"], second["published"]) == ("national", True, False)
    assert first["digest"] == second["digest"] and len(first["digest"]) == 64
    assert first["database_url"] == get_settings().resolved_database_url()


def test_keys_are_shown_once_stored_hashed_and_revocable() -> None:
    created = runner.invoke(
        app, ["keys", "create", "--role", "authority", "--authority", "court.110105", "--json"]
    )
    assert created.exit_code == 0, created.output
    token = orjson.loads(created.stdout)["key"]
    with open_store()() as session:
        stored = session.scalars(select(ApiKey)).one()
    assert (
        token.startswith(f"xy_{stored.key_id}_")
        and token.split("_", 2)[2] not in stored.secret_hash
    )
    listed = orjson.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert listed[0]["key_id"] == stored.key_id and "secret" not in str(listed)
    assert runner.invoke(app, ["keys", "revoke", stored.key_id]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", stored.key_id]).exit_code == 1
    unknown = runner.invoke(
        app, ["keys", "create", "--role", "authority", "--authority", "court.999999"]
    )
    assert unknown.exit_code == 2


def test_ingest_summarises_as_json_and_refuses_an_unreadable_file(store: Path) -> None:
    good = store / "court.jsonl"
    good.write_bytes(
        orjson.dumps(samples.defaulter_listing(samples.person(1), 1))
        + b"\n"
        + orjson.dumps(samples.defaulter_listing(samples.person(2), 2, severity="x"))
        + b"\n"
    )
    result = runner.invoke(app, ["ingest", str(good), "--json"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)[0]
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    report = Path(summary["rejection_report"]).read_bytes().splitlines()
    assert orjson.loads(report[0])["field"] == "severity"
    bad = store / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    refused = runner.invoke(app, ["ingest", str(bad)])
    assert refused.exit_code == 2 and "record_type" in refused.output


def test_id_decodes_and_fails_on_a_bad_code() -> None:
    ok = runner.invoke(app, ["id", "91110000600037341L", "--json"])
    assert ok.exit_code == 0 and orjson.loads(ok.stdout)[0]["valid"] is True
    assert runner.invoke(app, ["id", "91110000600037341M"]).exit_code == 1


def test_only_init_migrates_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{fresh}")
    get_settings.cache_clear()
    sample = tmp_path / "none.jsonl"
    sample.write_bytes(b"")
    for command in (
        ["ingest", str(sample)],
        ["keys", "list"],
        ["check", "91110105MA01ABCD1X", "x"],
    ):
        refused = runner.invoke(app, command)
        assert refused.exit_code == 2, command
        assert "run `xinyong init`" in refused.stderr
        assert not fresh.exists()  # nothing was created or migrated behind the user's back
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["keys", "list"]).exit_code == 0


BAD_SETTINGS = {
    "XINYONG_INGEST_BATCH_SIZE": ("0", "greater than or equal to 1"),
    "XINYONG_FEDERATION_BATCH_SIZE": ("9" * 20, "less than or equal to 10000"),
    "XINYONG_SESSION_HOURS": ("soon", "a valid number"),
    "XINYONG_NODE_PARENT": (
        '{"name": "p", "url": "https://n.example", "key": "k", "token": 5}',
        "at token: Input should be a valid string",
    ),
}


@pytest.mark.parametrize(
    "bad",
    [
        BAD_SETTINGS,
        {"XINYONG_NODE_CHILDREN": ('[{"name": "east"', "is not valid JSON: Expecting")},
    ],
    ids=["values", "json"],
)
def test_a_setting_the_environment_gets_wrong_is_named_not_a_traceback(
    bad: dict[str, tuple[str, str]],
) -> None:
    """Run as a user runs it, in a process of its own that has opened no store: every value a
    setting cannot take is named at once, with why; a credential's value (a link's token) and a
    whole JSON value are never shown."""
    refused = subprocess.run(
        [sys.executable, "-m", "xinyong", "keys", "list"],
        env={**os.environ, **{variable: value for variable, (value, _) in bad.items()}},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("invalid setting: ")
    for variable, (value, why) in bad.items():
        shown = "" if variable.startswith("XINYONG_NODE_") else f" (it is '{value}'): "
        assert f"{variable}{shown}" in refused.stderr and why in refused.stderr
    assert refused.stderr.count("(it is") == sum(not v.startswith("XINYONG_NODE_") for v in bad)
    assert "Traceback" not in refused.stderr and "pydantic" not in refused.stderr
