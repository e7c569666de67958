"""``xinyong synth`` through Typer's test runner, on a local app holding only that command."""

from pathlib import Path

import orjson
import typer
from typer.testing import CliRunner

from xinyong.synth import MANIFEST
from xinyong.synth.cli import synth_command

app = typer.Typer()
app.command("synth")(synth_command)


@app.callback()
def main() -> None:
    """Keeps ``synth`` a subcommand, as it is in the full command line."""


runner = CliRunner()


def test_help_names_every_option() -> None:
    result = runner.invoke(app, ["synth", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--persons", "--orgs", "--seed", "--out", "--format", "--as-of", "--json"):
        assert option in result.output


def test_a_small_run_prints_a_json_summary_matching_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "city"
    arguments = ["synth", "--persons", "800", "--orgs", "150", "--seed", "4", "--out", str(out)]
    result = runner.invoke(app, [*arguments, "--format", "csv", "--as-of", "2025-06-30", "--json"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    manifest = orjson.loads((out / MANIFEST).read_bytes())
    assert summary["rows"] == manifest["rows"] > 0
    assert summary["malformed"] == manifest["malformed"]
    assert [f["file"] for f in summary["files"]] == manifest["ingest_order"]
    assert all(
        name.endswith(".csv") and (out / name).is_file() for name in manifest["ingest_order"]
    )
    assert (manifest["seed"], manifest["as_of"], manifest["format"]) == (4, "2025-06-30", "csv")
    assert summary["rows_per_second"] > 0


def test_a_run_without_json_ends_with_a_summary(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["synth", "--persons", "300", "--orgs", "50", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "malformed rows planted" in result.stdout
    assert "rows/s" in result.stdout
    assert "market.110000.jsonl" in result.stdout


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    assert runner.invoke(app, ["synth", "--persons", "10"]).exit_code == 2  # no --out
    refused = runner.invoke(app, ["synth", "--out", str(tmp_path), "--format", "xlsx"])
    assert refused.exit_code == 2
    assert runner.invoke(app, ["synth", "--out", str(tmp_path), "--seed", "-1"]).exit_code == 2
