"""A batch evaluation: read the facts, run the plan on an engine, publish entries and scores.

1. DuckDB reads the facts from the store (``facts``).
2. The engine runs the entries plan; the entries and the measures index are published in one
   transaction (``publish.publish_entries``).
3. The engine runs the score plan of every points and tiers scheme over the facts and the
   published entries; scores are written as a new evaluation version and switched on at the
   end (``scoring.store.publish_scores``). Scorecard schemes, whose points come from a trained
   model, are scored by their reference kind in the same version.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.refresh import RefreshSummary
from xinyong.evaluate.engines import get_engine
from xinyong.evaluate.entries import entries_plan
from xinyong.evaluate.facts import attach_store, connect, facts_spec, read_entries, read_facts
from xinyong.evaluate.publish import publish_entries, scores_from_arrow
from xinyong.evaluate.scores import CONTRIBUTION_ORDER, Inputs, score_plan
from xinyong.policy import Pack
from xinyong.policy.schemes import PointsScheme, ScorecardScheme, TiersScheme
from xinyong.scoring.evaluation import subject_scores
from xinyong.scoring.facts import Score
from xinyong.scoring.packs import EvaluatedScheme, evaluated_schemes, policies_of
from xinyong.scoring.store import publish_scores, read_subjects
from xinyong.store.bulk import chunked

Step = Callable[[str, int | None], Callable[[int], None]]
"""Starts a progress step (description, total) and returns what advances it."""


@dataclass
class BatchSummary:
    engine: str
    subjects: int = 0
    records: int = 0
    entries: RefreshSummary = field(default_factory=RefreshSummary)
    evaluation_id: int | None = None
    scores: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _quiet(description: str, total: int | None) -> Callable[[int], None]:
    return lambda done: None


def evaluate_batch(
    factory: sessionmaker[Session],
    url: str,
    pack: Pack,
    scheme_packs: Sequence[Pack],
    as_of: date,
    *,
    engine: str = "duckdb",
    engine_options: dict[str, Any] | None = None,
    step: Step = _quiet,
) -> BatchSummary:
    """Evaluate every subject of the store at ``url`` on ``engine`` and publish the result."""
    schemes = evaluated_schemes(scheme_packs)
    spec = facts_spec(
        pack,
        (
            condition
            for evaluated in schemes
            for _, condition in evaluated.scheme.record_conditions()
        ),
    )
    summary = BatchSummary(engine)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.seconds[name] = round(now - clock, 3)
        clock = now

    reader = connect()
    attach_store(reader, url)
    step("reading facts", None)
    snapshot = read_facts(reader, spec)
    summary.subjects, summary.records = snapshot.subjects.num_rows, snapshot.records.num_rows
    lap("read")
    with get_engine(engine, **(engine_options or {})) as runner:
        records = runner.table("records", snapshot.records)
        subjects = runner.table("subjects", snapshot.subjects)
        step("deriving entries", None)
        plan = entries_plan(pack, records, spec, runner)
        entries = runner.to_arrow(plan) if plan is not None else _no_entries()
        lap("entries")
        summary.entries = publish_entries(
            factory,
            pack,
            entries,
            snapshot,
            today=as_of,
            progress=step("publishing entries", summary.subjects),
        )
        lap("publish_entries")
        stored = runner.table("entries", read_entries(reader))
        inputs = Inputs(records, subjects, stored, spec, as_of, runner)
        policies, digest = policies_of(scheme_packs)
        advance = step("scoring", len(schemes))

        def batches() -> Iterator[list[tuple[int, str, str, Score]]]:
            for number, evaluated in enumerate(schemes):
                yield from _scheme_batches(
                    factory, runner, number, evaluated, inputs, snapshot.subjects
                )
                advance(1)

        summary.evaluation_id = publish_scores(
            factory,
            engine=engine,
            as_of=as_of,
            policies=policies,
            policy_digest=digest,
            batches=batches(),
            progress=lambda written: _count(summary, written),
        )
        lap("scores")
    reader.close()
    return summary


def _count(summary: BatchSummary, written: int) -> None:
    summary.scores += written


def _scheme_batches(
    factory: sessionmaker[Session],
    runner: Any,
    number: int,
    evaluated: EvaluatedScheme,
    inputs: Inputs,
    subjects: pa.Table,
    size: int = 50_000,
) -> Iterator[list[tuple[int, str, str, Score]]]:
    scheme = evaluated.scheme
    if isinstance(scheme, PointsScheme | TiersScheme):
        plan = score_plan(evaluated.pack, scheme, inputs)
        contributions = runner.to_arrow(plan.contributions.order_by(list(CONTRIBUTION_ORDER)))
        # Named by the scheme's place in the run, so that a second run's plan is the same.
        kept = runner.table(f"contributions_{number}", contributions)
        scores = runner.to_arrow(plan.scores_of(kept))
        rows = list(scores_from_arrow(scheme.code, evaluated.version, scores, contributions))
        for start in range(0, len(rows), size):
            yield rows[start : start + size]
        return
    assert isinstance(scheme, ScorecardScheme)
    ids = subjects.column("subject_id").to_pylist()
    for part in chunked(ids, 2_000):
        with factory() as session:
            stored = read_subjects(session.connection(), part)
        yield [
            row
            for subject_id in part
            for row in subject_scores(stored, subject_id, [evaluated], inputs.day)
        ]


def _no_entries() -> pa.Table:
    return pa.table(
        {
            "subject_id": pa.array([], pa.int64()),
            "list_code": pa.array([], pa.string()),
            "list_rank": pa.array([], pa.int64()),
            "document_key": pa.array([], pa.string()),
            "record_id": pa.array([], pa.int64()),
            "started_on": pa.array([], pa.date32()),
            "period_ends_on": pa.array([], pa.date32()),
            "ended_on": pa.array([], pa.date32()),
            "end_reason": pa.array([], pa.string()),
            "ended_by_record_id": pa.array([], pa.int64()),
        }
    )
