"""Files as offices make them: workbooks with a title row above the header, GBK CSV whose
encoding is detected or declared, read through a profile into the same pipeline; and the
synthetic city's double-publicity files, which must come back as the records they were."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import odf.opendocument
import odf.table
import odf.text
import orjson
import pytest
import xlsxwriter
import xlwt
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.models import LegacyLink, QuarantinedRow
from xinyong.ingest.profile import EXCEL_EPOCH
from xinyong.ingest.readers import UnreadableFile
from xinyong.ingest.service import IngestJob, IngestSummary, UnknownProfile, scan_file
from xinyong.policy import Pack
from xinyong.records.models import Record, Subject
from xinyong.synth import generate
from xinyong.synth.double_publicity import OWN, SHARED, TRAILING, layout_file_names
from xinyong.synth.records import CityRecords, SynthRow
from xinyong.testing import samples

TODAY = date(2026, 11, 1)
PENALTY = "double_publicity.penalty"
COLUMNS = (*SHARED, *OWN["admin.penalty"], *TRAILING)
USCC = "行政相对人代码_1(统一社会信用代码)"


def cells(index: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "行政相对人名称": f"北京示例{index}有限公司",
        USCC: samples.organisation(index),
        "行政处罚决定书文号": f"京朝市监罚〔2025〕{index}号",
        "违法事实": "销售不合格产品",
        "处罚类别": "罚款",
        "罚款金额（万元）": "0.5",
        "处罚决定日期": "2025-03-10",
        "公示截止期": "2025-12-10",
        "处罚机关": "北京市朝阳区市场监督管理局",
    }
    row.update(changes)
    return row


def workbook(path: Path, sheets: dict[str, list[dict[str, Any]]], *, title: bool = True) -> Path:
    book = xlsxwriter.Workbook(str(path))
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        top = 0
        if title:
            sheet.merge_range(0, 0, 0, len(COLUMNS) - 1, "行政处罚信息（双公示）")
            top = 2  # a blank line under the title, as offices leave one
        sheet.write_row(top, 0, COLUMNS)
        for line, row in enumerate(rows, start=top + 1):
            for column_no, column in enumerate(COLUMNS):
                value = row.get(column)
                if isinstance(value, date):
                    sheet.write_datetime(line, column_no, value, day)
                elif isinstance(value, int | float):
                    sheet.write_number(line, column_no, value)
                elif value is not None:
                    sheet.write_string(line, column_no, value)
    book.close()
    return path


def gbk_csv(path: Path, rows: list[dict[str, Any]], encoding: str = "gbk") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["行政处罚信息（双公示）"])
        writer.writerow(COLUMNS)
        writer.writerows([[row.get(column, "") for column in COLUMNS] for row in rows])
    return path


def ingest(
    factory: sessionmaker[Session],
    pack: Pack,
    path: Path,
    profile: str | None = PENALTY,
    **options: Any,
) -> IngestSummary:
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=TODAY, batch_size=7, profile=profile)
    return job.run_file(path, digest=digest, report_dir=path.parent, **options)


def quarantined(factory: sessionmaker[Session]) -> list[tuple[int, str | None, str, str]]:
    with factory() as session:
        rows = session.execute(
            select(
                QuarantinedRow.row_no,
                QuarantinedRow.field,
                QuarantinedRow.reason,
                QuarantinedRow.raw,
            ).order_by(QuarantinedRow.row_no)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_workbook_is_read_below_its_title_with_dates_and_numbers_as_excel_keeps_them(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    rows = [
        cells(1, 处罚决定日期=date(2025, 3, 10), 公示截止期=date(2025, 12, 10)),
        cells(
            2, **{"罚款金额（万元）": 0.5, "处罚决定日期": (date(2025, 3, 10) - EXCEL_EPOCH).days}
        ),
        cells(3, 处罚类别="训诫"),
        {},  # a blank line between the rows
        cells(4, **{"罚款金额（万元）": "0.5"}),
    ]
    path = workbook(tmp_path / "penalties.xlsx", {"说明": [], "处罚": rows})
    summary = ingest(factory, national, path)
    assert (summary.rows, summary.accepted, summary.rejected) == (4, 3, 1)
    assert summary.accounted and summary.encoding is None and summary.profile == PENALTY
    [(row_no, field, reason, raw)] = quarantined(factory)
    # The clerk is told the column and where to find the row in the workbook (line 6 of 处罚).
    assert (row_no, field) == (3, "处罚类别") and "'训诫' is not one of" in reason
    assert raw.startswith("处罚!6: ")
    with factory() as session:
        stored = session.execute(
            select(Record.document_no, Record.amount, Record.decided_on, Record.severity)
        ).all()
    assert {row.amount for row in stored} == {Decimal("5000.00")}
    assert {row.decided_on for row in stored} == {date(2025, 3, 10)}
    assert {row.severity for row in stored} == {"general"}


def test_a_named_sheet_is_read_alone_and_a_sheet_or_file_without_the_header_is_refused(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "two.xlsx", {"甲": [cells(1)], "乙": [cells(2), cells(3)]})
    assert ingest(factory, national, path, sheet="乙").rows == 2
    with pytest.raises(UnreadableFile, match="丙"):
        ingest(factory, national, path, sheet="丙")
    notes = tmp_path / "notes.xlsx"
    book = xlsxwriter.Workbook(str(notes))
    book.add_worksheet("说明").write_row(0, 0, ["行政相对人名称", "备注"])
    book.close()
    with pytest.raises(UnreadableFile, match=r"missing .*行政处罚决定书文号"):
        ingest(factory, national, notes)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UnreadableFile, match="not a readable workbook"):
        ingest(factory, national, broken)


def test_gbk_csv_is_detected_with_confidence_or_declared_and_refused_when_undeclared(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    path = gbk_csv(tmp_path / "penalties.csv", [cells(index) for index in range(1, 30)])
    with pytest.raises(UnreadableFile, match="--encoding gb18030"):
        ingest(factory, national, path)
    summary = ingest(factory, national, path, encoding="auto")
    assert (summary.encoding, summary.accepted, summary.rejected) == ("gb18030", 29, 0)
    with factory() as session:
        names = set(session.scalars(select(Record.subject_name)))
    assert names == {f"北京示例{index}有限公司" for index in range(1, 30)}


def test_a_declared_encoding_is_used_and_a_damaged_cell_refuses_only_its_row(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    path = gbk_csv(tmp_path / "penalties.csv", [cells(1), cells(2), cells(3)])
    data = path.read_bytes().replace("北京示例2有限公司".encode("gbk"), b"\xff\xfe\xfd")
    path.write_bytes(data)
    summary = ingest(factory, national, path, encoding="GBK")
    assert (summary.encoding, summary.accepted, summary.rejected) == ("gbk", 2, 1)
    [(row_no, field, _, _)] = quarantined(factory)
    assert (row_no, field) == (2, "行政相对人名称")


def test_an_unknown_profile_and_a_file_in_another_layout_are_refused(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    with pytest.raises(UnknownProfile, match=r"double_publicity\.penalty"):
        IngestJob(factory, national, profile="double_publicity.fines")
    licences = tmp_path / "licences.csv"
    licences.write_text("许可编号,行政相对人名称\nA1,某公司\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="missing"):
        ingest(factory, national, licences)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate(out, persons=300, orgs=300, seed=5, as_of=TODAY, layout="double-publicity")
    return out


def expected_records(rows: list[SynthRow], record_type: str) -> dict[str, dict[str, Any]]:
    return {
        row.record["document_no"]: row.record
        for row in rows
        if row.defect is None
        and row.record["record_type"] == record_type
        and row.record.get("op", "submit") == "submit"
    }


def test_the_citys_double_publicity_files_come_back_as_the_records_they_were(
    factory: sessionmaker[Session], national: Pack, city: Path
) -> None:
    """Both layouts' files on one store that holds the city's submissions (ingested once: each
    layout's checks read its own record type only)."""
    manifest = orjson.loads((city / "manifest.json").read_bytes())
    for name in manifest["ingest_order"]:
        assert ingest(factory, national, city / name, profile=None).accounted
    rows = list(CityRecords(national, 300, 300, 5, TODAY).rows())
    for record_type, profile in (
        ("admin.penalty", PENALTY),
        ("admin.licence", "double_publicity.licence"),
    ):
        _check_layout_files(factory, national, city, record_type, profile, rows)


def _check_layout_files(
    factory: sessionmaker[Session],
    national: Pack,
    city: Path,
    record_type: str,
    profile: str,
    rows: list[SynthRow],
) -> None:
    summaries = [
        ingest(factory, national, city / name, profile=profile, encoding="auto")
        for name in layout_file_names(record_type)
    ]
    assert [summary.encoding for summary in summaries] == [None, "gb18030"], record_type
    assert all(summary.accounted for summary in summaries), record_type
    expected = expected_records(rows, record_type)
    assert sum(summary.rows for summary in summaries) == len(expected) > 10, record_type
    with factory() as session:
        stored = session.execute(
            select(Record, Subject.identifier)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.record_type == record_type, Record.version == 1)
        ).all()
        linked = session.scalar(
            select(func.count())
            .select_from(LegacyLink)
            .join(Record, Record.id == LegacyLink.record_id)
            .where(Record.record_type == record_type)
        )
    assert linked, record_type
    # Every row comes back, those naming an organisation by its old code too (linked).
    assert len(stored) == sum(summary.stored for summary in summaries) == len(expected)
    for record, identifier in stored:
        original = expected[record.document_no]
        assert identifier == original["subject_id"]
        assert record.authority == original["authority"]
        assert record.decided_on.isoformat() == original["decided_on"]
        assert record.severity == original.get("severity", "none")
        assert record.fields == original["fields"]
        if original.get("amount") is not None:
            assert record.amount == Decimal(str(original["amount"])).quantize(Decimal("0.01"))


