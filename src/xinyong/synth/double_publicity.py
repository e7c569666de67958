"""The city's licences and penalties as authorities export them: the double-publicity layout.

Offices send the tables of the national double-publicity data standard, as workbooks or as GBK
CSV, not the record format. With ``--layout double-publicity`` the city's submitted licences and
penalties are written that way instead: every other row of a layout to a workbook (a merged
title row above the header, dates as Excel dates or text, amounts as numbers or text, the way
offices' files vary), the others to a GBK CSV. One organisation in ten that the city's other
files make known is named only by its organisation code, as records from before the unified
code are. The columns and the words
come from the pack's own profiles, so what is written is what the profiles read.
"""

import csv
import zlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from xinyong.identifiers import IdentifierKind, parse
from xinyong.policy import Pack
from xinyong.policy.profiles import IdentifierRole, Profile

LAYOUT = "double-publicity"
PROFILES = {
    "admin.penalty": "double_publicity.penalty",
    "admin.licence": "double_publicity.licence",
}
SHARED = (
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1(统一社会信用代码)",
    "行政相对人代码_2(工商注册号)",
    "行政相对人代码_3(组织机构代码)",
    "行政相对人代码_4(税务登记号)",
    "行政相对人代码_5(事业单位证书号)",
    "行政相对人代码_6(社会组织登记证号)",
    "法定代表人",
    "法定代表人证件类型",
    "法定代表人证件号码",
    "证件类型",
    "证件号码",
)
TRAILING = ("数据来源单位", "数据来源单位统一社会信用代码", "备注")
OWN = {
    "admin.penalty": (
        "行政处罚决定书文号",
        "违法行为类型",
        "违法事实",
        "处罚依据",
        "处罚类别",
        "处罚内容",
        "罚款金额（万元）",
        "没收违法所得、没收非法财物的金额（万元）",
        "暂扣或吊销证照名称及编号",
        "处罚决定日期",
        "处罚有效期",
        "公示截止期",
        "处罚机关",
        "处罚机关统一社会信用代码",
    ),
    "admin.licence": (
        "行政许可决定文书名称",
        "行政许可决定文书号",
        "许可类别",
        "许可证书名称",
        "许可编号",
        "许可内容",
        "许可决定日期",
        "有效期自",
        "有效期至",
        "许可机关",
        "许可机关统一社会信用代码",
        "当前状态",
    ),
}
TITLES = {"admin.penalty": "行政处罚信息（双公示）", "admin.licence": "行政许可信息（双公示）"}
LEGACY_ONE_IN = 10  # organisations named by their organisation code only
FIXED_TIME = datetime(2026, 1, 1)  # a workbook's creation time, so equal rows give equal bytes
_TEN_THOUSAND = Decimal(10_000)


def layout_file_names(record_type: str) -> tuple[str, str]:
    """The workbook and the GBK CSV a record type's rows go to."""
    return f"{record_type}.xlsx", f"{record_type}.gbk.csv"


def profile_of(file_name: str) -> str:
    """The import profile that reads one of the layout's files."""
    return next(
        profile
        for record_type, profile in PROFILES.items()
        if file_name in layout_file_names(record_type)
    )


