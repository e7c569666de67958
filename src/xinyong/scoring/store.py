"""Reading subjects' facts from the store, and writing evaluation versions into it.

An evaluation is started (``running``), filled batch by batch, and published by one update to
``complete`` (``publish_evaluation``); ``current_evaluation`` is what every reader uses.
Batch engines write through the same functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.enforcement.models import EntryRow
from xinyong.policy import Pack, SubjectKind
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.scoring.facts import Contribution, EntryFact, Score, SubjectFacts, record_fact
from xinyong.scoring.models import ContributionRow, Evaluation, ScoreRow
from xinyong.store.base import Base
from xinyong.store.bulk import BulkTable, among, chunked

SCORES = Base.metadata.tables[ScoreRow.__tablename__]
CONTRIBUTIONS = Base.metadata.tables[ContributionRow.__tablename__]

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"


@dataclass
class StoredSubjects:
    """The rows a batch of subjects' facts are built from, read once for every pack."""

    subjects: dict[int, tuple[str, SubjectKind]] = field(default_factory=dict)
    records: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    entries: dict[int, list[EntryFact]] = field(default_factory=lambda: defaultdict(list))

    def facts(self, pack: Pack, subject_id: int) -> SubjectFacts:
        """The subject's facts as the schemes of ``pack`` read them."""
        identifier, kind = self.subjects[subject_id]
        records = (
            record_fact(
                pack,
                record_id=row.id,
                document_no=row.document_no,
                record_type=row.record_type,
                severity=row.severity,
                amount=None if row.amount is None else float(row.amount),
                fields=row.fields,
                decided_on=row.decided_on,
                effective_on=row.effective_on,
                status=row.status,
            )
            for row in self.records.get(subject_id, ())
        )
        return SubjectFacts(
            subject_id,
            identifier,
            kind,
            tuple(record for record in records if record is not None),
            tuple(self.entries.get(subject_id, ())),
        )


def read_subjects(connection: Connection, ids: Sequence[int]) -> StoredSubjects:
    """The current record versions and the list entries of ``ids``."""
    stored = StoredSubjects()
    for chunk in chunked(ids):
        for subject_id, identifier, kind in connection.execute(
            select(Subject.id, Subject.identifier, Subject.kind).where(
                among(connection, Subject.id, chunk)
            )
        ):
            stored.subjects[subject_id] = (identifier, SubjectKind(kind))
        for row in connection.execute(
            select(
                Record.id,
                Record.subject_id,
                Record.document_no,
                Record.record_type,
                Record.severity,
                Record.amount,
                Record.fields,
                Record.decided_on,
                Record.effective_on,
                RecordHead.status,
            )
            .join(RecordHead, RecordHead.record_id == Record.id)
            .where(among(connection, RecordHead.subject_id, chunk))
            .order_by(Record.id)
        ):
            stored.records[row.subject_id].append(row)
        for row in connection.execute(
            select(
                EntryRow.subject_id,
                EntryRow.list_code,
                EntryRow.record_id,
                EntryRow.started_on,
                EntryRow.ended_on,
            )
            .where(among(connection, EntryRow.subject_id, chunk))
            .order_by(EntryRow.id)
        ):
            if row.ended_on > row.started_on:
                stored.entries[row.subject_id].append(
                    EntryFact(row.list_code, row.record_id, row.started_on, row.ended_on)
                )
    return stored


def subject_facts(session: Session, pack: Pack, subject_id: int) -> SubjectFacts:
    """One subject's facts as the schemes of ``pack`` read them."""
    return read_subjects(session.connection(), [subject_id]).facts(pack, subject_id)


def start_evaluation(
    session: Session, *, engine: str, as_of: date, policies: str, policy_digest: str
) -> int:
    """A new evaluation version, ``running`` until published."""
    evaluation = Evaluation(
        engine=engine,
        as_of=as_of,
        policies=policies,
        policy_digest=policy_digest,
        started_at=utc_now(),
        status=RUNNING,
    )
    session.add(evaluation)
    session.flush()
    return evaluation.id


