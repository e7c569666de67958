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

from pathlib import Path
from typing import Any, Protocol

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
from xinyong.integrity.report import DerivedReport, Findings
from xinyong.integrity.search import check_search_index
from xinyong.integrity.subjects import (
    check_representatives,
    check_subjects,
    check_unknown_people,
    load_namings,
)
from xinyong.policy import Pack
from xinyong.store.models import Subject

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


SUBJECT_COLUMNS = (
    Subject.id,
    Subject.identifier,
    Subject.kind,
    Subject.name,
    Subject.region,
    Subject.org_type,
    Subject.birth_date,
    Subject.sex,
    Subject.confirmed,
    Subject.suspect_identifier,
)


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
    check_record_events(connection, findings)
    steps.advance(1)
    check_record_heads(connection, findings)
    steps.advance(1)
    seq = check_index_state(connection, pack, findings)
    namings = load_namings(connection, pack)
    check_unknown_people(connection, namings, findings)
    steps.advance(1)
    steps.phase("subjects, entries, index", session.scalar(select(func.count(Subject.id))) or 0)
    corrected: list[CorrectedEntry] = []
    low: int | None = None
    while True:
        subjects: list[Any] = list(
            session.execute(
                select(*SUBJECT_COLUMNS)
                .where(Subject.id > low if low is not None else Subject.id.isnot(None))
                .order_by(Subject.id)
                .limit(chunk)
            )
        )
        # The last range is open above: rows of ids beyond every subject are checked too.
        high = subjects[-1].id if len(subjects) == chunk else None
        ids = [subject.id for subject in subjects]
        identifiers = {subject.id: subject.identifier for subject in subjects}
        check_subjects(connection, pack, subjects, namings, findings)
        check_representatives(connection, low, high, namings, identifiers, findings)
        corrected += check_entries(connection, pack, ids, low, high, identifiers, findings)
        check_index(connection, pack, ids, low, high, seq, findings)
        steps.advance(len(subjects))
        if high is None:
            break
        low = high
    check_corrected_entries(connection, corrected, findings)
    if search_root is not None:
        steps.phase("search index", 1)
        check_search_index(session, pack, search_root, findings)
        steps.advance(1)
    return findings.report()