class DoublePublicityFiles:
    """The layout's files under ``out_dir``: each submitted licence or penalty goes to one."""

    def __init__(self, out_dir: Path, pack: Pack) -> None:
        self.out_dir = out_dir
        self.pack = pack
        self.rows: dict[str, int] = {}
        # Organisations the city's other files name in rows that will be stored: only those
        # can be found by an old code once those files are ingested.
        self.known: set[str] = set()
        self._sheets: dict[str, tuple[Any, Any, Any]] = {}
        self._csv: dict[str, Any] = {}

    def takes(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` is written in the layout (corrections and withdrawals are not:
        the layout has no column for them)."""
        return record.get("record_type") in PROFILES and record.get("op", "submit") == "submit"

    def write(self, record: dict[str, Any]) -> None:
        code = record["record_type"]
        profile = self.pack.profiles[PROFILES[code]]
        values = self._values(profile, record)
        done = self.rows.get(code, 0)
        self.rows[code] = done + 1
        columns = (*SHARED, *OWN[code], *TRAILING)
        if done % 2 == 0:
            self._workbook_row(code, columns, values, done // 2)
        else:
            self._csv_row(code, columns, values)

    def close(self) -> None:
        for book, _, _ in self._sheets.values():
            book.close()
        for handle in self._csv.values():
            handle.close()

    @property
    def files(self) -> list[str]:
        """The files written, by name."""
        opened = [layout_file_names(code)[0] for code in self._sheets]
        opened.extend(layout_file_names(code)[1] for code in self._csv)
        return sorted(opened)

    def _values(self, profile: Profile, record: dict[str, Any]) -> dict[str, Any]:
        subject_id = str(record["subject_id"])
        person = parse(subject_id).kind is IdentifierKind.RESIDENT_ID
        authority = self.pack.authorities[record["authority"]].name.zh
        decided = date.fromisoformat(record["decided_on"])
        fields = record.get("fields") or {}
        values: dict[str, Any] = {
            profile.subject_name: record.get("subject_name", ""),
            "行政相对人类别": "自然人" if person else "法人及非法人组织",
            profile.authority: authority,
            "数据来源单位": authority,
            profile.document_no: record["document_no"],
            profile.decided_on: decided,
        }
        for code in profile.subject_codes:
            if person and code.role is IdentifierRole.PERSON_ID:
                values[code.column] = subject_id
                assert code.type_column is not None
                values[code.type_column] = code.type_values[0]
            elif not person and code.role is self._organisation_role(subject_id, self.known):
                values[code.column] = (
                    subject_id[8:17]
                    if code.role is IdentifierRole.ORGANISATION_CODE
                    else subject_id
                )
        if profile.effective_on is not None:
            values[profile.effective_on] = date.fromisoformat(record["effective_on"])
        if profile.amount is not None and record.get("amount") is not None:
            values[profile.amount.columns[0]] = Decimal(str(record["amount"])) / _TEN_THOUSAND
        if profile.severity is not None and profile.severity.publicity_end is not None:
            months = (
                self.pack.record_types[record["record_type"]]
                .severities[record["severity"]]
                .max_months
            )
            values[profile.severity.publicity_end] = _months_later(decided, months or 0)
        for name, mapped in profile.fields.items():
            value = fields.get(name)
            if value is None:
                continue
            if mapped.values:
                value = next(word for word, code in mapped.values.items() if code == value)
            elif mapped.date:
                value = date.fromisoformat(value)
            values[mapped.column] = value
        return values

    @staticmethod
    def _organisation_role(subject_id: str, known: set[str]) -> IdentifierRole:
        legacy = subject_id in known and zlib.crc32(subject_id.encode()) % LEGACY_ONE_IN == 0
        return IdentifierRole.ORGANISATION_CODE if legacy else IdentifierRole.USCC

    def _workbook_row(
        self, code: str, columns: tuple[str, ...], values: dict[str, Any], index: int
    ) -> None:
        opened = self._sheets.get(code)
        if opened is None:
            path = self.out_dir / layout_file_names(code)[0]
            book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
            book.set_properties({"created": FIXED_TIME})
            sheet = book.add_worksheet(TITLES[code][:6])
            sheet.merge_range(0, 0, 0, len(columns) - 1, TITLES[code])
            sheet.write_row(1, 0, columns)
            opened = self._sheets[code] = (
                book,
                sheet,
                book.add_format({"num_format": "yyyy-mm-dd"}),
            )
        book, sheet, day_format = opened
        for column_no, column in enumerate(columns):
            value = values.get(column)
            if isinstance(value, date):
                # Offices' dates are Excel dates in some rows and typed text in others.
                if index % 3:
                    sheet.write_string(index + 2, column_no, value.strftime("%Y/%m/%d"))
                else:
                    sheet.write_datetime(index + 2, column_no, value, day_format)
            elif isinstance(value, Decimal):
                if index % 2:
                    sheet.write_string(index + 2, column_no, format(value.normalize(), "f"))
                else:
                    sheet.write_number(index + 2, column_no, float(value))
            elif value is not None:
                sheet.write_string(index + 2, column_no, str(value))

    def _csv_row(self, code: str, columns: tuple[str, ...], values: dict[str, Any]) -> None:
        handle = self._csv.get(code)
        if handle is None:
            path = self.out_dir / layout_file_names(code)[1]
            # GB18030 writes every GBK character as GBK does, and the rare others too.
            handle = self._csv[code] = path.open("w", encoding="gb18030", newline="")
            csv.writer(handle, lineterminator="\r\n").writerow(columns)
        csv.writer(handle, lineterminator="\r\n").writerow(
            [_csv_text(values.get(column)) for column in columns]
        )


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _months_later(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")
