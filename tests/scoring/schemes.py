"""Building scoring schemes and subjects' facts by hand for the scoring tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from xinyong.policy import Category, Domain, SubjectKind
from xinyong.policy.schemes import AnyScheme, PointsScheme, TiersScheme
from xinyong.records.facts import RecordFact
from xinyong.scoring import EntryFact, SubjectFacts

NAME = {"zh": "测试", "en": "Test"}
BASIS = [{"title": "测试依据"}]


def points_document(**overrides: Any) -> dict[str, Any]:
    """A valid points scheme over two public record types, as it would appear in YAML."""
    document: dict[str, Any] = {
        "code": "test.points",
        "kind": "points",
        "name": NAME,
        "description": "test scheme",
        "domain": "public",
        "subject_kinds": ["person"],
        "legal_basis": BASIS,
        "base": 100,
        "min": 0,
        "max": 200,
        "rules": [
            {
                "code": "donation",
                "name": NAME,
                "record_type": "health.blood_donation",
                "points": 10,
                "window_months": 12,
            },
            {
                "code": "penalty",
                "name": NAME,
                "record_type": "admin.penalty",
                "points": -30,
                "window_months": 6,
            },
        ],
        "bands": [
            {"grade": "A", "min": 120},
            {"grade": "B", "min": 80, "max": 119},
            {"grade": "C", "max": 79},
        ],
    }
    document.update(overrides)
    return document


def points(**overrides: Any) -> PointsScheme:
    scheme = AnyScheme.model_validate(points_document(**overrides))
    assert isinstance(scheme, PointsScheme)
    return scheme


def tiers(tier_list: list[dict[str, Any]], **overrides: Any) -> TiersScheme:
    document: dict[str, Any] = {
        "code": "test.tiers",
        "kind": "tiers",
        "name": NAME,
        "description": "test tiers",
        "domain": "public",
        "subject_kinds": ["person"],
        "legal_basis": BASIS,
        "tiers": tier_list,
    }
    document.update(overrides)
    scheme = AnyScheme.model_validate(document)
    assert isinstance(scheme, TiersScheme)
    return scheme


_CATEGORIES = {
    "health.blood_donation": Category.HONOURS,
    "volunteer.service": Category.HONOURS,
    "admin.penalty": Category.ADMINISTRATIVE,
    "bank.loan_default": Category.CONTRACT_PERFORMANCE,
}


def record(
    record_id: int,
    record_type: str,
    effective_on: date,
    *,
    severity: str = "none",
    amount: float | None = None,
    status: str = "active",
    publicity_ends_on: date | None = None,
    fields: dict[str, Any] | None = None,
) -> RecordFact:
    return RecordFact(
        record_id=record_id,
        document_key=f"key|DOC-{record_id}",
        document_no=f"DOC-{record_id}",
        record_type=record_type,
        category=_CATEGORIES[record_type],
        domain=Domain.FINANCIAL if record_type.startswith("bank.") else Domain.PUBLIC,
        severity=severity,
        amount=amount,
        fields=fields or {},
        decided_on=effective_on,
        effective_on=effective_on,
        status=status,
        publicity_ends_on=publicity_ends_on,
    )


def person(*records: RecordFact, entries: tuple[EntryFact, ...] = ()) -> SubjectFacts:
    return SubjectFacts(1, "110105195001010017", SubjectKind.PERSON, tuple(records), entries)
