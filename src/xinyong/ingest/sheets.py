"""Files in an external layout: workbooks (XLSX, XLS, ODS) and CSV, read through a profile.

Offices' exports put a title row (often a merged cell) above the header, so the header is the
first row, among the first :data:`HEADER_SEARCH_ROWS`, that names every column the layout
requires. Rows come out as mappings from the folded header text (``column_key``) to the cell
as read: text from CSV; text, numbers, dates or booleans from a workbook. Row numbers count
data rows from 1 across the file (resuming relies on them); the row as received starts with
where the clerk finds it, ``sheet!line`` (the spreadsheet's own line number) or ``line``.
"""

import csv
import io
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from xinyong.ingest.encodings import open_text
from xinyong.ingest.profile import column_key
from xinyong.ingest.readers import RAW_KEPT, ReadItem, UnreadableFile

WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")
HEADER_SEARCH_ROWS = 20


def read_layout(
    path: Path, header: Sequence[str], *, codec: str, sheet: str | None = None
) -> Iterator[ReadItem]:
    """The data rows of a file in a layout whose header names the (folded) ``header`` columns.

    Refuses, before the first row, a file with no such header row (naming the missing columns)
    and a workbook that does not open or has no sheet ``sheet``.
    """
    if path.suffix.lower() in WORKBOOKS:
        return _workbook_rows(path, header, sheet)
    if sheet is not None:
        raise UnreadableFile(f"{path}: --sheet applies to workbooks ({', '.join(WORKBOOKS)})")
    with open_text(path.open("rb"), codec, newline="") as text:
        lines = list(zip(range(HEADER_SEARCH_ROWS), csv.reader(text), strict=False))
    at, names = _header([values for _, values in lines], header, path.name)
    return _csv_rows(path, codec, at, names)


def _header(
    rows: Sequence[Sequence[Any]], header: Sequence[str], where: str
) -> tuple[int, list[str]]:
    """Where the header row is (0-based) and its folded column names."""
    best: set[str] = set(header)
    for at, values in enumerate(rows):
        names = [column_key(str(value)) if value is not None else "" for value in values]
        missing = set(header) - set(names)
        if not missing:
            repeated = sorted({name for name in names if name and names.count(name) > 1})
            if repeated:
                raise UnreadableFile(f"{where}: the header names the column '{repeated[0]}' twice")
            return at, names
        best = min(best, missing, key=len)
    raise UnreadableFile(
        f"{where}: no row among the first {HEADER_SEARCH_ROWS} is this layout's header "
        f"(missing {', '.join(sorted(best))})"
    )


def _row(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in zip(names, values, strict=False)
        if name and value is not None and value != ""
    }


def _raw(where: str, values: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if value is None else value for value in values])
    return f"{where}: {out.getvalue().rstrip()}"[:RAW_KEPT]


def _csv_rows(path: Path, codec: str, at: int, names: list[str]) -> Iterator[ReadItem]:
    with open_text(path.open("rb"), codec, newline="") as text:
        reader = csv.reader(text)
        row_no = 0
        for line, values in enumerate(reader, start=1):
            if line <= at + 1 or not any(value.strip() for value in values):
                continue
            row_no += 1
            raw = _raw(str(reader.line_num), values)
            if len(values) > len(names):
                yield row_no, raw, f"has {len(values)} columns, the header has {len(names)}"
                continue
            yield row_no, raw, _row(names, values)


def _workbook_rows(path: Path, header: Sequence[str], sheet: str | None) -> Iterator[ReadItem]:
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = [sheet] if sheet is not None else list(book.sheet_names)
        sheets = [_sheet(book, name) for name in names]
    except CalamineError as error:
        raise UnreadableFile(f"{path}: not a readable workbook: {error}") from None
    except Exception as error:  # calamine raises its own types for a missing sheet, a bad zip
        raise UnreadableFile(f"{path}: not a readable workbook: {error}") from None
    found: list[tuple[str, int, list[str], Iterator[list[Any]]]] = []
    refusal: UnreadableFile | None = None
    for name, rows in sheets:
        head = list(islice(rows, HEADER_SEARCH_ROWS))
        try:
            at, columns = _header(head, header, name)
        except UnreadableFile as error:
            # A sheet of notes beside the data is common; only a named sheet must hold data.
            refusal = refusal or error
            continue
        found.append((name, at + 1, columns, chain(head[at + 1 :], rows)))
    if not found:
        assert refusal is not None
        raise UnreadableFile(f"{path}: {refusal}")
    return _sheet_rows(found)


def _sheet(book: CalamineWorkbook, name: str) -> tuple[str, Iterator[list[Any]]]:
    """A sheet's rows from its first line, one at a time (the cells stay in calamine's compact
    form until read)."""
    return name, book.get_sheet_by_name(name).iter_rows()


def _sheet_rows(
    sheets: list[tuple[str, int, list[str], Iterator[list[Any]]]],
) -> Iterator[ReadItem]:
    row_no = 0
    for name, header_line, columns, rows in sheets:
        for line, values in enumerate(rows, start=header_line + 1):
            if all(value is None or value == "" for value in values):
                continue
            row_no += 1
            yield row_no, _raw(f"{name}!{line}", values), _row(columns, values)
