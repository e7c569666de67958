"""The financial pack's scheme scores through the ``scorecard`` kind with the trained model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

import pytest

from xinyong.policy import Pack, SubjectKind
from xinyong.policy.schemes import ScorecardScheme
from xinyong.records.facts import RecordFact, record_fact
from xinyong.scorecard.features import features_of
from xinyong.scorecard.model import BANDS, Scorecard
from xinyong.scoring import SubjectFacts, rates, score
from xinyong.scoring.scorecard import register_artefact_loader

if TYPE_CHECKING:
    from xinyong.scorecard.train import TrainingReport


@pytest.fixture
def scheme(financial: Pack, report: TrainingReport) -> Iterator[ScorecardScheme]:
    register_artefact_loader(Scorecard.load)
    shipped = financial.schemes["financial.scorecard"]
    assert isinstance(shipped, ScorecardScheme)
    yield shipped.model_copy(update={"artefact": str(report.folder)})
    register_artefact_loader(Scorecard.load)


def test_the_scheme_bands_are_the_models_bands(financial: Pack) -> None:
    shipped = financial.schemes["financial.scorecard"]
    assert isinstance(shipped, ScorecardScheme)
    assert shipped.domain == "financial" and shipped.artefact == "latest"
    assert [(b.grade, b.min, b.max) for b in shipped.bands] == [
        (band.grade, band.min, band.max) for band in BANDS
    ]


def _record(
    pack: Pack, number: int, code: str, fields: dict[str, object], **extra: object
) -> RecordFact:
    built = record_fact(
        pack,
        record_id=number,
        document_key=f"key|D{number}",
        document_no=f"D{number}",
        record_type=code,
        severity=str(extra.get("severity", "none")),
        amount=50_000.0,
        fields=fields,
        decided_on=date(2025, 3, 1),
        effective_on=date(2025, 3, 1),
        status="active",
    )
    assert built is not None
    return built


def test_a_subject_scores_the_models_points_with_one_contribution_per_feature(
    scheme: ScorecardScheme, financial: Pack, report: TrainingReport
) -> None:
    records = (
        _record(financial, 1, "bank.credit_account_opened", {"loan_kind": "credit_card"}),
        _record(financial, 2, "bank.card_account_status", {"utilisation_pct": 90}),
        _record(financial, 3, "bank.loan_default", {"days_overdue": 95}, severity="serious"),
        _record(financial, 4, "admin.penalty", {}, severity="serious"),
    )
    facts = SubjectFacts(1, "11010519491231002X", SubjectKind.PERSON, records)
    result = score(scheme, facts, date(2026, 6, 1))
    expected = report.scorecard.score(features_of(records[:3]))
    assert result.value == expected.points
    assert result.grade == expected.band
    assert [(item.rule, item.points) for item in result.contributions] == [
        (f"feature:{item.feature}", item.points) for item in expected.contributions
    ]


def test_no_credit_file_no_score(scheme: ScorecardScheme, financial: Pack) -> None:
    public_only = (_record(financial, 4, "admin.penalty", {}, severity="serious"),)
    without = SubjectFacts(1, "11010519491231002X", SubjectKind.PERSON, public_only)
    assert not rates(scheme, without)
    borrower = (_record(financial, 1, "bank.credit_account_opened", {"loan_kind": "mortgage"}),)
    with_file = SubjectFacts(1, "11010519491231002X", SubjectKind.PERSON, public_only + borrower)
    assert rates(scheme, with_file)
