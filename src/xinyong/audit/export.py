"""The auditor's export: staff reads (the access log) and relying parties' checks (the check
log) over a period, merged in time order, as JSON Lines or CSV.

Days are China's calendar days (UTC+8), like every other date the platform shows.

A CSV export is opened in spreadsheets, and a purpose or a label is text a relying party or a
member of staff typed: a cell that a spreadsheet would read as a formula (``=cmd|' /C calc'!A0``)
is written with a leading apostrophe, as OWASP recommends for CSV injection.
"""

import csv
import heapq
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.audit.models import AccessLogRow
from xinyong.clock import china_midnight
from xinyong.enforcement.models import CheckLogRow
from xinyong.records.models import Subject

COLUMNS = (
    "kind",
    "at",
    "subject",
    "who",
    "who_label",
    "role",
    "authority",
    "purpose",
    "what",
    "reference",
    "ledger_leaf",
)
BATCH = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes as the start of a formula; full-width forms (＝＋－＠) fold to these."""


def period(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants [start, end) covering China's days ``first`` to ``last`` inclusive."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    return china_midnight(first), china_midnight(last + timedelta(days=1))


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive UTC, PostgreSQL aware.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _staff_reads(session: Session, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    rows = session.execute(
        select(AccessLogRow, Subject.identifier)
        .join(Subject, Subject.id == AccessLogRow.subject_id)
        .where(AccessLogRow.accessed_at >= start, AccessLogRow.accessed_at < end)
        .order_by(AccessLogRow.accessed_at, AccessLogRow.id)
        .execution_options(yield_per=BATCH)
    )
    for row, identifier in rows:
        yield {
            "kind": "staff_read",
            "at": _utc(row.accessed_at),
            "subject": identifier,
            "who": row.username,
            "who_label": row.username,
            "role": row.role,
            "authority": row.authority_code,
            "purpose": row.purpose,
            "what": row.what,
            "reference": row.ref,
            "ledger_leaf": row.ledger_leaf,
        }


def _checks(session: Session, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    rows = session.scalars(
        select(CheckLogRow)
        .where(CheckLogRow.checked_at >= start, CheckLogRow.checked_at < end)
        .order_by(CheckLogRow.checked_at, CheckLogRow.id)
        .execution_options(yield_per=BATCH)
    )
    for row in rows:
        yield {
            "kind": "check",
            "at": _utc(row.checked_at),
            "subject": row.subject,
            "who": row.relying_party,
            "who_label": row.relying_party_label,
            "role": "relying_party",
            "authority": None,
            "purpose": row.purpose,
            "what": f"check {row.action}: {row.effect}",
            "reference": row.decision_id,
            "ledger_leaf": None,
        }


def count_accesses(session: Session, start: datetime, end: datetime) -> int:
    reads = session.scalar(
        select(func.count())
        .select_from(AccessLogRow)
        .where(AccessLogRow.accessed_at >= start, AccessLogRow.accessed_at < end)
    )
    checks = session.scalar(
        select(func.count())
        .select_from(CheckLogRow)
        .where(CheckLogRow.checked_at >= start, CheckLogRow.checked_at < end)
    )
    return (reads or 0) + (checks or 0)


def accesses(session: Session, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """Every staff read and check in [start, end), oldest first."""
    return heapq.merge(
        _staff_reads(session, start, end), _checks(session, start, end), key=lambda a: a["at"]
    )


def write_jsonl(out: IO[bytes], access: dict[str, Any]) -> None:
    out.write(orjson.dumps(access) + b"\n")


def spreadsheet_text(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet runs: text that starts like a formula gets a
    leading apostrophe; numbers and empty cells are kept as they are."""
    if (
        isinstance(value, str)
        and value
        and unicodedata.normalize("NFKC", value[0]).startswith(FORMULA_STARTS)
    ):
        return "'" + value
    return value


class CsvSink:
    """CSV rows under a header of ``COLUMNS``, every text cell safe to open in a spreadsheet."""

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.DictWriter(out, COLUMNS)
        self.writer.writeheader()

    def write(self, access: dict[str, Any]) -> None:
        row = {**access, "at": access["at"].isoformat()}
        self.writer.writerow({column: spreadsheet_text(row[column]) for column in COLUMNS})
