"""The reference evaluation on both stores: versions, the atomic switch, explanations, the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack, load_shipped
from xinyong.records.models import RecordHead, Subject
from xinyong.scoring.evaluation import evaluate_if_stale, evaluate_reference
from xinyong.scoring.explain import NotRated, explain
from xinyong.scoring.models import ContributionRow, Evaluation, ScoreRow
from xinyong.scoring.store import current_evaluation, stored_score
from xinyong.testing import samples
from xinyong.testing.ingest import ingest
from xinyong.testing.store import migrated_store

DAY = date(2026, 11, 1)
PERSON, COMPANY = samples.person(1), samples.organisation(1)


ROWS = [
    samples.defaulter_listing(PERSON, 1, decided_on="2026-03-01", effective_on="2026-03-05"),
    samples.blood_donation(PERSON, 1),
    samples.volunteer_service(PERSON, 1, "2026-02-01"),
    samples.volunteer_service(PERSON, 2, "2026-04-01"),
    samples.registration(
        COMPANY, samples.person(2), 1, decided_on="2026-05-01", effective_on="2026-05-01"
    ),
]


@pytest.fixture
def packs() -> list[Pack]:
    return [load_shipped(name) for name in ("national", "city-pilot", "enterprise")]


@pytest.fixture
def city(factory: sessionmaker[Session], tmp_path: Path) -> sessionmaker[Session]:
    assert ingest(factory, load_shipped(), tmp_path, ROWS).rejected == 0
    return factory


def scores(factory: sessionmaker[Session], evaluation_id: int) -> dict[tuple[str, str], Any]:
    with factory() as session:
        return {
            (identifier, scheme): (value, grade)
            for identifier, scheme, value, grade in session.execute(
                select(Subject.identifier, ScoreRow.scheme, ScoreRow.value, ScoreRow.grade)
                .join(Subject, Subject.id == ScoreRow.subject_id)
                .where(ScoreRow.evaluation_id == evaluation_id)
            )
        }


def test_evaluation_stores_every_score_with_its_contributions(
    city: sessionmaker[Session], packs: list[Pack]
) -> None:
    evaluation_id = evaluate_reference(city, packs, DAY, batch=1)
    assert scores(city, evaluation_id) == {
        (PERSON, "city.points"): (1000 + 10 + 10 + 10 - 150, "B"),
        (PERSON, "city.rating"): (None, "bad"),
        (samples.person(2), "city.points"): (1000, "A"),
        (samples.person(2), "city.rating"): (None, "good"),
        (COMPANY, "enterprise.supervision"): (None, "A"),
        (COMPANY, "enterprise.tax"): (100, "M"),
    }
    with city() as session:
        current = current_evaluation(session)
        assert current is not None and (current.id, current.status) == (evaluation_id, "complete")
        assert current.as_of == DAY and "city-pilot@" in current.policies
        person_id = session.scalars(select(Subject.id).where(Subject.identifier == PERSON)).one()
        stored = stored_score(session, evaluation_id, person_id, "city.points")
        explained = explain(session, PERSON, "city.points", packs=packs)
    assert stored is not None
    assert explained.score == stored
    assert explained.published is not None and explained.published.score == stored
    assert sorted(item.rule for item in stored.contributions) == [
        "blood_donation",
        "court_defaulter",
        "volunteer_service",
        "volunteer_service",
    ]


def test_a_failed_run_leaves_the_published_version_serving(
    city: sessionmaker[Session], packs: list[Pack]
) -> None:
    first = evaluate_reference(city, packs, DAY)
    seen: list[int | None] = []

    def crash(done: int) -> None:
        with city() as session:
            current = current_evaluation(session)
            seen.append(current.id if current else None)
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        evaluate_reference(city, packs, date(2027, 11, 1), crash, batch=1)
    with city() as session:
        current = current_evaluation(session)
        statuses = {
            row.id: row.status for row in session.execute(select(Evaluation.id, Evaluation.status))
        }
    assert seen == [first]
    assert current is not None and current.id == first
    assert sorted(statuses.values()) == ["complete", "failed"]
    assert scores(city, first)[(PERSON, "city.points")] == (880, "B")


def test_publishing_keeps_two_versions(city: sessionmaker[Session], packs: list[Pack]) -> None:
    ids = [
        evaluate_reference(city, packs, day) for day in (DAY, date(2027, 3, 10), date(2029, 12, 1))
    ]
    with city() as session:
        kept = sorted(session.scalars(select(Evaluation.id)))
        rows = session.scalar(
            select(func.count())
            .select_from(ContributionRow)
            .where(ContributionRow.evaluation_id == ids[0])
        )
    assert kept == ids[1:]
    assert rows == 0
    # In 2029 every window of the person has closed.
    assert scores(city, ids[2])[(PERSON, "city.points")] == (1000, "A")


def test_explanation_timeline_names_the_days_records_leave(
    city: sessionmaker[Session], packs: list[Pack]
) -> None:
    with city() as session:
        explanation = explain(session, PERSON, "city.points", as_of=DAY, packs=packs)
        with pytest.raises(NotRated, match="rates person only"):
            explain(session, COMPANY, "city.points", as_of=DAY, packs=packs)
        with pytest.raises(LookupError, match=r"no scheme 'city\.nothing'"):
            explain(session, PERSON, "city.nothing", as_of=DAY, packs=packs)
    assert explanation.published is None
    steps = [
        (step.day, step.value, step.grade, [c.rule for c in step.leaving])
        for step in explanation.timeline
    ]
    assert steps == [
        (date(2027, 2, 1), 870, "B", ["volunteer_service"]),
        (date(2027, 4, 1), 860, "B", ["volunteer_service"]),
        (date(2027, 6, 1), 850, "B", ["blood_donation"]),
        (date(2029, 3, 5), 1000, "A", ["court_defaulter"]),
    ]
    documents = {item["document_no"] for item in explanation.as_dict()["contributions"]}
    assert "(2024)京0105执1号" in documents


def test_withdrawn_and_repaired_records_leave_public_scores(
    city: sessionmaker[Session], packs: list[Pack], tmp_path: Path
) -> None:
    path = tmp_path / "withdrawal.jsonl"
    path.write_bytes(orjson.dumps({**samples.blood_donation(PERSON, 1), "op": "withdraw"}) + b"\n")
    digest, _ = scan_file(path)
    IngestJob(city, load_shipped(), today=DAY).run_file(path, digest=digest, report_dir=tmp_path)
    with city.begin() as session:
        # What the repair feature does when it ends a record's publicity early.
        session.execute(
            update(RecordHead)
            .where(RecordHead.document_key.like("%court.defaulter_listing%"))
            .values(status="repaired")
        )
    evaluation_id = evaluate_reference(city, packs, DAY)
    assert scores(city, evaluation_id)[(PERSON, "city.points")] == (1020, "A")
    with city() as session:
        rules = sorted(
            session.scalars(
                select(ContributionRow.rule).where(
                    ContributionRow.evaluation_id == evaluation_id,
                    ContributionRow.scheme == "city.points",
                )
            )
        )
    assert rules == ["volunteer_service", "volunteer_service"]


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    get_settings.cache_clear()
    migrated_store()
    yield url
    get_settings.cache_clear()


def test_evaluate_and_explain_from_the_command_line(cli_store: str, tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in ROWS))
    assert runner.invoke(app, ["ingest", str(path)]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--engine",
            "reference",
            "--as-of",
            "2026-11-01",
            "--pack",
            "city-pilot",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.output)
    assert summary["grades"] == {
        "city.points": {"A": 1, "B": 1},
        "city.rating": {"bad": 1, "good": 1},
    }
    explained = runner.invoke(
        app, ["explain", PERSON, "city.points", "--json", "--pack", "city-pilot"]
    )
    assert explained.exit_code == 0, explained.output
    data = orjson.loads(explained.output)
    assert (data["value"], data["grade"], data["as_of"]) == (880, "B", "2026-11-01")
    assert data["published"]["evaluation"] == summary["evaluation"]
    assert data["timeline"][-1] == {
        "date": "2029-03-05",
        "leaving": [
            {
                "record_id": next(
                    item["record_id"]
                    for item in data["contributions"]
                    if item["rule"] == "court_defaulter"
                ),
                "document_no": "(2024)京0105执1号",
                "record_type": "court.defaulter_listing",
                "rule": "court_defaulter",
                "rule_name": {"zh": "失信被执行人", "en": "Judgment defaulter"},
                "points": -150,
                "window_start": "2026-03-05",
                "window_end": "2029-03-05",
            }
        ],
        "entering": [],
        "value": 1000,
        "grade": "A",
        "grade_name": {"zh": "信用良好", "en": "Good"},
    }
    words = runner.invoke(app, ["explain", PERSON, "city.points", "--pack", "city-pilot"])
    assert (
        words.exit_code == 0 and "2029-03-05" in words.output and "court_defaulter" in words.output
    )
    missing = runner.invoke(app, ["explain", PERSON, "city.points", "--pack", "no-such-pack"])
    assert missing.exit_code == 2
    unknown = runner.invoke(app, ["explain", samples.person(7), "city.points"])
    assert unknown.exit_code == 2 and "no subject" in unknown.output


def test_evaluate_if_stale_reuses_a_current_evaluation(
    city: sessionmaker[Session], packs: list[Pack], tmp_path: Path
) -> None:
    first, new = evaluate_if_stale(city, packs, DAY)
    assert new
    assert evaluate_if_stale(city, packs, DAY) == (first, False)
    later, new = evaluate_if_stale(city, packs, date(2027, 1, 1))
    assert new and later != first
    path = tmp_path / "more.jsonl"
    path.write_bytes(orjson.dumps(samples.volunteer_service(PERSON, 3, "2026-10-01")) + b"\n")
    digest, _ = scan_file(path)
    IngestJob(city, load_shipped(), today=DAY).run_file(path, digest=digest, report_dir=tmp_path)
    again, new = evaluate_if_stale(city, packs, date(2027, 1, 1))
    assert new and again != later
