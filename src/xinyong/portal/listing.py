"""What the portal's list pages and the double publicity channel show: rows filtered in the
store, kept only while public (``xinyong.search.publicity``), counted before paging so that the
count and the pages are true, and the same rows as a CSV or XLSX download.

A list page has one row per subject with all of its entries on the page's lists. The double
publicity channel ("双公示") has one row per administrative licence or penalty of an
organisation, and the credit commitment publicity ("信用承诺公示") one per commitment an
organisation made or broke; a person's records are in neither (persons are public only as
published defaulters, on their own file).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import xlsxwriter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xinyong.audit.export import spreadsheet_text
from xinyong.enforcement.models import EntryRow
from xinyong.identifiers.regions import region_name
from xinyong.policy import Pack
from xinyong.policy.catalogue import Category, Disclosure
from xinyong.portal.public_file import public_entry, ref_of, shown_id
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.search.publicity import is_public, list_published

PAGE_SIZE = 50
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class Filters:
    """What a visitor narrows a page to; an empty field narrows nothing."""

    name: str = ""
    """Part of the subject's name, or of the decision's document number."""
    region: str = ""
    """A division code or its first digits (11: Beijing; 1101: its districts)."""
    authority: str = ""
    """The deciding authority's code."""
    record_type: str = ""
    since: date | None = None
    until: date | None = None

    def narrow(self, query: Query, day_column: Any) -> Query:
        if self.name:
            pattern = f"%{self.name}%"
            query = query.where(Subject.name.like(pattern) | Record.document_no.like(pattern))
        if self.region:
            query = query.where(Subject.region.like(f"{self.region}%"))
        if self.authority:
            query = query.where(Record.authority == self.authority)
        if self.record_type:
            query = query.where(Record.record_type == self.record_type)
        if self.since:
            query = query.where(day_column >= self.since)
        if self.until:
            query = query.where(day_column <= self.until)
        return query


@dataclass(frozen=True)
class Paged:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


class PageOutOfRange(LookupError):
    """A page past the last one: there is nothing there, and the page says so (404)."""


def page_of(rows: Sequence[dict[str, Any]], page: int) -> Paged:
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    if page > pages:
        raise PageOutOfRange(page)
    start = (page - 1) * PAGE_SIZE
    return Paged(list(rows[start : start + PAGE_SIZE]), len(rows), page, pages)


def _subject(subject: Subject) -> dict[str, Any]:
    return {
        "ref": ref_of(subject),
        "kind": subject.kind,
        "name": subject.name,
        "id": shown_id(subject),
        "region": subject.region,
        "region_name": region_name(subject.region),
    }


def list_rows(
    session: Session, pack: Pack, day: date, codes: Sequence[str], wanted: Filters
) -> list[dict[str, Any]]:
    """Subjects with public entries in force on ``day`` on any of ``codes``, newest listing
    first, each with all those entries."""
    query = (
        select(EntryRow, Record, RecordHead.status, Subject)
        .join(Record, Record.id == EntryRow.record_id)
        .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
        .join(Subject, Subject.id == EntryRow.subject_id)
        .where(EntryRow.list_code.in_(codes), EntryRow.started_on <= day, EntryRow.ended_on > day)
        .order_by(EntryRow.started_on.desc(), EntryRow.id.desc())
    )
    rows: dict[int, dict[str, Any]] = {}
    for entry, record, status, subject in session.execute(
        wanted.narrow(query, EntryRow.started_on)
    ):
        shown = is_public(pack, record.record_type, record.severity, record.decided_on, status, day)
        if not (shown or list_published(pack, entry.list_code, status)):
            continue
        # The keyword may match a document number only where the page shows that number.
        if not shown and wanted.name and wanted.name not in subject.name:
            continue
        row = rows.setdefault(subject.id, {"subject": _subject(subject), "entries": []})
        row["entries"].append(public_entry(pack, entry, record, shown))
    return list(rows.values())


def publicity_types(pack: Pack) -> list[str]:
    """The record types of the double publicity: public administrative licences and penalties."""
    return [
        code
        for code, kind in pack.record_types.items()
        if kind.disclosure == Disclosure.PUBLIC
        and (kind.administrative_penalty or kind.category == Category.ADMINISTRATIVE)
    ]


def commitment_types(pack: Pack) -> list[str]:
    """The record types of the credit commitment publicity: public commitments and breaches."""
    return [
        code
        for code, kind in pack.record_types.items()
        if kind.disclosure == Disclosure.PUBLIC and kind.category == Category.CREDIT_COMMITMENT
    ]


def decision_rows(
    session: Session, pack: Pack, day: date, types: Sequence[str], wanted: Filters
) -> list[dict[str, Any]]:
    """Organisations' public records of ``types``, newest decision first."""
    query = (
        select(Record, RecordHead.status, Subject)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.record_type.in_(types), Subject.kind == "organisation")
        .order_by(Record.decided_on.desc(), Record.id.desc())
    )
    shown = []
    for record, status, subject in session.execute(wanted.narrow(query, Record.decided_on)):
        if not is_public(pack, record.record_type, record.severity, record.decided_on, status, day):
            continue
        kind = pack.record_types[record.record_type]
        authority = pack.authorities.get(record.authority)
        shown.append(
            {
                "subject": _subject(subject),
                "record_type": record.record_type,
                "record_type_name": kind.name.model_dump(),
                "penalty": kind.administrative_penalty,
                "authority_name": authority.name.model_dump() if authority else None,
                "document_no": record.document_no,
                "decided_on": record.decided_on.isoformat(),
                "amount": None if record.amount is None else f"{record.amount:.2f}",
                "subject_matter": record.fields.get("subject_matter"),
            }
        )
    return shown


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte order mark (so a spreadsheet reads the Chinese), formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_text(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """One sheet; every cell written as text or a number, never as a formula."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet()
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, list(header), bold)
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row):
            if isinstance(cell, int | float):
                sheet.write_number(number, column, cell)
            else:
                sheet.write_string(number, column, "" if cell is None else str(cell))
    book.close()
    return out.getvalue()
