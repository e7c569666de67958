"""The audit CSV export never hands a spreadsheet a formula (OWASP's CSV injection advice)."""

import csv
import io
import unicodedata
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xinyong.audit.export import COLUMNS, FORMULA_STARTS, CsvSink

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C notepad'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '＝HYPERLINK("http://example.invalid")',
    "＋1",
    "－1",
    "＠SUM(A1)",
]


def exported(values: dict[str, Any]) -> dict[str, str]:
    access = dict.fromkeys(COLUMNS, "") | {"at": datetime(2026, 11, 1, tzinfo=UTC)} | values
    out = io.StringIO(newline="")  # as the CLI opens its file: line ends stay as written
    CsvSink(out).write(access)
    (row,) = csv.DictReader(io.StringIO(out.getvalue(), newline=""))
    return row


def runs_as_formula(cell: str) -> bool:
    return bool(cell) and unicodedata.normalize("NFKC", cell[0]).startswith(FORMULA_STARTS)


def test_hostile_cells_are_written_as_text() -> None:
    for value in HOSTILE:
        row = exported({"purpose": value, "who_label": value, "what": value})
        for column in ("purpose", "who_label", "what"):
            assert row[column] == "'" + value
            assert not runs_as_formula(row[column])


@given(st.text(max_size=40), st.integers(min_value=0, max_value=2**62))
def test_no_cell_starts_a_formula_and_nothing_else_changes(text: str, leaf: int) -> None:
    row = exported({"purpose": text, "subject": text, "ledger_leaf": leaf})
    for column in ("purpose", "subject"):
        assert not runs_as_formula(row[column])
        assert row[column] == ("'" + text if runs_as_formula(text) else text)
    assert row["ledger_leaf"] == str(leaf)
    assert row["at"] == "2026-11-01T00:00:00+00:00"