def write_scores(
    connection: Connection,
    evaluation_id: int,
    scores: Iterable[tuple[int, str, str, Score]],
) -> int:
    """Write (subject id, scheme code, scheme version, score) rows in bulk; returns how many."""
    score_rows: list[dict[str, Any]] = []
    contribution_rows: list[dict[str, Any]] = []
    for subject_id, scheme, version, score in scores:
        score_rows.append(
            {
                "evaluation_id": evaluation_id,
                "subject_id": subject_id,
                "scheme": scheme,
                "scheme_version": version,
                "value": score.value,
                "grade": score.grade,
            }
        )
        contribution_rows.extend(
            {
                "evaluation_id": evaluation_id,
                "subject_id": subject_id,
                "scheme": scheme,
                "record_id": item.record_id,
                "rule": item.rule,
                "points": item.points,
                "window_start": item.window_start,
                "window_end": item.window_end,
            }
            for item in score.contributions
        )
    BulkTable(connection, SCORES).insert(score_rows)
    BulkTable(connection, CONTRIBUTIONS, omit=("id",)).insert(contribution_rows)
    return len(score_rows)


def publish_evaluation(session: Session, evaluation_id: int, *, keep: int = 2) -> None:
    """Make ``evaluation_id`` the current evaluation (one update), then drop all but the
    ``keep`` newest complete versions older than it, and older unfinished runs."""
    session.execute(
        update(Evaluation)
        .where(Evaluation.id == evaluation_id)
        .values(status=COMPLETE, completed_at=utc_now())
    )
    kept = list(
        session.scalars(
            select(Evaluation.id)
            .where(Evaluation.status == COMPLETE, Evaluation.id <= evaluation_id)
            .order_by(Evaluation.id.desc())
            .limit(keep)
        )
    )
    stale = list(
        session.scalars(
            select(Evaluation.id).where(Evaluation.id < evaluation_id, Evaluation.id.not_in(kept))
        )
    )
    if stale:
        session.execute(delete(ContributionRow).where(ContributionRow.evaluation_id.in_(stale)))
        session.execute(delete(ScoreRow).where(ScoreRow.evaluation_id.in_(stale)))
        session.execute(delete(Evaluation).where(Evaluation.id.in_(stale)))


def fail_evaluation(session: Session, evaluation_id: int) -> None:
    session.execute(
        update(Evaluation)
        .where(Evaluation.id == evaluation_id)
        .values(status=FAILED, completed_at=utc_now())
    )


def current_evaluation(session: Session) -> Evaluation | None:
    """The newest complete evaluation: the one every reader uses."""
    return session.scalars(
        select(Evaluation)
        .where(Evaluation.status == COMPLETE)
        .order_by(Evaluation.completed_at.desc(), Evaluation.id.desc())
        .limit(1)
    ).first()


def stored_score(
    session: Session, evaluation_id: int, subject_id: int, scheme: str
) -> Score | None:
    """A score as an evaluation stored it, with its contributions."""
    row = session.get(ScoreRow, (evaluation_id, subject_id, scheme))
    if row is None:
        return None
    contributions = session.scalars(
        select(ContributionRow)
        .where(
            ContributionRow.evaluation_id == evaluation_id,
            ContributionRow.subject_id == subject_id,
            ContributionRow.scheme == scheme,
        )
        .order_by(ContributionRow.id)
    )
    return Score(
        row.value,
        row.grade,
        tuple(
            Contribution(item.record_id, item.rule, item.points, item.window_start, item.window_end)
            for item in contributions
        ),
    )


def grade_counts(session: Session, evaluation_id: int) -> dict[str, dict[str, int]]:
    """How many subjects have each grade, by scheme, in one evaluation."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for scheme, grade, count in session.execute(
        select(ScoreRow.scheme, ScoreRow.grade, func.count())
        .where(ScoreRow.evaluation_id == evaluation_id)
        .group_by(ScoreRow.scheme, ScoreRow.grade)
        .order_by(ScoreRow.scheme, ScoreRow.grade)
    ):
        counts[scheme][grade] = count
    return dict(counts)


def publish_scores(
    factory: sessionmaker[Session],
    *,
    engine: str,
    as_of: date,
    policies: str,
    policy_digest: str,
    batches: Iterable[Iterable[tuple[int, str, str, Score]]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write scores as a new evaluation version and switch to it once all are in.

    Each batch of scores is committed as it comes (the version stays ``running`` and
    unseen); any failure marks the version failed and the previous one keeps serving.
    """
    with factory.begin() as session:
        evaluation_id = start_evaluation(
            session, engine=engine, as_of=as_of, policies=policies, policy_digest=policy_digest
        )
    try:
        for batch in batches:
            with factory.begin() as session:
                written = write_scores(session.connection(), evaluation_id, batch)
            if progress is not None:
                progress(written)
        with factory.begin() as session:
            publish_evaluation(session, evaluation_id)
    except BaseException:
        with factory.begin() as session:
            fail_evaluation(session, evaluation_id)
        raise
    return evaluation_id
