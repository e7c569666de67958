"""Scheme packs are validated like every pack: each problem with its file and path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from xinyong.policy import PolicyError, check_pack, load_pack, load_shipped, pack_json_schema

from .schemes import points_document


def write_pack(folder: Path, *schemes: dict[str, Any]) -> Path:
    (folder / "schemes").mkdir(parents=True)
    manifest = {
        "name": "trial",
        "version": "1",
        "title": {"zh": "试点", "en": "Trial"},
        "description": "a trial scheme pack",
        "extends": "national",
    }
    (folder / "pack.yaml").write_text(yaml.safe_dump(manifest), "utf-8")
    (folder / "schemes" / "trial.yaml").write_text(
        yaml.safe_dump({"schemes": list(schemes)}, allow_unicode=True), "utf-8"
    )
    return folder


def issues(folder: Path) -> set[tuple[str, str, str]]:
    return {(issue.file, issue.path, issue.message) for issue in check_pack(folder)}


def test_a_valid_scheme_pack_loads(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "trial", points_document()))
    assert list(pack.schemes) == ["test.points"]
    assert pack.schemes["test.points"].grades() == ("A", "B", "C")


def test_shipped_scheme_packs_load() -> None:
    assert sorted(load_shipped("city-pilot").schemes) == ["city.points", "city.rating"]
    assert sorted(load_shipped("enterprise").schemes) == [
        "enterprise.supervision",
        "enterprise.tax",
    ]


def test_financial_scheme_reading_a_public_record_type_is_refused(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "trial", points_document(domain="financial"))
    assert issues(folder) == {
        (
            "schemes/trial.yaml",
            f"schemes[0].rules[{index}].record_type",
            f"a financial scheme cannot read {code}, a public record type",
        )
        for index, code in enumerate(["health.blood_donation", "admin.penalty"])
    }


def test_public_scheme_reading_a_financial_record_type_is_refused(tmp_path: Path) -> None:
    document = points_document()
    document["rules"][1]["record_type"] = "bank.loan_default"
    assert issues(write_pack(tmp_path / "trial", document)) == {
        (
            "schemes/trial.yaml",
            "schemes[0].rules[1].record_type",
            "a public scheme cannot read bank.loan_default, a financial record type",
        )
    }


def test_financial_scheme_reading_a_list_is_refused(tmp_path: Path) -> None:
    document = points_document(
        domain="financial",
        rules=[
            {
                "code": "default",
                "name": {"zh": "违约", "en": "Default"},
                "record_type": "bank.loan_default",
                "points": -50,
                "window_months": 12,
            }
        ],
        overrides=[{"grade": "D", "any": [{"list": "court.defaulters"}]}],
    )
    [(file, path, message)] = issues(write_pack(tmp_path / "trial", document))
    assert (file, path) == ("schemes/trial.yaml", "schemes[0].overrides[0].any[0].list")
    assert message.startswith("a financial scheme cannot read court.defaulters")


def test_unknown_record_type_list_grade_and_field(tmp_path: Path) -> None:
    document = points_document()
    document["rules"][0]["record_type"] = "health.blood_donor"
    document["rules"][1]["severities"] = ["none"]
    document["rules"][1]["fields"] = {"colour": ["red"]}
    document["overrides"] = [{"grade": "X", "any": [{"list": "no.such_list"}]}]
    assert issues(write_pack(tmp_path / "trial", document)) == {
        (
            "schemes/trial.yaml",
            "schemes[0].rules[0].record_type",
            "unknown record type 'health.blood_donor'",
        ),
        (
            "schemes/trial.yaml",
            "schemes[0].rules[1].severities[0]",
            "admin.penalty has no grade 'none'",
        ),
        (
            "schemes/trial.yaml",
            "schemes[0].rules[1].fields.colour",
            "admin.penalty has no field 'colour'",
        ),
        (
            "schemes/trial.yaml",
            "schemes[0].overrides[0].any[0].list",
            "unknown list 'no.such_list'",
        ),
    }


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [
                {"grade": "A", "min": 120},
                {"grade": "B", "min": 80, "max": 120},
                {"grade": "C", "max": 79},
            ],
            "bands B and A overlap",
        ),
        (
            [
                {"grade": "A", "min": 120},
                {"grade": "B", "min": 80, "max": 118},
                {"grade": "C", "max": 79},
            ],
            "no band covers 119..119 (between B and A)",
        ),
        (
            [{"grade": "A", "min": 120}, {"grade": "B", "min": 10, "max": 119}],
            "no band covers 0..9",
        ),
        (
            [{"grade": "A", "min": 100, "max": 150}, {"grade": "B", "max": 99}],
            "no band covers 151..200",
        ),
        (
            [{"grade": "A", "min": 100}, {"grade": "A", "max": 99}],
            "grades listed more than once: A",
        ),
    ],
)
def test_bands_must_cover_the_range_once(
    tmp_path: Path, bands: list[dict[str, Any]], message: str
) -> None:
    folder = write_pack(tmp_path / "trial", points_document(bands=bands))
    with pytest.raises(PolicyError) as refused:
        load_pack(folder)
    [issue] = refused.value.issues
    assert (issue.file, issue.path, issue.message) == ("schemes/trial.yaml", "schemes[0]", message)
    assert issue.line is not None


def test_a_tier_without_conditions_must_come_last(tmp_path: Path) -> None:
    document = {
        "code": "test.tiers",
        "kind": "tiers",
        "name": {"zh": "级", "en": "Tiers"},
        "description": "d",
        "domain": "public",
        "subject_kinds": ["person"],
        "legal_basis": [{"title": "t"}],
        "tiers": [{"grade": "good"}, {"grade": "bad", "any": [{"list": "court.defaulters"}]}],
    }
    messages = {message for _, path, message in issues(write_pack(tmp_path / "trial", document))}
    assert messages == {
        "good: a tier without conditions would hide those after it; "
        "the last tier (bad) must have no conditions: the default"
    }


def test_errors_are_located_without_the_kind_in_the_path(tmp_path: Path) -> None:
    document = points_document()
    document["rules"][0]["points"] = "many"
    assert issues(write_pack(tmp_path / "trial", document)) == {
        (
            "schemes/trial.yaml",
            "schemes[0].rules[0].points",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
    }


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    assert issues(write_pack(tmp_path / "trial", points_document(kind="magic"))) == {
        ("schemes/trial.yaml", "schemes[0]", "kind must be one of points, tiers, scorecard"),
    }


def test_the_pack_schema_describes_each_kind() -> None:
    definitions = pack_json_schema()["$defs"]
    kinds = {ref["$ref"] for ref in definitions["AnyScheme"]["oneOf"]}
    assert kinds == {"#/$defs/PointsScheme", "#/$defs/TiersScheme", "#/$defs/ScorecardScheme"}
