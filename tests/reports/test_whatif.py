"""What-if: exactly the subjects a policy change moves, by region and type, and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.reports.conftest import (
    DAY,
    DEFAULTER,
    points_with_edge,
    shipped_document,
    write_pack,
)
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import EntryRow, IndexState, MeasureIndexRow
from xinyong.enforcement.service import check_in_store
from xinyong.policy import Pack, load_pack, load_shipped
from xinyong.records.models import Subject
from xinyong.reports.population import Population, read_population
from xinyong.reports.whatif import (
    DECISION,
    GRADE,
    LIST,
    current_policy,
    proposed_policy,
    what_if,
)
from xinyong.scoring.models import ContributionRow, Evaluation, ScoreRow
from xinyong.scoring.store import current_evaluation
from xinyong.testing.store import snapshot

AA_EDGE = 1030


def report(population: Population, packs: list[Pack], folder: Path) -> Any:
    current = current_policy(load_shipped(), packs)
    proposed = load_pack(folder)
    return what_if(
        population,
        current,
        proposed_policy(current, packs, proposed),
        proposed_pack=proposed.policy_version,
    )


def published_points(factory: sessionmaker[Session]) -> dict[int, int]:
    with factory() as session:
        evaluation = current_evaluation(session)
        assert evaluation is not None
        return {
            subject_id: value
            for subject_id, value in session.execute(
                select(ScoreRow.subject_id, ScoreRow.value).where(
                    ScoreRow.evaluation_id == evaluation.id, ScoreRow.scheme == "city.points"
                )
            )
            if value is not None
        }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edge=st.integers(min_value=961, max_value=1049))
def test_moving_a_band_edge_changes_exactly_the_subjects_between_the_edges(
    city: sessionmaker[Session], packs: list[Pack], tmp_path: Path, edge: int
) -> None:
    population = read_population(city, DAY)
    points = published_points(city)
    # The population spreads over the edge, so most edges move somebody.
    assert min(points.values()) < 1000 and max(points.values()) >= 1050
    found = report(
        population, packs, write_pack(tmp_path / "p", "city-pilot", points_with_edge(edge))
    )
    low, high = sorted((edge, AA_EDGE))
    expected = {subject for subject, value in points.items() if low <= value < high}
    grades = {item.code: item for item in found.changed(GRADE)}
    assert grades["city.points"].subjects == expected
    assert found.changed_subjects() == expected
    moved = ("A", "AA") if edge < AA_EDGE else ("AA", "A")
    assert dict(grades["city.points"].transitions) == ({moved: len(expected)} if expected else {})
    assert sum(grades["city.points"].by_region.values()) == len(expected)
    assert grades["city.points"].by_subject_type == ({"person": len(expected)} if expected else {})


def test_a_shorter_list_takes_the_defaulter_off_it_and_lifts_its_measures(
    city: sessionmaker[Session], packs: list[Pack], tmp_path: Path
) -> None:
    document = shipped_document("national", "lists.yaml")
    (defaulters,) = (item for item in document["lists"] if item["code"] == "court.defaulters")
    defaulters["duration_months"] = 6  # effective 2026-03-05: off the list by 2026-11-01
    folder = write_pack(tmp_path / "p", "national", {"lists.yaml": {"lists": [defaulters]}})
    found = report(read_population(city, DAY), packs, folder)

    national = load_shipped()
    with city() as session:
        (defaulter_id,) = session.scalars(select(Subject.id).where(Subject.identifier == DEFAULTER))
        denied = {
            action: effect
            for action in national.actions
            if (
                effect := check_in_store(
                    session, MeasuresIndex(national), DEFAULTER, action, DAY
                ).effect
            )
            != "allow"
        }
    assert denied, "the published index binds the defaulter"
    lists = {item.code: item for item in found.changed(LIST) if item.subjects}
    assert set(lists) == {"court.defaulters"}
    assert lists["court.defaulters"].subjects == {defaulter_id}
    assert dict(lists["court.defaulters"].transitions) == {("on", "off"): 1}
    decisions = {item.code: item for item in found.changed(DECISION) if item.subjects}
    assert set(decisions) == set(denied)
    for action, item in decisions.items():
        assert dict(item.transitions) == {(denied[action], "allow"): 1}
        assert item.subjects == {defaulter_id}


def counts(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        return {
            table.__name__: session.scalar(select(func.count()).select_from(table))
            for table in (Evaluation, ScoreRow, ContributionRow, EntryRow, MeasureIndexRow)
        } | {
            "index_seq": session.scalar(select(IndexState.seq)),
            "current": session.scalar(
                select(Evaluation.id)
                .where(Evaluation.status == "complete")
                .order_by(Evaluation.id.desc())
            ),
        }


def test_the_command_writes_its_files_and_nothing_in_the_store(
    city: sessionmaker[Session], cli_store: str, tmp_path: Path
) -> None:
    folder = write_pack(tmp_path / "p", "city-pilot", points_with_edge(1000))
    before = (snapshot(city), counts(city))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--what-if",
            str(folder),
            "--pack",
            "national",
            "--pack",
            "city-pilot",
            "--as-of",
            DAY.isoformat(),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (snapshot(city), counts(city)) == before

    data = orjson.loads(result.stdout)
    expected = sum(1 for value in published_points(city).values() if 1000 <= value < AA_EDGE)
    (points,) = (item for item in data["grades"] if item["code"] == "city.points")
    assert points["changed"] == data["subjects_changed"] == expected > 0
    assert orjson.loads((out / "whatif.json").read_bytes()) == {
        key: value for key, value in data.items() if key != "files"
    }
    assert (out / "whatif.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = (out / "whatif.html").read_text()
    assert "city.points" in html and f"A→AA {expected}" in html
    assert 'id="report-data"' in html and "cdn" not in html.lower()

    words = CliRunner().invoke(
        app, ["evaluate", "--what-if", str(folder), "--pack", "city-pilot", "--out", str(out)]
    )
    assert words.exit_code == 0, words.output
    assert "city.points" in words.output and "Nothing was published" in words.output


def test_a_broken_proposal_is_refused_with_its_problems(cli_store: str, tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p", "no-such-pack", {})
    result = CliRunner().invoke(app, ["evaluate", "--what-if", str(folder)])
    assert result.exit_code == 2
    assert "no-such-pack" in result.output
