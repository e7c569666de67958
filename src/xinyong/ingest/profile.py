"""Rows of an external layout made into records through a pack's import profile.

A layout row is a mapping from the layout's column names (as the header wrote them, folded by
:func:`column_key`) to cell values: text from CSV, text, numbers, dates or booleans from a
workbook. What the profile cannot read or classify refuses the row naming the layout's column,
so that the clerk knows which cell to fix; everything else is judged afterwards by the same
validation as any record, and its refusals are named by column too (:meth:`Layout.column_of`).
"""

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from xinyong.identifiers import normalise
from xinyong.ingest.values import RowInvalid, shown
from xinyong.policy import Pack
from xinyong.policy.profiles import SEPARATORS, IdentifierRole, MappedColumn, Profile, Unit

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 in Excel's (Lotus's) count
SERIALS = range(1, 2_958_466)  # Excel's days: 1900-01-01 to 9999-12-31
MIN_EXPONENT, MAX_EXPONENT = -12, 16
UNITS = {Unit.YUAN: Decimal(1), Unit.TEN_THOUSAND_YUAN: Decimal(10_000)}
LEGACY_ROLES = (IdentifierRole.REGISTRATION_NUMBER, IdentifierRole.ORGANISATION_CODE)
_SEPARATED = re.compile(f"[{re.escape(SEPARATORS)}]")


def column_key(name: str) -> str:
    """A header text as it is matched: full-width forms folded (（万元） is (万元)), no spaces."""
    return "".join(unicodedata.normalize("NFKC", name).split())


@lru_cache(maxsize=512)
def _profile_key(column: str) -> str:
    """The folded key of one of a profile's columns: read for every cell of every row, from a
    few dozen names (cell values are folded with ``column_key``, never cached)."""
    return column_key(column)


# Longer text is no date in any format a profile can have; it is read without the cache.
DATE_TEXT_CACHED = 32


