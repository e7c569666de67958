"""Fairness: grade distributions by group add up, and the rule only one group triggers leads."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from tests.reports.conftest import DAY, ingest, publish, volunteer
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.identifiers import resident_id, uscc
from xinyong.policy import Pack
from xinyong.reports.fairness import POINTS, fairness, grade_distributions
from xinyong.reports.groups import DIMENSIONS, age_band, profile
from xinyong.testing import samples

CHAOYANG, HAIDIAN = "110105", "110108"


def resident(index: int) -> str:
    """Persons 0-5 live in Chaoyang, 6-11 in Haidian; even indexes are men (odd sequence)."""
    region = CHAOYANG if index < 6 else HAIDIAN
    return resident_id.make(region, date(1960 + 5 * index, 6, 1), 1 + index)


PEOPLE = [resident(index) for index in range(12)]
MEN = {person for index, person in enumerate(PEOPLE) if index % 2 == 0}


def rows() -> list[dict[str, Any]]:
    """Everyone gave blood once; every man is a judgment defaulter; only Haidian volunteers."""
    found: list[dict[str, Any]] = []
    for index, person in enumerate(PEOPLE):
        found.append(samples.blood_donation(person, index))
        if person in MEN:
            found.append(
                samples.defaulter_listing(
                    person, index, decided_on="2026-03-01", effective_on="2026-03-05"
                )
            )
        if person.startswith(HAIDIAN):
            found.append(volunteer(person, index))
    return found


def grouped(factory: sessionmaker[Session], packs: list[Pack], tmp_path: Path) -> None:
    ingest(factory, rows(), tmp_path)
    publish(factory, packs)


def test_the_rule_only_one_group_triggers_has_the_largest_gap(
    factory: sessionmaker[Session], packs: list[Pack], tmp_path: Path
) -> None:
    grouped(factory, packs, tmp_path)
    with factory() as session:
        report = fairness(session, "city.points", ("AAA", "AA", "A", "B", "C", "D"))
    assert report.subjects == len(PEOPLE)
    assert report.grades == ["A", "B"]
    assert report.distributions["sex"] == {"male": Counter(B=6), "female": Counter(A=6)}
    assert report.distributions["region"] == {
        CHAOYANG: Counter(A=3, B=3),
        HAIDIAN: Counter(A=3, B=3),
    }
    assert "org_type" not in report.distributions

    by_sex = report.gaps["sex"]
    assert (by_sex[0].code, by_sex[0].unit, by_sex[0].gap) == ("court_defaulter", POINTS, 150)
    assert (by_sex[0].highest, by_sex[0].lowest) == ("female", "male")
    by_region = report.gaps["region"]
    assert (by_region[0].code, by_region[0].gap) == ("volunteer_service", 10)
    assert by_region[0].highest == HAIDIAN
    # Everyone gave blood: no gap between any groups.
    for dimension in ("sex", "region", "age_band"):
        (blood,) = (gap for gap in report.gaps[dimension] if gap.code == "blood_donation")
        assert blood.gap == 0
    assert report.gaps["subject_type"] == []  # one group: nothing to compare
    by_type = report.record_type_gaps["sex"]
    assert (by_type[0].code, by_type[0].gap) == ("court.defaulter_listing", 150)
    assert report.record_type_gaps["region"][0].code == "volunteer.service"


persons = st.builds(
    resident_id.make,
    st.sampled_from([CHAOYANG, HAIDIAN, "310101"]),
    st.dates(date(1930, 1, 1), date(2010, 12, 31)),
    st.integers(1, 999),
)
organisations = st.builds(
    uscc.make,
    st.just("9"),
    st.sampled_from(["1", "2", "3"]),
    st.sampled_from([CHAOYANG, "310101"]),
    st.integers(0, 10**8 - 1).map(lambda number: f"{number:08d}"),
)
identifiers = st.one_of(
    persons.map(lambda code: (code, True)), organisations.map(lambda code: (code, False))
)


@given(st.lists(st.tuples(identifiers, st.sampled_from(["A", "B", "C"])), max_size=40))
def test_each_dimension_accounts_for_every_subject_it_applies_to(
    population: list[tuple[tuple[str, bool], str]],
) -> None:
    profiles = {index: profile(code, DAY) for index, ((code, _), _) in enumerate(population)}
    grades = {index: grade for index, (_, grade) in enumerate(population)}
    distributions = grade_distributions(profiles, grades)
    persons = sum(1 for (_, is_person), _ in population if is_person)
    for dimension in DIMENSIONS:
        groups = distributions.get(dimension, {})
        members = Counter(
            group for item in profiles.values() if (group := item.group(dimension)) is not None
        )
        assert {group: sum(counts.values()) for group, counts in groups.items()} == members
        for group, counts in groups.items():
            assert counts == Counter(
                grades[index] for index, item in profiles.items() if item.group(dimension) == group
            )
    for dimension, expected in (
        ("region", len(population)),
        ("sex", persons),
        ("age_band", persons),
    ):
        total = sum(sum(counts.values()) for counts in distributions.get(dimension, {}).values())
        assert total == expected
    organisations = len(population) - persons
    total = sum(sum(counts.values()) for counts in distributions.get("org_type", {}).values())
    assert total == organisations


def test_age_bands_count_whole_years() -> None:
    assert age_band(date(2001, 11, 2), DAY) == "<25"  # 24 until the day after
    assert age_band(date(2001, 11, 1), DAY) == "25-34"
    assert age_band(date(1961, 11, 1), DAY) == "65+"


def test_the_command_writes_json_png_and_html(
    factory: sessionmaker[Session], packs: list[Pack], cli_store: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["report", "fairness", "city.points"]).exit_code == 2
    grouped(factory, packs, tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "fairness", "city.points", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["dimensions"]["sex"]["rule_gaps"][0]["code"] == "court_defaulter"
    assert orjson.loads((out / "fairness-city.points.json").read_bytes()) == {
        key: value for key, value in data.items() if key != "files"
    }
    assert (out / "fairness-city.points.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = (out / "fairness-city.points.html").read_text()
    assert "court_defaulter" in html and HAIDIAN in html and 'id="report-data"' in html
    assert "court.defaulter_listing" in html

    words = runner.invoke(app, ["report", "fairness", "city.points", "--out", str(out)])
    assert words.exit_code == 0 and "court_defaulter" in words.output
    unknown = runner.invoke(app, ["report", "fairness", "no.such", "--out", str(out)])
    assert unknown.exit_code == 2 and "city.points" in unknown.output
