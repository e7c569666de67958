"""The shipped national pack: coverage of the catalogue, references and the ingest look-ups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import fastjsonschema
import pytest
import yaml

from xinyong.policy import (
    Category,
    Disclosure,
    Domain,
    Pack,
    Polarity,
    Severity,
    SubjectKind,
    load_pack,
    load_shipped,
    pack_json_schema,
    shipped_pack_path,
)

PERSON = SubjectKind.PERSON
ORGANISATION = SubjectKind.ORGANISATION

# Codes other parts of the platform are written against, with their subject kinds.
EXPECTED_SUBJECT_KINDS = {
    "market.registration": {ORGANISATION},
    "market.registration_change": {ORGANISATION},
    "civil.social_org_registration": {ORGANISATION},
    "court.judgment": {PERSON, ORGANISATION},
    "court.defaulter_listing": {PERSON, ORGANISATION},
    "court.obligation_performed": {PERSON, ORGANISATION},
    "court.consumption_restriction": {PERSON, ORGANISATION},
    "admin.licence": {PERSON, ORGANISATION},
    "admin.penalty": {PERSON, ORGANISATION},
    "market.abnormal_operations": {ORGANISATION},
    "market.abnormal_operations_removal": {ORGANISATION},
    "market.serious_violation_listing": {ORGANISATION},
    "tax.serious_violation": {PERSON, ORGANISATION},
    "tax.credit_rating": {ORGANISATION},
    "customs.credit_status": {ORGANISATION},
    "hrss.social_insurance_arrears": {ORGANISATION},
    "hrss.wage_arrears": {PERSON, ORGANISATION},
    "environment.penalty": {PERSON, ORGANISATION},
    "food_drug.penalty": {PERSON, ORGANISATION},
    "contract.default": {ORGANISATION},
    "commitment.made": {PERSON, ORGANISATION},
    "commitment.breach": {PERSON, ORGANISATION},
    "honour.commendation": {PERSON, ORGANISATION},
    "volunteer.service": {PERSON},
    "health.blood_donation": {PERSON},
    "bank.loan_default": {PERSON, ORGANISATION},
    "bank.loan_repaid_on_time": {PERSON, ORGANISATION},
    "professional.qualification": {PERSON},
    "professional.qualification_revoked": {PERSON},
    "ip.patent_grant": {PERSON, ORGANISATION},
    "ip.infringement_penalty": {PERSON, ORGANISATION},
    "transport.railway_safety_violation": {PERSON},
    "voluntary.disclosure": {PERSON, ORGANISATION},
    "credit_service.evaluation": {ORGANISATION},
}

EXPECTED_AUTHORITIES = {
    "court.110000", "court.110101", "court.110105", "court.110108",
    "market.110000", "market.110105", "market.110108", "civil.110000",
    "tax.110000", "tax.110105", "customs.110000", "environment.110000",
    "hrss.110000", "hrss.110105", "transport.110000", "railway.china",
    "health.110000", "education.110000", "finance.110000", "ip.110000",
    "drug.110000", "police.110000", "housing.110000", "emergency.110000",
    "agriculture.110000", "bank.icbc_beijing", "bank.ccb_beijing",
    "credit_service.beijing01", "youth_league.110000", "credit_centre.110000",
}  # fmt: skip


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_shipped()


def test_loads_once_per_process(pack: Pack) -> None:
    assert load_shipped("national") is pack
    assert pack.name == "national"


def test_covers_the_thirteen_categories_with_at_least_thirty_types(pack: Pack) -> None:
    assert len(pack.record_types) >= 30
    assert {record_type.category for record_type in pack.record_types.values()} == set(Category)
    assert len(Category) == 13


def test_every_record_type_has_a_legal_basis(pack: Pack) -> None:
    """Records, not surveillance: a record type without legal basis fails policy validation."""
    for record_type in pack.record_types.values():
        assert record_type.legal_basis, record_type.code
        assert all(basis.title.strip() for basis in record_type.legal_basis)


def test_has_the_codes_other_modules_rely_on(pack: Pack) -> None:
    for code, kinds in EXPECTED_SUBJECT_KINDS.items():
        assert set(pack.record_type(code).subject_kinds) == kinds, code
    assert set(pack.authorities) >= EXPECTED_AUTHORITIES


def test_registration_authorities_are_the_registering_offices(pack: Pack) -> None:
    registering = {code for code, a in pack.authorities.items() if a.registration_authority}
    assert registering == {"market.110000", "market.110105", "market.110108", "civil.110000"}


def test_grades_follow_polarity(pack: Pack) -> None:
    for record_type in pack.record_types.values():
        grades = set(record_type.severities)
        if record_type.polarity is Polarity.NEGATIVE:
            assert grades and Severity.NONE not in grades, record_type.code
            assert all(p.max_months is not None for p in record_type.severities.values())
        else:
            assert grades == {Severity.NONE}, record_type.code


def test_court_rules(pack: Pack) -> None:
    """法释〔2017〕7号 Art. 2 (2 years, extendable by up to 3) and Art. 10 (deletion)."""
    listing = pack.record_type("court.defaulter_listing")
    assert listing.severities == {
        Severity.SERIOUS: listing.severities[Severity.SERIOUS],
    }
    period = listing.severities[Severity.SERIOUS]
    assert (period.min_months, period.max_months, period.published) == (24, 60, True)
    assert listing.repairable is False
    assert listing.disclosure is Disclosure.PUBLIC
    assert listing.default_severity is Severity.SERIOUS
    performed = pack.record_type("court.obligation_performed")
    assert set(performed.ends) == {"court.defaulter_listing", "court.consumption_restriction"}
    assert pack.record_type("market.abnormal_operations_removal").ends == (
        "market.abnormal_operations",
    )


def test_penalty_grades_follow_the_repair_measures(pack: Pack) -> None:
    """信用修复管理办法: minor not published (<= 3 months), general 3-12, serious 12-36."""
    penalty = pack.record_type("admin.penalty")
    assert penalty.administrative_penalty
    assert penalty.default_severity is None
    minor = penalty.severities[Severity.MINOR]
    general = penalty.severities[Severity.GENERAL]
    serious = penalty.severities[Severity.SERIOUS]
    assert not minor.published and minor.max_months == 3
    assert (general.min_months, general.max_months) == (3, 12)
    assert (serious.min_months, serious.max_months) == (12, 36)


def test_financial_types_are_shared_and_never_published(pack: Pack) -> None:
    financial = {c for c, t in pack.record_types.items() if t.domain is Domain.FINANCIAL}
    assert financial == {
        "bank.loan_default",
        "bank.loan_repaid_on_time",
        "bank.credit_account_opened",
        "bank.card_account_status",
    }
    for code in financial:
        record_type = pack.record_type(code)
        assert record_type.disclosure is Disclosure.SHARED
        assert not any(period.published for period in record_type.severities.values())


@pytest.mark.parametrize(
    ("authority", "record_type", "allowed"),
    [
        ("court.110105", "court.defaulter_listing", True),
        ("court.110000", "court.obligation_performed", True),
        ("market.110105", "court.defaulter_listing", False),
        ("market.110108", "market.registration", True),
        ("civil.110000", "market.registration", False),
        ("civil.110000", "civil.social_org_registration", True),
        ("tax.110105", "tax.serious_violation", True),
        ("tax.110000", "hrss.social_insurance_arrears", True),
        ("bank.icbc_beijing", "bank.loan_default", True),
        ("bank.icbc_beijing", "admin.penalty", False),
        ("court.110105", "admin.licence", False),
        ("environment.110000", "admin.licence", True),
        ("environment.110000", "environment.penalty", True),
        ("drug.110000", "food_drug.penalty", True),
        ("railway.china", "transport.railway_safety_violation", True),
        ("youth_league.110000", "volunteer.service", True),
        ("health.110000", "health.blood_donation", True),
        ("credit_centre.110000", "voluntary.disclosure", True),
        ("credit_service.beijing01", "credit_service.evaluation", True),
        ("court.999999", "court.judgment", False),
        ("court.110105", "court.no_such_type", False),
    ],
)
def test_may_submit(pack: Pack, authority: str, record_type: str, allowed: bool) -> None:
    assert pack.may_submit(authority, record_type) is allowed


def test_unknown_shipped_pack() -> None:
    for name in ("nowhere", "../national", "national/catalogue"):
        with pytest.raises(LookupError, match=r"shipped: city-pilot, enterprise, .*national"):
            shipped_pack_path(name)


def test_authority_lookup(pack: Pack) -> None:
    assert pack.authority("railway.china").level == "national"
    with pytest.raises(KeyError, match=r"court\.999999"):
        pack.authority("court.999999")


def test_record_type_lookup_names_the_missing_code(pack: Pack) -> None:
    with pytest.raises(KeyError, match=r"court\.no_such_type"):
        pack.record_type("court.no_such_type")
    with pytest.raises(KeyError, match=r"court\.no_such_type"):
        pack.validator("court.no_such_type")


def test_validator_accepts_and_rejects_fields(pack: Pack) -> None:
    listing = pack.validator("court.defaulter_listing")
    assert pack.validator("court.defaulter_listing") is listing
    good = {"case_no": "(2024)京0105执1234号", "ground": "able_but_refuses"}
    assert listing(good) == good
    for bad in (
        {"case_no": "(2024)京0105执1234号"},
        {"case_no": "(2024)京0105执1234号", "ground": "owes_money"},
        {**good, "home_address": "not in the catalogue"},
    ):
        with pytest.raises(fastjsonschema.JsonSchemaValueException):
            listing(bad)


def test_registration_requires_a_legal_representative_for_enterprises(pack: Pack) -> None:
    registration = pack.validator("market.registration")
    registration({"name": "某某个体店", "org_type": "individual_business"})
    registration(
        {
            "name": "某某有限公司",
            "org_type": "enterprise",
            "legal_representative_id": "11010519491231002X",
        }
    )
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        registration({"name": "某某有限公司", "org_type": "enterprise"})
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        registration({"name": "某某有限公司", "established_on": "2024-13-01"})


def test_validating_does_not_change_the_fields(pack: Pack) -> None:
    change = {"address": "北京市朝阳区"}
    assert pack.validator("market.registration_change")(change) == {"address": "北京市朝阳区"}
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        pack.validator("market.registration_change")({})


def _pack_documents(folder: Path) -> dict[str, object]:
    return {
        path.relative_to(folder).as_posix(): yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(folder.rglob("*.yaml"))
    }


def _schema_errors(implementation: str) -> Callable[[object], list[str]]:
    """Errors of a document under the exported schema, by one JSON Schema implementation."""
    schema = pack_json_schema()
    if implementation == "jsonschema":
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        return lambda document: [error.message for error in validator.iter_errors(document)]
    compiled = fastjsonschema.compile(schema)

    def errors(document: object) -> list[str]:
        try:
            compiled(document)
        except fastjsonschema.JsonSchemaValueException as error:
            return [error.message]
        return []

    return errors


@pytest.mark.parametrize("implementation", ["jsonschema", "fastjsonschema"])
def test_json_schema_export_validates_every_shipped_document(implementation: str) -> None:
    errors = _schema_errors(implementation)
    documents = _pack_documents(shipped_pack_path("national"))
    assert {"pack.yaml", "authorities.yaml", "catalogue/judicial.yaml"} <= set(documents)
    assert errors(documents) == []
    # The same schema refuses what the loader refuses: a misspelt key, an unknown file.
    judicial = documents["catalogue/judicial.yaml"]
    assert isinstance(judicial, dict)
    misspelt = {**judicial["record_types"][0], "legal_bases": []}
    assert errors({**documents, "catalogue/judicial.yaml": {"record_types": [misspelt]}})
    assert errors({**documents, "authority.yaml": {}})


def test_digest_covers_the_files(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "national"
    shutil.copytree(shipped_pack_path("national"), copy)
    original = load_pack(copy).digest
    assert original == load_shipped().digest
    honours = copy / "catalogue" / "honours.yaml"
    honours.write_text(honours.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert load_pack(copy).digest != original
