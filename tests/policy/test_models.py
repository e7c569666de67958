"""Rules within one item, enforced by the models whichever way they are built."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from xinyong.policy import Authority, Pack, RecordType, Severity

GENERAL = {"published": True, "min_months": 3, "max_months": 12}
NONE_GRADE = {"none": {"published": True, "min_months": 0, "max_months": 36}}


def record_type(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "test.item",
        "name": {"zh": "测试", "en": "Test"},
        "category": "administrative",
        "polarity": "negative",
        "subject_kinds": ["person"],
        "severities": {"general": GENERAL},
        "legal_basis": [{"title": "中华人民共和国行政处罚法"}],
        "disclosure": "public",
        "domain": "public",
        "authorities": ["court.*"],
        "jurisdiction": "anywhere",
    }
    return {**base, **changes}


def authority(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "court.110105",
        "name": {"zh": "北京市朝阳区人民法院", "en": "Chaoyang District People's Court"},
        "kind": "court",
        "level": "district",
        "region": "110105",
    }
    return {**base, **changes}


def refusal(model: type[RecordType] | type[Authority], data: dict[str, Any]) -> dict[str, str]:
    """Location -> message of every error."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()}


def test_a_minimal_record_type_is_valid() -> None:
    parsed = RecordType.model_validate(record_type())
    assert parsed.default_severity is Severity.GENERAL
    assert parsed.repairable and not parsed.confirms_subject
    assert parsed.fields == {"type": "object", "additionalProperties": False}
    assert parsed.fields_validator({}) == {}


@pytest.mark.parametrize(
    ("changes", "location", "fragment"),
    [
        ({"polarity": "positive"}, "severities", "exactly one grade, 'none'"),
        ({"severities": NONE_GRADE}, "severities", "not 'none'"),
        (
            {"severities": {"general": {"published": True, "min_months": 3, "max_months": None}}},
            "severities",
            "every negative record has an end",
        ),
        (
            {"severities": {"general": {"published": True, "min_months": 9, "max_months": 6}}},
            "severities.general",
            "min_months (9) is above max_months (6)",
        ),
        ({"disclosure": "shared"}, "disclosure", "never published"),
        (
            {"polarity": "positive", "severities": NONE_GRADE, "repairable": False},
            "repairable",
            "only negative",
        ),
        (
            {"polarity": "positive", "severities": NONE_GRADE, "administrative_penalty": True},
            "administrative_penalty",
            "only a negative",
        ),
        ({"ends": ["test.other"]}, "ends", "a negative record type cannot end"),
        (
            {"polarity": "positive", "severities": NONE_GRADE, "ends": ["test.item"]},
            "ends",
            "cannot end itself",
        ),
        ({"confirms_subject": True}, "confirms_subject", "only registration"),
        ({"subject_kinds": ["person", "person"]}, "subject_kinds", "listed more than once"),
        ({"subject_kinds": ["company"]}, "subject_kinds.0", "Input should be"),
        ({"legal_basis": []}, "legal_basis", "at least 1 item"),
        ({"authorities": []}, "authorities", "at least 1 item"),
        ({"code": "Court.Judgment"}, "code", "should match pattern"),
        ({"severity": {}}, "severity", "Extra inputs"),
    ],
)
def test_record_type_rules(changes: dict[str, Any], location: str, fragment: str) -> None:
    errors = refusal(RecordType, record_type(**changes))
    assert location in errors, errors
    assert fragment in errors[location]


def test_penalty_rule_applies_only_to_penalties() -> None:
    """信用修复管理办法 bounds administrative penalties; other negative types set their own."""
    long_listing = {"general": {"published": True, "min_months": 0, "max_months": 36}}
    RecordType.model_validate(record_type(severities=long_listing))
    errors = refusal(RecordType, record_type(severities=long_listing, administrative_penalty=True))
    assert "general: 0-36 months is outside 3-12 months" in errors["severities"]


def test_a_minor_penalty_may_be_unpublished() -> None:
    minor = {"minor": {"published": False, "min_months": 0, "max_months": 3}}
    parsed = RecordType.model_validate(record_type(severities=minor, administrative_penalty=True))
    assert parsed.severities[Severity.MINOR].published is False


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        (
            {"level": "district", "region": "110000"},
            "a district authority has region a district code",
        ),
        ({"level": "provincial", "region": "110105"}, "ending in 0000"),
        ({"level": "national", "region": "110000"}, "100000"),
        ({"region": "091234"}, "should match pattern"),
    ],
)
def test_authority_region_fits_level(changes: dict[str, Any], fragment: str) -> None:
    errors = refusal(Authority, authority(**changes))
    assert fragment in errors["region"]


def test_pack_built_in_code_checks_references_too() -> None:
    court = Authority.model_validate(authority())
    judgment = RecordType.model_validate(record_type(authorities=["market.*"]))
    with pytest.raises(ValidationError, match=r"'market\.\*' matches no authority"):
        Pack(
            name="test",
            version="1",
            title={"zh": "测试", "en": "Test"},
            description="A pack built in code.",
            digest="0" * 64,
            record_types={judgment.code: judgment},
            authorities={court.code: court},
        )
