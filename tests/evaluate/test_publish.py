"""A batch evaluation of a synthetic city leaves the store as the reference does, and a
failure part-way leaves the previous version serving."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.models import EntryRow, MeasureIndexRow
from xinyong.enforcement.refresh import rebuild_all
from xinyong.evaluate.batch import evaluate_batch
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack, load_shipped
from xinyong.scoring.evaluation import evaluate_reference
from xinyong.scoring.models import ContributionRow, ScoreRow
from xinyong.scoring.packs import resolve_packs
from xinyong.scoring.store import current_evaluation
from xinyong.synth import generate

AS_OF = date(2026, 11, 1)
NATIONAL = load_shipped("national")
SCHEME_PACKS: list[Pack] = resolve_packs(["national", "city-pilot", "enterprise"])[0]
CITY_PACKS: list[Pack] = resolve_packs(["city-pilot"])[0]


class Crash(Exception):
    """Raised from a progress step to stop an evaluation part-way."""


@pytest.fixture
def city(factory: sessionmaker[Session], tmp_path: Path) -> sessionmaker[Session]:
    """A store holding a small synthetic city, ingested as the demo does."""
    folder = tmp_path / "city"
    generate(folder, persons=200, orgs=20, seed=7, fmt="jsonl", as_of=AS_OF)
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    job = IngestJob(factory, NATIONAL, today=AS_OF)
    for name in manifest["ingest_order"]:
        path = folder / name
        digest, _ = scan_file(path)
        job.run_file(path, digest=digest, report_dir=tmp_path / "reports")
    return factory


def published(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Entries, index and current scores, with entry ids replaced by what they name."""
    with factory() as session:
        entries = session.scalars(select(EntryRow)).all()
        names = {entry.id: (entry.list_code, entry.document_key) for entry in entries}
        index = {
            row.identifier: [[*grant[:3], names[grant[3]], *grant[4:]] for grant in row.grants]
            for row in session.scalars(select(MeasureIndexRow))
        }
        evaluation = current_evaluation(session)
        assert evaluation is not None
        scores = sorted(
            session.execute(
                select(ScoreRow.subject_id, ScoreRow.scheme, ScoreRow.value, ScoreRow.grade).where(
                    ScoreRow.evaluation_id == evaluation.id
                )
            ).all()
        )
        contributions = sorted(
            session.execute(
                select(
                    ContributionRow.subject_id,
                    ContributionRow.scheme,
                    ContributionRow.record_id,
                    ContributionRow.rule,
                    ContributionRow.points,
                    ContributionRow.window_start,
                    ContributionRow.window_end,
                ).where(ContributionRow.evaluation_id == evaluation.id)
            ).all(),
            key=repr,
        )
        return {
            "evaluation": evaluation.id,
            "entries": sorted(
                (
                    entry.list_code,
                    entry.document_key,
                    entry.subject_id,
                    entry.record_id,
                    entry.started_on,
                    entry.period_ends_on,
                    entry.ended_on,
                    entry.end_reason,
                    entry.ended_by_record_id,
                )
                for entry in entries
            ),
            "index": index,
            "scores": scores,
            "contributions": contributions,
        }


def forget_entries(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        session.execute(delete(MeasureIndexRow))
        session.execute(delete(EntryRow))


def crash_at(description: str) -> Callable[[str, int | None], Callable[[int], None]]:
    def step(name: str, total: int | None) -> Callable[[int], None]:
        def advance(done: int) -> None:
            if name == description:
                raise Crash(name)

        return advance

    return step


def test_duckdb_publishes_what_the_reference_does(
    city: sessionmaker[Session], store_url: str
) -> None:
    rebuild_all(city, NATIONAL)
    evaluate_reference(city, SCHEME_PACKS, AS_OF)
    reference = published(city)
    assert reference["entries"] and reference["index"] and reference["contributions"]
    forget_entries(city)
    summary = evaluate_batch(city, store_url, NATIONAL, SCHEME_PACKS, AS_OF)
    assert summary.entries.started == len(reference["entries"])
    batch = published(city)
    assert batch["evaluation"] != reference["evaluation"]
    for part in ("entries", "index", "scores", "contributions"):
        assert batch[part] == reference[part], part


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_crash_part_way_leaves_the_old_version_serving(
    city: sessionmaker[Session], store_url: str
) -> None:
    evaluate_batch(city, store_url, NATIONAL, CITY_PACKS, AS_OF)
    first = published(city)

    forget_entries(city)
    with pytest.raises(Crash):
        evaluate_batch(
            city, store_url, NATIONAL, CITY_PACKS, AS_OF, step=crash_at("publishing entries")
        )
    with city() as session:
        # The failed transaction wrote nothing: still the state it started from.
        assert session.scalars(select(EntryRow)).first() is None
        evaluation = current_evaluation(session)
        assert evaluation is not None and evaluation.id == first["evaluation"]

    with pytest.raises(Crash):
        evaluate_batch(city, store_url, NATIONAL, CITY_PACKS, AS_OF, step=crash_at("scoring"))
    with city() as session:
        evaluation = current_evaluation(session)
        assert evaluation is not None and evaluation.id == first["evaluation"]

    summary = evaluate_batch(city, store_url, NATIONAL, CITY_PACKS, AS_OF)
    again = published(city)
    assert again["evaluation"] == summary.evaluation_id != first["evaluation"]
    for part in ("entries", "index", "scores", "contributions"):
        assert again[part] == first[part], part
