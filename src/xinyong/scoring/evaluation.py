"""The reference evaluation: every subject, every scheme, one subject at a time, in plain Python.

It writes a new evaluation version beside the one being served and publishes it when every
subject is done; if it fails, the version is marked failed and the old one keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.policy import Pack
from xinyong.records.models import RecordEvent, Subject
from xinyong.scoring.facts import Score, SubjectFacts
from xinyong.scoring.kinds import rates, score
from xinyong.scoring.packs import EvaluatedScheme, evaluated_schemes, policies_of
from xinyong.scoring.store import (
    StoredSubjects,
    current_evaluation,
    publish_scores,
    read_subjects,
)

ENGINE = "reference"


def subject_scores(
    stored: StoredSubjects, subject_id: int, schemes: Sequence[EvaluatedScheme], as_of: date
) -> Iterator[tuple[int, str, str, Score]]:
    """The subject's score under every scheme that rates subjects of its kind."""
    by_pack: dict[str, SubjectFacts] = {}
    for evaluated in schemes:
        digest = evaluated.pack.digest
        if digest not in by_pack:
            by_pack[digest] = stored.facts(evaluated.pack, subject_id)
        facts = by_pack[digest]
        if rates(evaluated.scheme, facts):
            yield (
                subject_id,
                evaluated.scheme.code,
                evaluated.version,
                score(evaluated.scheme, facts, as_of),
            )


def evaluate_reference(
    factory: sessionmaker[Session],
    packs: Sequence[Pack],
    as_of: date,
    progress: Callable[[int], None] | None = None,
    *,
    batch: int = 2_000,
) -> int:
    """Score every subject under every scheme of ``packs`` on ``as_of``; publish; return the
    evaluation id. ``progress`` is called with the number of subjects done in each batch."""
    schemes = evaluated_schemes(packs)
    policies, digest = policies_of(packs)
    with factory() as session:
        ids = list(session.scalars(select(Subject.id).order_by(Subject.id)))

    def batches() -> Iterator[list[tuple[int, str, str, Score]]]:
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            with factory() as session:
                stored = read_subjects(session.connection(), part)
            yield [
                row
                for subject_id in part
                for row in subject_scores(stored, subject_id, schemes, as_of)
            ]
            # Resumed once the batch is written.
            if progress is not None:
                progress(len(part))

    return publish_scores(
        factory,
        engine=ENGINE,
        as_of=as_of,
        policies=policies,
        policy_digest=digest,
        batches=batches(),
    )


def evaluate_if_stale(
    factory: sessionmaker[Session], packs: Sequence[Pack], as_of: date
) -> tuple[int, bool]:
    """The current evaluation if it scored ``as_of`` under ``packs`` after the last record
    event (submitted, corrected, withdrawn, repaired ...); otherwise a new one. Returns its id
    and whether it is new."""
    policies, _ = policies_of(packs)
    with factory() as session:
        current = current_evaluation(session)
        newest = session.scalar(select(func.max(RecordEvent.occurred_at)))
    if current is not None and current.as_of == as_of and current.policies == policies:
        started = current.started_at
        if newest is None or newest < started:
            return current.id, False
    return evaluate_reference(factory, packs, as_of), True