def test_a_table_that_starts_lower_down_and_to_the_right_keeps_the_lines_a_clerk_sees(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    path = tmp_path / "offset.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("处罚")
    sheet.write_row(3, 2, COLUMNS)  # the header on line 4, from column C
    for line, row in enumerate([cells(1), cells(2, 处罚类别="训诫")], start=4):
        sheet.write_row(line, 2, [row.get(column, "") for column in COLUMNS])
    book.close()
    summary = ingest(factory, national, path)
    assert (summary.accepted, summary.rejected) == (1, 1)
    [(row_no, field, _, raw)] = quarantined(factory)
    assert (row_no, field) == (2, "处罚类别") and raw.startswith("处罚!6: 北京示例2有限公司")


TITLE = "行政处罚信息（双公示）"


def xls(path: Path, rows: list[dict[str, Any]]) -> Path:
    """An Excel 97-2003 workbook as offices still export it: a merged title, a blank line."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("处罚")
    sheet.write_merge(0, 0, 0, len(COLUMNS) - 1, TITLE)
    for column_no, column in enumerate(COLUMNS):
        sheet.write(2, column_no, column)
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for line, row in enumerate(rows, start=3):
        for column_no, column in enumerate(COLUMNS):
            value = row.get(column)
            if isinstance(value, date):
                sheet.write(line, column_no, value, day)
            elif value is not None:
                sheet.write(line, column_no, value)
    book.save(str(path))
    return path


def _ods_cell(value: Any) -> odf.table.TableCell:
    if isinstance(value, date):
        cell = odf.table.TableCell(valuetype="date", datevalue=value.isoformat())
    elif isinstance(value, int | float):
        cell = odf.table.TableCell(valuetype="float", value=value)
    elif value is None:
        return odf.table.TableCell()
    else:
        cell = odf.table.TableCell(valuetype="string")
    cell.addElement(odf.text.P(text=str(value)))
    return cell


def ods(path: Path, rows: list[dict[str, Any]]) -> Path:
    """An OpenDocument spreadsheet: a title merged across the columns, a blank line."""
    document = odf.opendocument.OpenDocumentSpreadsheet()
    table = odf.table.Table(name="处罚")
    title = odf.table.TableRow()
    merged = _ods_cell(TITLE)
    merged.setAttribute("numbercolumnsspanned", len(COLUMNS))
    title.addElement(merged)
    for _ in COLUMNS[1:]:
        title.addElement(odf.table.CoveredTableCell())
    blank = odf.table.TableRow()
    blank.addElement(odf.table.TableCell())
    table.addElement(title)
    table.addElement(blank)
    for values in [list(COLUMNS), *([row.get(column) for column in COLUMNS] for row in rows)]:
        line = odf.table.TableRow()
        for value in values:
            line.addElement(_ods_cell(value))
        table.addElement(line)
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def _writes(suffix: str) -> Any:
    return {
        ".xlsx": lambda path, rows: workbook(path, {"处罚": rows}),
        ".xls": xls,
        ".ods": ods,
        ".csv": gbk_csv,
    }[suffix]


OFFICE_ROWS = [
    # dates as the spreadsheet keeps them, an amount as a number
    cells(
        1,
        处罚决定日期=date(2025, 3, 10),
        公示截止期=date(2025, 12, 10),
        **{"罚款金额（万元）": 0.5},
    ),
    cells(2),  # numbers and dates stored as text
    cells(3, 处罚类别="训诫"),
    cells(4, 处罚类别="警告、罚款", 公示截止期="2026-03-01"),
]


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods", ".csv"])
def test_every_office_format_reads_below_its_title_into_the_same_records(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path, suffix: str
) -> None:
    path = _writes(suffix)(tmp_path / f"penalties{suffix}", OFFICE_ROWS)
    options = {"encoding": "gbk"} if suffix == ".csv" else {}
    summary = ingest(factory, national, path, **options)
    assert (summary.rows, summary.accepted, summary.rejected) == (4, 3, 1)
    [(row_no, field, reason, raw)] = quarantined(factory)
    assert (row_no, field) == (3, "处罚类别") and "'训诫' is not one of" in reason
    # Where the clerk finds the row: the title, a blank line, the header, then the rows.
    if suffix != ".csv":
        assert raw.startswith("处罚!6: 北京示例3有限公司")
    with factory() as session:
        stored = {
            record.document_no: (record.amount, record.decided_on, record.severity, record.fields)
            for record in session.scalars(select(Record))
        }
    kind = {"penalty_kind": "fine", "violation": "销售不合格产品"}
    assert stored == {
        "京朝市监罚〔2025〕1号": (Decimal("5000.00"), date(2025, 3, 10), "general", kind),
        "京朝市监罚〔2025〕2号": (Decimal("5000.00"), date(2025, 3, 10), "general", kind),
        "京朝市监罚〔2025〕4号": (
            Decimal("5000.00"),
            date(2025, 3, 10),
            "general",
            {**kind, "other_penalty_kinds": ["warning"]},
        ),
    }
