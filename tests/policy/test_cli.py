"""``xinyong policy check|load|schema``: exit codes, tables and JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xinyong.policy import load_shipped, pack_json_schema, shipped_pack_path
from xinyong.policy.cli import app

runner = CliRunner()
NATIONAL = str(shipped_pack_path("national"))


@pytest.fixture
def broken_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(shipped_pack_path("national"), folder)
    (folder / "lists.yml").write_text("lists: []\n", encoding="utf-8")
    judicial = folder / "catalogue" / "judicial.yaml"
    text = judicial.read_text(encoding="utf-8")
    judicial.write_text(
        text.replace('authorities: ["court.*"]', 'authorities: ["courts.*"]', 1), "utf-8"
    )
    return folder


def test_check_passes_the_shipped_pack() -> None:
    result = runner.invoke(app, ["check", NATIONAL])
    assert result.exit_code == 0, result.output
    assert "no issues" in result.output
    assert "36 record types" in result.output


def test_check_json_on_success() -> None:
    result = runner.invoke(app, ["check", "--json", NATIONAL])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["ok"] is True and report["issues"] == []
    assert report["summary"]["record_types_by_category"]["judicial"] >= 4


def test_check_fails_with_every_issue(broken_pack: Path) -> None:
    result = runner.invoke(app, ["check", str(broken_pack)])
    assert result.exit_code == 1
    assert "2 issue(s)" in result.output
    assert "lists.yml" in result.output


def test_check_json_lists_issues(broken_pack: Path) -> None:
    result = runner.invoke(app, ["check", "--json", str(broken_pack)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert {(i["file"], i["path"]) for i in report["issues"]} == {
        ("lists.yml", ""),
        ("catalogue/judicial.yaml", "record_types[0].authorities[0]"),
    }
    assert all(set(issue) == {"file", "line", "path", "message"} for issue in report["issues"])


def test_check_of_a_missing_folder_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--json", str(tmp_path / "absent")])
    assert result.exit_code == 1
    assert json.loads(result.output)["issues"][0]["message"] == "not a folder"


def test_load_json_summary() -> None:
    result = runner.invoke(app, ["load", "--json", NATIONAL])
    assert result.exit_code == 0
    summary = json.loads(result.output)
    pack = load_shipped()
    assert (summary["name"], summary["version"], summary["digest"]) == (
        pack.name,
        pack.version,
        pack.digest,
    )
    assert summary["record_types"] == len(pack.record_types)
    assert summary["authorities"] == len(pack.authorities)
    assert sum(summary["record_types_by_category"].values()) == len(pack.record_types)


def test_load_refuses_a_broken_pack(broken_pack: Path) -> None:
    assert runner.invoke(app, ["load", str(broken_pack)]).exit_code == 1


def test_schema_prints_and_writes(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["schema"])
    assert printed.exit_code == 0
    assert json.loads(printed.output) == pack_json_schema()
    out = tmp_path / "pack.schema.json"
    written = runner.invoke(app, ["schema", "--out", str(out)])
    assert written.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == pack_json_schema()


@pytest.mark.parametrize("command", [[], ["check"], ["load"], ["schema"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
