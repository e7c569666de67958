"""Equivalence is the specification: on random packs and records, the plan run by an engine
gives the entries, scores, grades and contributions of the reference evaluators."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from xinyong.enforcement.rules import EndReason, Entry, derive_entries
from xinyong.evaluate.calendar import add_months as plan_add_months
from xinyong.evaluate.engines import Engine, get_engine
from xinyong.evaluate.entries import entries_plan
from xinyong.evaluate.facts import facts_spec
from xinyong.evaluate.publish import entries_by_subject, scores_from_arrow
from xinyong.evaluate.scores import (
    CONTRIBUTION_ORDER,
    CONTRIBUTION_SCHEMA,
    Inputs,
    ScorePlan,
    score_plan,
)
from xinyong.policy import Pack, load_shipped
from xinyong.policy.catalogue import Severity
from xinyong.policy.lists import CreditList
from xinyong.policy.schemes import PointsScheme, TiersScheme
from xinyong.records.facts import add_months
from xinyong.scoring import score
from xinyong.scoring.facts import Score

from .strategies import (
    BASE_LIST,
    LEGAL_BASIS,
    NAME,
    Policy,
    Stored,
    days,
    entries_table,
    kind_of,
    policies,
    records,
    records_table,
    severities,
    stored_fact,
    subject_facts,
    subjects_table,
)

SUBJECTS = 4
_names = itertools.count()


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    with get_engine("duckdb") as engine:
        yield engine


def reference_entries(
    pack: Pack, stored: list[Stored], subjects: int = SUBJECTS
) -> dict[int, list[Entry]]:
    return {
        subject_id: derive_entries(
            pack,
            sorted(
                (item.facts for item in stored if item.subject_id == subject_id),
                key=lambda facts: facts.record_id,
            ),
        )
        for subject_id in range(1, subjects + 1)
    }


def check(
    engine: Engine,
    pack: Pack,
    stored: list[Stored],
    day: date,
    subjects: int = SUBJECTS,
    *,
    names: str | None = None,
) -> None:
    """Assert that ``engine`` agrees with the reference on every entry and score of subjects
    1 to ``subjects``. Its tables get names of their own, or, given ``names``, names made from
    it alone, as a batch run names its tables the same on every run."""
    schemes = list(pack.schemes.values())
    spec = facts_spec(pack, (c for scheme in schemes for _, c in scheme.record_conditions()))
    suffix = next(_names) if names is None else names
    facts = engine.table(f"records_{suffix}", records_table(stored, spec))
    subject_table = engine.table(f"subjects_{suffix}", subjects_table(subjects))

    expected = reference_entries(pack, stored, subjects)
    plan = entries_plan(pack, facts, spec, engine)
    assert plan is not None
    found = entries_by_subject(engine.to_arrow(plan))
    assert {s: found.get(s, []) for s in expected} == expected

    entries = engine.table(f"entries_{suffix}", entries_table(expected))
    inputs = Inputs(facts, subject_table, entries, spec, day, engine)
    for number, scheme in enumerate(schemes):
        assert isinstance(scheme, PointsScheme | TiersScheme)
        result = score_plan(pack, scheme, inputs)
        contributions = engine.to_arrow(result.contributions.order_by(list(CONTRIBUTION_ORDER)))
        kept_as = f"contributions_{suffix}_{number}"
        kept = engine.table(kept_as, contributions)
        scores = engine.to_arrow(result.scores_of(kept))
        batch: dict[int, Score] = {
            subject_id: value
            for subject_id, _, _, value in scores_from_arrow(
                scheme.code, pack.policy_version, scores, contributions
            )
        }
        check_written(engine, result, contributions, scores, kept_as)
        reference = {
            subject_id: score(scheme, subject_facts(subject_id, stored, expected[subject_id]), day)
            for subject_id in range(1, subjects + 1)
            if kind_of(subject_id) in scheme.subject_kinds
        }
        assert batch == reference, scheme.code


def check_written(
    engine: Engine, result: ScorePlan, contributions: pa.Table, scores: pa.Table, name: str
) -> None:
    """What an engine writes to Parquet itself has the contributions' and scores' declared
    types and the rows fetched through Ibis; the scores summed from the written contributions
    are the same. (The same expressions as those fetched, the written contributions kept
    under the same name: their SQL is compiled once.)"""
    with tempfile.TemporaryDirectory() as folder:
        written = Path(folder) / "contributions.parquet"
        engine.to_parquet(result.contributions.order_by(list(CONTRIBUTION_ORDER)), written)
        kept = engine.table(name, written)
        written_scores = Path(folder) / "scores.parquet"
        engine.to_parquet(result.scores_of(kept), written_scores)
        assert _types(pq.read_table(written)) == _types(CONTRIBUTION_SCHEMA.to_pyarrow())
        assert _types(pq.read_table(written_scores)) == {
            "subject_id": pa.int64(),
            "value": pa.int64(),
            "grade": pa.string(),
        }
        assert _rows(pq.read_table(written)) == _rows(contributions)
        assert _rows(pq.read_table(written_scores)) == _rows(scores)


def _types(table: pa.Table | pa.Schema) -> dict[str, pa.DataType]:
    schema = table if isinstance(table, pa.Schema) else table.schema
    return {field.name: field.type for field in schema}


def _rows(table: pa.Table) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = table.sort_by(
        [(name, "ascending") for name in table.column_names]
    ).to_pylist()
    return rows


# Each drawn policy is new to the engine, so each example compiles its plans afresh (two thirds
# of its second): sixteen a run, beside the fixed cases of every rule kind below.
@settings(
    max_examples=16,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(policies(), records(SUBJECTS), days)
def test_duckdb_agrees_with_the_reference(
    duckdb_engine: Engine, policy: Policy, stored: list[Stored], day: date
) -> None:
    check(duckdb_engine, policy.pack, stored, day)


@pytest.mark.spark
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(policies(), records(SUBJECTS), days)
def test_spark_agrees_with_the_reference(
    spark_engine: Engine, policy: Policy, stored: list[Stored], day: date
) -> None:
    check(spark_engine, policy.pack, stored, day)


def _additions(subject_id: int, first: int, codes: list[tuple[str, str | None]]) -> list[Stored]:
    """Additions of the city scheme for one subject, a week apart, in this order."""
    start = date(2026, 1, 5)
    return [
        Stored(
            subject_id,
            stored_fact(
                first + number,
                code,
                start + timedelta(weeks=number),
                start + timedelta(weeks=number),
                severities(code)[0],
                fields={} if level is None else {"level": level},
            ),
        )
        for number, (code, level) in enumerate(codes)
    ]


VOLUNTEER = ("volunteer.service", None)
BLOOD = ("health.blood_donation", None)


CAPPED = (
    # Worth exactly the tightest cap (not at risk); worth more, though no cap binds.
    ([BLOOD] * 4, [("honour.commendation", "national"), BLOOD]),
    # The sixth volunteer service is over the rule's cap; the honours' category cap of
    # 100 takes part of the last addition.
    (
        [VOLUNTEER] * 6,
        [("honour.commendation", "national"), ("honour.commendation", "provincial")]
        + [VOLUNTEER] * 3,
    ),
)
"""Two cases: two persons each, and an organisation beside them with six services."""


@pytest.mark.parametrize("engine_name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_caps_hold_for_subjects_at_and_over_them(
    request: pytest.FixtureRequest, engine_name: str
) -> None:
    """The shipped city scheme's caps, at their edges: only the subjects whose capped
    records are worth more than a cap go through the running totals, and every subject gets
    the reference's points (an organisation's records are left out). Fixed cases, so that
    Spark is held to them on every run and not only when the random packs happen to cap; the
    cases are subjects of one store (persons 1, 3 and 5, 7, organisations 2 and 6), so that
    each engine runs the plan once for both."""
    engine: Engine = request.getfixturevalue(f"{engine_name}_engine")
    stored = [
        record
        for case, (first, second) in enumerate(CAPPED)
        for record in (
            _additions(4 * case + 1, 600 * case, first)
            + _additions(4 * case + 3, 600 * case + 100, second)
            + _additions(4 * case + 2, 600 * case + 200, [VOLUNTEER] * 6)
        )
    ]
    check(engine, load_shipped("city-pilot"), stored, date(2026, 11, 1), subjects=8)


@pytest.mark.parametrize("engine_name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_month_ends_are_those_of_the_reference(
    request: pytest.FixtureRequest, engine_name: str
) -> None:
    """Jan 31 + 1 month is the last day of February, in leap years too."""
    engine: Engine = request.getfixturevalue(f"{engine_name}_engine")
    starts = [date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29), date(2023, 1, 29)]
    pairs = [(start, months) for start in starts for months in (0, 1, 2, 12, 13, 25, 59)]
    table = engine.table(
        f"months_{next(_names)}",
        pa.table(
            {
                "day": [start for start, _ in pairs],
                "months": pa.array([months for _, months in pairs], pa.int64()),
            }
        ),
    )
    result = engine.to_arrow(table.mutate(later=plan_add_months(table.day, table.months)))
    assert result.column("later").to_pylist() == [add_months(s, m) for s, m in pairs]


def _every_kind(*, override_min_value: int = 150) -> Pack:
    """Lists and schemes with a rule of every kind the plan states: entry rules by grade,
    amount and field; an extension (capped) and a removal by the same case, and a list without
    either; points added and deducted, capped by rule and by category, within amounts and field
    values, with overrides by list and by value; tiers of all, any and none, by list and by
    records within a window and of a least count."""
    penalty = {"record_type": "admin.penalty"}
    lists = (
        CreditList.model_validate(
            {
                **BASE_LIST,
                "code": "test.list0",
                "entry": [
                    {**penalty, "severities": ["serious"], "min_amount": 1000.0},
                    {"record_type": "court.defaulter_listing"},
                ],
                "duration_months": 12,
                "extension": {"field": "extra", "max_months": 6},
                "removal": {
                    "record_types": ["court.obligation_performed"],
                    "same_fields": ["case_no"],
                },
                "measures": [],
            }
        ),
        CreditList.model_validate(
            {
                **BASE_LIST,
                "code": "test.list1",
                "entry": [{"record_type": "tax.credit_rating", "fields": {"grade": ["C"]}}],
                "duration_months": 24,
                "extension": None,
                "removal": None,
                "measures": [],
            }
        ),
    )
    base = {
        "name": NAME,
        "description": "fixed",
        "domain": "public",
        "subject_kinds": ["person", "organisation"],
        "legal_basis": LEGAL_BASIS,
    }
    volunteering = {"record_type": "volunteer.service"}
    points = PointsScheme.model_validate(
        {
            **base,
            "code": "test.points",
            "kind": "points",
            "base": 100,
            "min": 0,
            "max": 200,
            "rules": [
                {
                    **penalty,
                    "severities": ["general", "serious"],
                    "code": "penalty",
                    "name": NAME,
                    "points": -20,
                    "window_months": 12,
                    "cap": 30,
                },
                {
                    **volunteering,
                    "code": "service",
                    "name": NAME,
                    "points": 15,
                    "window_months": 24,
                },
                {
                    "record_type": "tax.credit_rating",
                    "fields": {"grade": ["A", "B"]},
                    "code": "rating",
                    "name": NAME,
                    "points": 5,
                    "window_months": 12,
                },
                {
                    "record_type": "court.defaulter_listing",
                    "min_amount": 0.0,
                    "max_amount": 50000.0,
                    "code": "defaulter",
                    "name": NAME,
                    "points": -40,
                    "window_months": 48,
                },
                {
                    "record_type": "ip.patent_grant",
                    "code": "patent",
                    "name": NAME,
                    "points": 25,
                    "window_months": 36,
                },
            ],
            "category_caps": {"honours": 20},
            "overrides": [
                {"grade": "M", "all": [{"list": "test.list0"}]},
                {
                    "grade": "T1",
                    "min_value": override_min_value,
                    "any": [{"records": volunteering, "window_months": 12, "min_count": 2}],
                },
            ],
            "bands": [
                {"grade": "G0", "max": 99},
                {"grade": "G1", "min": 100, "max": 149},
                {"grade": "G2", "min": 150},
            ],
        }
    )
    tiers = TiersScheme.model_validate(
        {
            **base,
            "code": "test.tiers",
            "kind": "tiers",
            "tiers": [
                {"grade": "T0", "all": [{"list": "test.list1"}]},
                {
                    "grade": "T1",
                    "any": [
                        {
                            "records": {**penalty, "severities": ["serious"]},
                            "window_months": 24,
                        },
                        {"records": {"record_type": "bank.loan_default"}},
                    ],
                    "none": [{"records": {"record_type": "court.obligation_performed"}}],
                },
                {"grade": "T2", "all": [{"records": volunteering, "min_count": 2}]},
                {"grade": "default"},
            ],
        }
    )
    return Policy(lists, points, tiers).pack


def _record(
    subject_id: int,
    number: int,
    code: str,
    effective: date,
    *,
    severity: str | None = None,
    **facts: Any,
) -> Stored:
    """Record ``number`` of a subject, decided a week before it takes effect."""
    return Stored(
        subject_id,
        stored_fact(
            number,
            code,
            effective - timedelta(weeks=1),
            effective,
            severity or severities(code)[0],
            **facts,
        ),
    )


EVERY_KIND_RECORDS = [
    # A listed penalty extended three months, then removed by performing its case; two
    # penalties under the rule's cap of 30; three services under the honours' cap of 20.
    _record(
        1,
        1,
        "admin.penalty",
        date(2025, 12, 1),
        severity="serious",
        amount=5000.0,
        fields={"extra": 3, "case_no": "c1"},
    ),
    _record(1, 2, "court.obligation_performed", date(2026, 3, 1), fields={"case_no": "c1"}),
    _record(1, 3, "admin.penalty", date(2026, 1, 10), severity="general"),
    _record(1, 4, "admin.penalty", date(2026, 2, 10), severity="general"),
    *(
        _record(1, 5 + n, "volunteer.service", date(2026, 1, 5) + timedelta(weeks=n))
        for n in range(3)
    ),
    # A grade C puts an organisation on the list without removal; a grade A earns points; a
    # defaulter listing above the rule's amounts, withdrawn; a loan default.
    _record(2, 10, "tax.credit_rating", date(2025, 9, 1), fields={"grade": "C"}),
    _record(2, 11, "tax.credit_rating", date(2026, 1, 1), fields={"grade": "A"}),
    _record(
        2,
        12,
        "court.defaulter_listing",
        date(2026, 2, 1),
        severity="serious",
        amount=100000.0,
        status="withdrawn",
        withdrawn_on=date(2026, 4, 1),
    ),
    _record(2, 13, "bank.loan_default", date(2025, 11, 1), severity="serious"),
    # A penalty below the list's amount, out of the points' window but in the tier's; a
    # listed penalty repaired; patents and services enough for the override by value.
    _record(3, 20, "admin.penalty", date(2024, 9, 1), severity="serious", amount=500.0),
    _record(
        3,
        21,
        "admin.penalty",
        date(2026, 1, 1),
        severity="serious",
        amount=20000.0,
        status="repaired",
        withdrawn_on=date(2026, 5, 1),
    ),
    *(
        _record(3, 22 + n, "ip.patent_grant", date(2025, 3, 1) + timedelta(days=40 * n))
        for n in range(3)
    ),
    *(
        _record(3, 25 + n, "volunteer.service", date(2025, 10, 1) + timedelta(days=30 * n))
        for n in range(2)
    ),
    # A defaulter listing extended past the extension's cap, not removed by another case's
    # performance, by one before it, nor by a withdrawn one; a minor penalty no rule reads;
    # an old penalty long out of every window.
    _record(
        4,
        30,
        "court.defaulter_listing",
        date(2026, 5, 1),
        severity="serious",
        amount=20000.0,
        fields={"extra": 30, "case_no": "c2"},
    ),
    _record(4, 31, "court.obligation_performed", date(2026, 5, 20), fields={"case_no": "c1"}),
    _record(4, 32, "court.obligation_performed", date(2026, 4, 1), fields={"case_no": "c2"}),
    _record(
        4,
        33,
        "court.obligation_performed",
        date(2026, 5, 25),
        fields={"case_no": "c2"},
        status="withdrawn",
        withdrawn_on=date(2026, 5, 28),
    ),
    _record(4, 34, "admin.penalty", date(2026, 2, 1), severity="minor"),
    _record(4, 35, "admin.penalty", date(2018, 6, 1), severity="serious", amount=3000.0),
    _record(4, 36, "bank.loan_default", date(2025, 6, 1), severity="general"),
]
EVERY_KIND_DAYS = (date(2026, 1, 20), date(2026, 6, 1), date(2027, 3, 1))


def test_the_fixed_cases_reach_every_ending_and_grade() -> None:
    """Held to the reference, the fixed cases end entries in every way the plan states and
    give every grade, overrides included: they would not test a kind they never reach."""
    pack = _every_kind()
    entries = reference_entries(pack, EVERY_KIND_RECORDS)
    endings = {entry.end_reason for found in entries.values() for entry in found}
    assert endings == {
        EndReason.PERIOD,
        EndReason.REMOVED,
        EndReason.WITHDRAWN,
        EndReason.REPAIRED,
    }
    for scheme in pack.schemes.values():
        given = {
            score(scheme, subject_facts(subject_id, EVERY_KIND_RECORDS, found), day).grade
            for day in EVERY_KIND_DAYS
            for subject_id, found in entries.items()
        }
        assert given == set(scheme.grades()), scheme.code


@pytest.mark.parametrize(
    ("engine_name", "day"),
    # Spark on the middle day only: each of its plans is a round of jobs, seconds each.
    [
        *(("duckdb", day) for day in EVERY_KIND_DAYS),
        pytest.param("spark", EVERY_KIND_DAYS[1], marks=pytest.mark.spark),
    ],
)
def test_every_rule_kind_agrees_with_the_reference(
    request: pytest.FixtureRequest, engine_name: str, day: date
) -> None:
    """Fixed cases, so that each engine is held to every kind of rule on every run, and not
    only when the random packs happen to draw it."""
    engine: Engine = request.getfixturevalue(f"{engine_name}_engine")
    check(engine, _every_kind(), EVERY_KIND_RECORDS, day)


def test_lists_of_which_none_has_a_removal_rule_agree_with_the_reference(
    duckdb_engine: Engine,
) -> None:
    """A pack whose lists end by their periods alone: the plan leaves out the removals' join."""
    pack = _every_kind()
    lists = {
        code: credit_list.model_copy(update={"removal": None})
        for code, credit_list in pack.lists.items()
    }
    assert any(credit_list.removal for credit_list in pack.lists.values())
    check(
        duckdb_engine,
        pack.model_copy(update={"lists": lists}),
        EVERY_KIND_RECORDS,
        date(2027, 3, 1),
    )


