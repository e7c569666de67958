"""What the portal's list pages and the double publicity channel show: rows kept only while
public (``xinyong.search.publicity``, as the SQL condition ``public_clause``), filtered, counted
and cut into pages by the store, so that the count and the pages are true and a page costs the
same however long the lists are; and the same rows as a CSV or XLSX download.

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

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from xinyong.audit.export import spreadsheet_text
from xinyong.enforcement.models import EntryRow
from xinyong.identifiers.regions import region_name
from xinyong.policy import Pack
from xinyong.policy.catalogue import Category, Disclosure
from xinyong.portal.public_file import public_entry, ref_of, shown_id
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.search.publicity import STANDING, is_public, public_clause

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

    def narrow(self, query: Query, day_column: Any, numbers_shown: Any = None) -> Query:
        """``query`` narrowed; ``numbers_shown`` is the condition under which a row shows its
        document number (a keyword may match a number only where the page shows it)."""
        if self.name:
            pattern = f"%{self.name}%"
            number: ColumnElement[bool] = Record.document_no.like(pattern)
            if numbers_shown is not None:
                number = and_(number, numbers_shown)
            query = query.where(Subject.name.like(pattern) | number)
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


def paged(rows: list[dict[str, Any]], total: int, page: int) -> Paged:
    """A page of ``total`` rows; raises ``PageOutOfRange`` past the last one (a page with no
    rows after the first: the store counted nothing there)."""
    if not rows and page > 1:
        raise PageOutOfRange(page)
    return Paged(rows, total, page, max(1, -(-total // PAGE_SIZE)))


def _subject(subject: Subject) -> dict[str, Any]:
    return {
        "ref": ref_of(subject),
        "kind": subject.kind,
        "name": subject.name,
        "id": shown_id(subject),
        "region": subject.region,
        "region_name": region_name(subject.region),
    }


def _public(pack: Pack, day: date) -> ColumnElement[bool]:
    return public_clause(
        pack, day, Record.record_type, Record.severity, Record.decided_on, RecordHead.status
    )


def _published(pack: Pack) -> ColumnElement[bool]:
    """Entries on a list its owner publishes itself, while their decision stands (the SQL of
    ``list_published``): shown whatever their record's disclosure, without the record."""
    codes = [code for code, credit_list in pack.lists.items() if credit_list.published]
    return and_(EntryRow.list_code.in_(codes), RecordHead.status == STANDING) if codes else false()


def _listed(
    pack: Pack, day: date, codes: Sequence[str], wanted: Filters, *columns: Any
) -> Select[Any]:
    """Entries in force on ``day`` on any of ``codes`` that rest on public records or are on
    a published list, narrowed."""
    public = _public(pack, day)
    return wanted.narrow(
        select(*columns)
        .select_from(EntryRow)
        .join(Record, Record.id == EntryRow.record_id)
        .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
        .join(Subject, Subject.id == EntryRow.subject_id)
        .where(
            EntryRow.list_code.in_(codes),
            EntryRow.started_on <= day,
            EntryRow.ended_on > day,
            or_(public, _published(pack)),
        ),
        EntryRow.started_on,
        public,
    )


def listed_page(
    session: Session, pack: Pack, day: date, codes: Sequence[str], wanted: Filters, page: int
) -> Paged:
    """One page of the subjects with public entries in force on ``day`` on any of ``codes``,
    newest listing first, each with all those entries; the store filters, counts and pages
    (the count of all subjects rides along with the page, as a window over the groups)."""
    shown = _listed(
        pack, day, codes, wanted, EntryRow.id, EntryRow.subject_id, EntryRow.started_on
    ).subquery()
    newest = (
        select(shown.c.subject_id, func.count().over())
        .group_by(shown.c.subject_id)
        .order_by(func.max(shown.c.started_on).desc(), func.max(shown.c.id).desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    found = session.execute(newest).all()
    ids = [subject_id for subject_id, _ in found]
    rows: dict[int, dict[str, Any]] = {}
    for entry, record, status, subject in session.execute(
        _listed(pack, day, codes, wanted, EntryRow, Record, RecordHead.status, Subject)
        .where(EntryRow.subject_id.in_(ids))
        .order_by(EntryRow.started_on.desc(), EntryRow.id.desc())
    ):
        record_shown = is_public(
            pack, record.record_type, record.severity, record.decided_on, status, day
        )
        row = rows.setdefault(subject.id, {"subject": _subject(subject), "entries": []})
        row["entries"].append(public_entry(pack, entry, record, record_shown))
    return paged([rows[subject_id] for subject_id in ids], found[0][1] if found else 0, page)


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


def decision_page(
    session: Session, pack: Pack, day: date, types: Sequence[str], wanted: Filters, page: int
) -> Paged:
    """One page of organisations' public records of ``types`` (the double publicity's licences
    and penalties, or the credit commitments), newest decision first, with the count of them
    all (a window over the rows, taken before the page is cut)."""
    # Counted, ordered and cut on the index's narrow columns; the page's 50 rows read whole.
    shown = (
        wanted.narrow(
            select(Record.id, Record.decided_on, func.count().over().label("total"))
            .join(RecordHead, RecordHead.record_id == Record.id)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Record.record_type.in_(types),
                Subject.kind == "organisation",
                _public(pack, day),
            ),
            Record.decided_on,
        )
        .order_by(Record.decided_on.desc(), Record.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .subquery()
    )
    found = session.execute(
        select(Record, Subject, shown.c.total)
        .join(shown, shown.c.id == Record.id)
        .join(Subject, Subject.id == Record.subject_id)
        .order_by(shown.c.decided_on.desc(), Record.id.desc())
    ).all()
    rows = []
    for record, subject, _ in found:
        kind = pack.record_types[record.record_type]
        authority = pack.authorities.get(record.authority)
        rows.append(
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
    return paged(rows, found[0][2] if found else 0, page)


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte order mark (so a spreadsheet reads the Chinese), formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_text(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """One sheet; every cell written as text or a number, never as a formula."""
    import xlsxwriter  # on the first download: most processes never write a workbook

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