@lru_cache(maxsize=1 << 14)
def _day_of(text: str, formats: tuple[str, ...]) -> date | None:
    """``text`` read by the first of ``formats`` that reads it, or None. Cached: the dates of a
    file repeat from row to row, and ``strptime`` costs several microseconds a call."""
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def folded(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row keyed by folded column names, as a file's rows are read."""
    return {column_key(name): value for name, value in row.items()}


@dataclass(frozen=True, slots=True)
class LegacyCode:
    """A subject named only by a code that predates the USCC, to be linked to its subject."""

    role: IdentifierRole
    code: str
    column: str


@dataclass(slots=True)
class Translated:
    """A layout row as a record-format row, and where its subject's identifier came from."""

    row: dict[str, Any]
    subject_column: str
    legacy: LegacyCode | None = None


class Layout:
    """One profile of one pack, ready to translate rows (built once per submission)."""

    def __init__(self, pack: Pack, profile: Profile, *, authority: str | None = None) -> None:
        self.profile = profile
        self.record_type = pack.record_types[profile.record_type]
        self.authority = authority
        self._authorities = {
            column_key(item.name.zh): code for code, item in pack.authorities.items()
        }
        # A cell that spells the name exactly as the pack does is found without folding it.
        self._authorities_as_named = {item.name.zh: code for code, item in pack.authorities.items()}
        grades = sorted(
            (period.max_months, str(grade))
            for grade, period in self.record_type.severities.items()
            if period.max_months is not None
        )
        self._grades_by_months = grades
        self._columns: dict[str, str | None] = {
            "subject_name": profile.subject_name,
            "authority": profile.authority,
            "document_no": profile.document_no,
            "decided_on": profile.decided_on,
            "effective_on": profile.effective_on or profile.decided_on,
            **({"amount": profile.amount.columns[0]} if profile.amount else {}),
        }
        if profile.severity is not None:
            self._columns["severity"] = profile.severity.column or profile.severity.publicity_end

    @property
    def header(self) -> tuple[str, ...]:
        """The folded columns a header row must hold for a file to be in this layout."""
        return tuple(column_key(name) for name in self.profile.header)

    def column_of(self, translated: Translated, field: str | None) -> str | None:
        """The layout's column behind a record field that validation refused."""
        if field is None:
            return None
        if field == "subject_id":
            return translated.subject_column
        if field.startswith("fields."):
            name = field[7:].split(".", 1)[0]
            for mapped_name, mapped in self.profile.fields.items():
                if name == mapped_name or (mapped.several and name == mapped.several.rest):
                    return mapped.column
        return self._columns.get(field, field)

    def translate(self, row: Mapping[str, Any]) -> Translated:
        """The record a layout row means; raises :class:`RowInvalid` naming the column."""
        profile = self.profile
        subject_id, subject_column, legacy = self._subject(row)
        decided_on = self._date(row, profile.decided_on)
        if decided_on is None:
            raise RowInvalid(profile.decided_on, f"{profile.decided_on} is required")
        record: dict[str, Any] = {
            "record_type": profile.record_type,
            "subject_id": subject_id,
            "subject_name": _text(row, profile.subject_name),
            "authority": self._authority(row),
            "document_no": _text(row, profile.document_no),
            "decided_on": decided_on.isoformat(),
        }
        effective_on = self._date(row, profile.effective_on) if profile.effective_on else None
        record["effective_on"] = (effective_on or decided_on).isoformat()
        if profile.amount is not None:
            record["amount"] = self._amount(row)
        if profile.severity is not None:
            record["severity"] = self._severity(row, decided_on)
        fields: dict[str, str | list[str]] = {}
        for name, mapped in profile.fields.items():
            value = self._day(row, mapped.column) if mapped.date else _text(row, mapped.column)
            if value is None:
                if mapped.required:
                    raise RowInvalid(mapped.column, f"{mapped.column} is required")
                continue
            if mapped.several is not None and value not in mapped.values:
                gravest, *rest = _several(mapped, value)
                fields[name] = gravest
                if rest:
                    fields[mapped.several.rest] = rest
                continue
            fields[name] = _mapped(mapped, value)
        record["fields"] = fields
        return Translated(
            {name: value for name, value in record.items() if value is not None},
            subject_column,
            legacy,
        )

    def _subject(self, row: Mapping[str, Any]) -> tuple[str | None, str, LegacyCode | None]:
        for code in self.profile.subject_codes:
            value = _text(row, code.column)
            if value is None:
                continue
            if code.type_column is not None:
                kind = _text(row, code.type_column)
                if kind not in code.type_values:
                    continue
            if code.role in LEGACY_ROLES:
                legacy = LegacyCode(code.role, normalise(value), code.column)
                return value, code.column, legacy
            return value, code.column, None
        columns = "、".join(code.column for code in self.profile.subject_codes)
        first = self.profile.subject_codes[0].column
        raise RowInvalid(first, f"no code identifies the subject: fill one of {columns}")

    def _authority(self, row: Mapping[str, Any]) -> str | None:
        name = _text(row, self.profile.authority)
        if name is None:
            if self.authority is None:
                raise RowInvalid(self.profile.authority, f"{self.profile.authority} is required")
            return self.authority
        code = self._authorities_as_named.get(name) or self._authorities.get(column_key(name))
        if code is None:
            raise RowInvalid(
                self.profile.authority, f"no authority of the pack is named '{shown(name)}'"
            )
        return code

    def _day(self, row: Mapping[str, Any], column: str) -> str | None:
        day = self._date(row, column)
        return day.isoformat() if day else None

    def _date(self, row: Mapping[str, Any], column: str) -> date | None:
        value = row.get(_profile_key(column))
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or value != int(value) or int(value) not in SERIALS:
                raise RowInvalid(column, f"{column} {value} is not a day's number in Excel")
            return EXCEL_EPOCH + timedelta(days=int(value))
        text = _text(row, column)
        if text is None:
            return None
        formats = self.profile.date_formats
        day = (
            _day_of(text, formats)
            if len(text) <= DATE_TEXT_CACHED
            else _day_of.__wrapped__(text, formats)
        )
        if day is not None:
            return day
        shown_formats = ", ".join(formats).replace("%", "")
        raise RowInvalid(column, f"{column} '{shown(text)}' is not a date ({shown_formats})")

    def _amount(self, row: Mapping[str, Any]) -> str | None:
        rule = self.profile.amount
        assert rule is not None
        total: Decimal | None = None
        for column in rule.columns:
            value = row.get(_profile_key(column))
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise RowInvalid(column, f"{column} is not a number")
            text = repr(value) if isinstance(value, float) else str(value).strip()
            try:
                amount = Decimal(text.replace(",", ""))
            except InvalidOperation:
                raise RowInvalid(column, f"{column} '{shown(text)}' is not a number") from None
            if not amount.is_finite():
                raise RowInvalid(column, f"{column} '{shown(text)}' is not a number")
            # Bounded before any arithmetic: 1e999999 would overflow, 1e-999999 spell a
            # million zeros. Validation holds the yuan to their real bounds afterwards.
            if amount and not MIN_EXPONENT <= amount.adjusted() <= MAX_EXPONENT:
                raise RowInvalid(column, f"{column} '{shown(text)}' is not an amount in yuan")
            total = (total or Decimal(0)) + amount * UNITS[rule.unit]
        return None if total is None else format(total.normalize(), "f")

    def _severity(self, row: Mapping[str, Any], decided_on: date) -> str:
        rule = self.profile.severity
        assert rule is not None
        if rule.column is not None:
            word = _text(row, rule.column)
            if word is None:
                raise RowInvalid(rule.column, f"{rule.column} is required")
            grade = rule.values.get(word)
            if grade is None:
                known = "、".join(rule.values)
                raise RowInvalid(
                    rule.column, f"{rule.column} '{shown(word)}' is not one of {known}"
                )
            return grade
        assert rule.publicity_end is not None
        column = rule.publicity_end
        end = self._date(row, column)
        if end is None:
            raise RowInvalid(column, f"{column} is required: it decides the severity")
        if end < decided_on:
            raise RowInvalid(column, f"{column} {end} is before the decision")
        months = (end.year - decided_on.year) * 12 + end.month - decided_on.month
        months += end.day > decided_on.day
        for most, grade in self._grades_by_months:
            if months <= most:
                return grade
        raise RowInvalid(
            column,
            f"{column} {end} publishes for {months} months: longer than any grade of "
            f"{self.record_type.code} allows",
        )


def _mapped(mapped: MappedColumn, word: str) -> str:
    """The code for one of the layout's words (the word itself when the column has no map)."""
    if not mapped.values:
        return word
    code = mapped.values.get(word)
    if code is None:
        known = "、".join(mapped.values)
        raise RowInvalid(mapped.column, f"{mapped.column} '{shown(word)}' is not one of {known}")
    return code


def _several(mapped: MappedColumn, cell: str) -> list[str]:
    """The codes a cell of several words names, each once, gravest first."""
    assert mapped.several is not None
    words = [word.strip() for word in _SEPARATED.split(cell)]
    codes = {_mapped(mapped, word) for word in words if word}
    if not codes:
        raise RowInvalid(mapped.column, f"{mapped.column} '{shown(cell)}' names no word")
    ranked = mapped.several.ranked
    return sorted(codes, key=ranked.index)


def _text(row: Mapping[str, Any], column: str) -> str | None:
    """A cell as text: numbers written as the clerk typed them (12 not 12.0), blank as None."""
    value = row.get(_profile_key(column))
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.date()
    text = (value.isoformat() if isinstance(value, date) else str(value)).strip()
    return text or None