def _without_grades(pack: Pack, kept: dict[str, Severity]) -> Pack:
    """``pack`` with each named record type's catalogue down to one grade (with the publicity
    period of its first grade), as a later version of a pack may leave it while the store
    still holds records of the grades it dropped."""
    record_types = dict(pack.record_types)
    for code, grade in kept.items():
        first = next(iter(record_types[code].severities.values()))
        record_types[code] = record_types[code].model_copy(update={"severities": {grade: first}})
    return pack.model_copy(update={"record_types": record_types})


def test_records_of_a_grade_the_catalogue_dropped_count_as_in_the_reference(
    duckdb_engine: Engine,
) -> None:
    """Rules that name no grade read a record of any grade, one the pack's catalogue no longer
    has included (and such a record has no maximum publicity period to end it): the plan's
    tables of types and grades must not drop what the reference reads."""
    pack = _without_grades(
        _every_kind(),
        {"court.defaulter_listing": Severity.GENERAL, "bank.loan_default": Severity.GENERAL},
    )
    stale = [
        stored
        for stored in EVERY_KIND_RECORDS
        if stored.facts.record_type in {"court.defaulter_listing", "bank.loan_default"}
        and stored.facts.severity == Severity.SERIOUS
    ]
    assert stale, "the fixed cases hold records of the dropped grades"
    for day in EVERY_KIND_DAYS:
        check(duckdb_engine, pack, EVERY_KIND_RECORDS, day)
