"""The steps of an evaluation, without the command line: recompute on an engine, then sum up
what is published (``xinyong evaluate`` parses its options, calls these and prints)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.models import EntryRow, MeasureIndexRow
from xinyong.enforcement.refresh import rebuild_all
from xinyong.evaluate.batch import BatchSummary, Step, evaluate_batch
from xinyong.policy import Pack
from xinyong.records.models import RecordHead, Subject
from xinyong.scoring.evaluation import evaluate_reference
from xinyong.scoring.store import grade_counts

REFERENCE = "reference"
"""The engine that runs the plain-Python specification, one subject at a time."""


def evaluate_store(
    factory: sessionmaker[Session],
    url: str,
    pack: Pack,
    scheme_packs: list[Pack],
    day: date,
    *,
    engine: str,
    engine_options: dict[str, Any],
    step: Step,
) -> BatchSummary:
    """Recompute every entry, the measures index and every score on ``engine``, and publish."""
    if engine == REFERENCE:
        return _reference(factory, pack, scheme_packs, day, step)
    return evaluate_batch(
        factory,
        url,
        pack,
        scheme_packs,
        day,
        engine=engine,
        engine_options=engine_options,
        step=step,
    )


def evaluation_result(
    factory: sessionmaker[Session],
    pack: Pack,
    day: date,
    summary: BatchSummary,
    *,
    skipped: list[str],
    search_subjects: int,
    seconds: float,
) -> dict[str, Any]:
    """What an evaluation did and what the store now holds, as ``xinyong evaluate --json``
    prints it."""
    assert summary.evaluation_id is not None
    with factory() as session:
        active: dict[str, int] = {
            code: count
            for code, count in session.execute(
                select(EntryRow.list_code, func.count())
                .where(EntryRow.started_on <= day, EntryRow.ended_on > day)
                .group_by(EntryRow.list_code)
            )
        }
        indexed = session.scalar(select(func.count()).select_from(MeasureIndexRow)) or 0
        grades = grade_counts(session, summary.evaluation_id)
    return {
        "engine": summary.engine,
        "as_of": day.isoformat(),
        "policy_version": pack.policy_version,
        "subjects": summary.subjects,
        "records_read": summary.records,
        "entries_started": summary.entries.started,
        "entries_changed": summary.entries.changed,
        "entries_ended": summary.entries.ended,
        "index_rows_written": summary.entries.index_rows,
        "index_rows": indexed,
        "active_entries": {code: active.get(code, 0) for code in pack.lists},
        "evaluation": summary.evaluation_id,
        "scores": summary.scores,
        "grades": grades,
        "schemes_skipped": skipped,
        "search_index_subjects": search_subjects,
        "phases": summary.seconds,
        "seconds": round(seconds, 3),
    }


def _reference(
    factory: sessionmaker[Session],
    pack: Pack,
    scheme_packs: list[Pack],
    day: date,
    step: Step,
) -> BatchSummary:
    """The plain-Python specification: every subject's entries, then every score."""
    summary = BatchSummary(REFERENCE)
    with factory() as session:
        subjects = session.scalar(select(func.count()).select_from(Subject)) or 0
        summary.records = session.scalar(select(func.count()).select_from(RecordHead)) or 0
    clock = time.perf_counter()
    summary.entries = rebuild_all(factory, pack, progress=step("evaluating subjects", subjects))
    summary.subjects = summary.entries.subjects
    summary.seconds["entries"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    summary.evaluation_id = evaluate_reference(
        factory, scheme_packs, day, step("scoring subjects", subjects)
    )
    summary.seconds["scores"] = round(time.perf_counter() - clock, 3)
    with factory() as session:
        grades = grade_counts(session, summary.evaluation_id)
    summary.scores = sum(n for counts in grades.values() for n in counts.values())
    return summary
