"""``xinyong id``: the command function, run inside a local Typer app."""

import json

import pytest
import typer
from typer.testing import CliRunner

from xinyong.identifiers import parse
from xinyong.identifiers.cli import id_command
from xinyong.identifiers.regions import region_name

app = typer.Typer()
app.command()(id_command)
runner = CliRunner()


def test_valid_codes_print_a_table_and_exit_0() -> None:
    result = runner.invoke(app, ["91110000600037341L", "11010519491231002X", "60003734-1"])
    assert result.exit_code == 0, result.output
    assert "91110000600037341L" in result.output
    assert "工商" in result.output
    assert "1949-12-31" in result.output
    assert "invalid" not in result.output


def test_a_suspect_code_is_shown_as_suspect_and_fails_the_command() -> None:
    result = runner.invoke(app, ["91110000600037341L", "91350211M0000XUF46"])
    assert result.exit_code == 1
    assert "suspect" in result.output
    assert "expected 'R'" in result.output


def test_an_invalid_code_fails_the_command() -> None:
    result = runner.invoke(app, ["1101051999022900"])
    assert result.exit_code == 1
    assert "invalid" in result.output


def test_json_output_lists_every_code() -> None:
    result = runner.invoke(app, ["--json", "91350211M0000XUF46", "11010519491231002X"])
    assert result.exit_code == 1
    listed = json.loads(result.output)
    assert [item["status"] for item in listed] == ["suspect", "valid"]
    assert listed[0]["errors"] == ["check character (position 18) is '6', expected 'R'"]
    assert listed[1]["kind"] == "resident_id"


@pytest.mark.parametrize(("kind", "exit_code"), [("org_code", 0), ("resident_id", 1)])
def test_kind_option_overrides_detection(kind: str, exit_code: int) -> None:
    result = runner.invoke(app, ["--json", "--kind", kind, "600037341"])
    assert result.exit_code == exit_code
    assert json.loads(result.output)[0]["kind"] == kind


def test_user_input_is_not_read_as_markup() -> None:
    result = runner.invoke(app, ["[bold]x"])
    assert result.exit_code == 1
    assert "[BOLD]X" in result.output


def test_codes_are_required() -> None:
    assert runner.invoke(app, []).exit_code == 2


def test_a_region_code_that_names_no_division_is_warned_about() -> None:
    assert region_name("110108") == "北京市海淀区"
    assert region_name("440305") == "广东省南山区"  # the table's latest name, no year marks
    known = parse("11010819800101001X")
    assert not any("GB/T 2260" in warning for warning in known.warnings)
    unknown = parse("990108198001010014")
    assert any("990108" in w and "GB/T 2260" in w for w in unknown.warnings)
