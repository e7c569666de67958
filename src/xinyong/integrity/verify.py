"""Recompute, from the logged records, everything the service derives from them and serves.

The ledger proves the record events; this proves what decisions and public pages read besides:
record heads, subjects (names, kinds, confirmation), legal representatives, list entries, the
measures index and its counter, and the published search index. Each is recomputed by the code
that derived it in the first place and compared with the stored copy; every difference names
its subject, the row, the value stored and the value recomputed.

Store-wide facts (record events, heads, the index counter, appointments of representatives)
are set-wise queries; everything per subject is recomputed a range of subject ids at a time,
each table read by that id range, so the work is a fixed number of queries per chunk whatever
the store's size, and rows that belong to no subject fall inside some range too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.integrity.enforcement import (
    CorrectedEntry,
    check_corrected_entries,
    check_entries,
    check_index,
    check_index_state,
)
from xinyong.integrity.records import check_record_events, check_record_heads
from xinyong.integrity.report import DerivedReport, Difference, Findings
from xinyong.integrity.search import check_search_index
from xinyong.integrity.subjects import (
    Namings,
    check_representatives,
    check_subjects,
    check_unknown_people,
    load_namings,
)
from xinyong.policy import Pack
from xinyong.records.models import Subject

CHUNK = 5_000
"""Subjects recomputed together: bounds memory, and amortises each query over many subjects."""


class Progress(Protocol):
    def phase(self, description: str, total: int) -> None:
        """A new phase of ``total`` steps begins."""

    def advance(self, steps: int) -> None:
        """``steps`` more of the current phase are done."""


class _Silent:
    def phase(self, description: str, total: int) -> None:
        pass

    def advance(self, steps: int) -> None:
        pass


UNREADABLE = (ValueError, TypeError, KeyError, ArithmeticError)
"""What reading a value no writer of the service stores raises (text in a date column of
SQLite, a status the code does not know): the check of that part is reported, not crashed."""


def _range(low: int | None, high: int | None) -> str:
    """How a report names the subjects with ids in (low, high]."""
    after = "" if low is None else f" after #{low}"
    upto = "" if high is None else f" up to #{high}"
    return f"subjects{after}{upto}" if after or upto else "every subject"


@contextmanager
def _readable(findings: Findings, area: str, where: str) -> Iterator[None]:
    try:
        yield
    except UNREADABLE as error:
        findings.add(
            Difference(
                area, None, where, "unreadable", f"{type(error).__name__}: {error}",
                "values of the columns' types", "a value no writer of the service stores",
            )
        )  # fmt: skip


def verify_derived(
    session: Session,
    pack: Pack,
    *,
    search_root: Path | None = None,
    progress: Progress | None = None,
    limit: int = 100,
    chunk: int = CHUNK,
) -> DerivedReport:
    """Recompute the derived state of the store in ``session`` under ``pack``.

    ``search_root`` is the folder of the published search index (``<var>/search``); None skips
    it. The report keeps the first ``limit`` differences and counts them all.
    """
    steps = progress or _Silent()
    connection = session.connection()
    findings = Findings(limit)
    steps.phase("record events and heads", 3)
    with _readable(findings, "record_events", "every record event"):
        check_record_events(connection, findings)
    steps.advance(1)
    with _readable(findings, "record_heads", "every record head"):
        check_record_heads(connection, findings)
    steps.advance(1)
    seq: int | None = None
    with _readable(findings, "measure_index_state", "the index counter"):
        seq = check_index_state(connection, pack, findings)
    namings = Namings()
    with _readable(findings, "legal_representatives", "every appointment"):
        namings = load_namings(connection, pack)
        check_unknown_people(connection, namings, findings)
    steps.advance(1)
    steps.phase("subjects, entries, index", session.scalar(select(func.count(Subject.id))) or 0)
    corrected: list[CorrectedEntry] = []
    low: int | None = None
    while True:
        subjects = session.execute(
            select(Subject.id, Subject.identifier)
            .where(Subject.id > low if low is not None else Subject.id.isnot(None))
            .order_by(Subject.id)
            .limit(chunk)
        ).all()
        # The last range is open above: rows of ids beyond every subject are checked too.
        high = subjects[-1].id if len(subjects) == chunk else None
        ids = [subject.id for subject in subjects]
        identifiers = {subject.id: subject.identifier for subject in subjects}
        where = _range(low, high)
        with _readable(findings, "subjects", where):
            check_subjects(connection, pack, ids, namings, findings)
        with _readable(findings, "legal_representatives", where):
            check_representatives(connection, low, high, namings, identifiers, findings)
        with _readable(findings, "entries", where):
            corrected += check_entries(connection, pack, ids, low, high, identifiers, findings)
        with _readable(findings, "measure_index", where):
            check_index(connection, pack, ids, low, high, seq, findings)
        steps.advance(len(subjects))
        if high is None:
            break
        low = high
    with _readable(findings, "entries", "entries ended by a correction"):
        check_corrected_entries(connection, corrected, findings)
    if search_root is not None:
        steps.phase("search index", 1)
        with _readable(findings, "search_index", str(search_root)):
            check_search_index(session, pack, search_root, findings)
        steps.advance(1)
    return findings.report()
