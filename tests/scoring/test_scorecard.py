"""The scorecard kind: a trained model sees only the subject's declared, counted records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

import pytest

from xinyong.policy.schemes import AnyScheme, ScorecardScheme
from xinyong.records.facts import RecordFact
from xinyong.scoring import score
from xinyong.scoring.scorecard import FeaturePoints, register_artefact_loader

from .schemes import BASIS, NAME, person, record

SCHEME = AnyScheme.model_validate(
    {
        "code": "test.scorecard",
        "kind": "scorecard",
        "name": NAME,
        "description": "test scorecard",
        "domain": "financial",
        "subject_kinds": ["person"],
        "legal_basis": BASIS,
        "artefact": "test-v1",
        "min": 350,
        "max": 950,
        "features": [{"record_type": "bank.loan_default"}],
        "bands": [
            {"grade": "poor", "min": 350, "max": 549},
            {"grade": "good", "min": 550, "max": 950},
        ],
    }
)
assert isinstance(SCHEME, ScorecardScheme)


class DefaultsCost:
    """A trained scorecard of one feature: 600 points, less 300 per loan default."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def feature_points(self, records: Sequence[RecordFact], as_of: date) -> list[FeaturePoints]:
        self.seen = [item.record_id for item in records]
        return [FeaturePoints("base", 600), FeaturePoints("defaults", -300 * len(records))]


@pytest.fixture
def model() -> Iterator[DefaultsCost]:
    trained = DefaultsCost()
    previous = register_artefact_loader(lambda name: trained)
    yield trained
    register_artefact_loader(previous)


def test_only_declared_counted_records_reach_the_model(model: DefaultsCost) -> None:
    facts = person(
        record(1, "bank.loan_default", date(2026, 1, 1), severity="general"),
        record(2, "bank.loan_default", date(2026, 1, 1), severity="general", status="withdrawn"),
        record(3, "admin.penalty", date(2026, 1, 1), severity="serious"),
    )
    result = score(SCHEME, facts, date(2026, 6, 1))
    assert model.seen == [1]
    assert (result.value, result.grade) == (350, "poor")
    assert [(item.rule, item.points) for item in result.contributions] == [
        ("feature:base", 600),
        ("feature:defaults", -300),
    ]


def test_no_defaults_scores_the_base(model: DefaultsCost) -> None:
    assert (score(SCHEME, person(), date(2026, 6, 1)).value, model.seen) == (600, [])
