"""`make test`'s coverage report: the lines SlipCover saw run, counted as coverage.py's
statements (tests/report_coverage.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

MODULE = """x = (
    1
    + 2
)


def f():
    return x


def g():
    return f()
"""
"""Five statements: an assignment written over four lines, and two functions of one statement
each."""


def report(measured: Path, show_missing: bool = False) -> float:
    """tests/report_coverage.py's report (a script beside the tests, not a module of theirs)."""
    spec = importlib.util.spec_from_file_location(
        "report_coverage", Path(__file__).parent / "report_coverage.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    percent: float = module.report(measured, show_missing)
    return percent


@pytest.mark.parametrize(
    ("executed", "reached"),
    [
        ([], 0),
        # A line inside a statement reaches the statement, once, however many of its lines ran.
        ([2, 3], 1),
        ([1, 2, 3, 4, 7], 2),
        ([1, 2, 3, 4, 7, 8, 11, 12], 5),
    ],
)
def test_a_statement_counts_once_whichever_of_its_lines_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], executed: list[int], reached: int
) -> None:
    module = tmp_path / "sample.py"
    module.write_text(MODULE)
    measured = tmp_path / "coverage.json"
    measured.write_text(json.dumps({"files": {str(module): {"executed_lines": executed}}}))
    assert report(measured) == pytest.approx(100 * reached / 5)
    shown = capsys.readouterr().out
    total = next(line for line in shown.splitlines() if line.startswith("TOTAL"))
    assert total.split()[1:3] == ["5", str(5 - reached)]


def test_the_lines_missed_are_named_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "sample.py"
    module.write_text(MODULE)
    measured = tmp_path / "coverage.json"
    measured.write_text(json.dumps({"files": {str(module): {"executed_lines": [1, 7, 8]}}}))
    report(measured)
    assert "11-12" not in capsys.readouterr().out
    report(measured, show_missing=True)
    row = next(line for line in capsys.readouterr().out.splitlines() if "sample.py" in line)
    assert row.split()[1:] == ["5", "2", "60.0%", "11-12"]
