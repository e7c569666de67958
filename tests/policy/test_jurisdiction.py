"""Jurisdiction in the pack: every record type states it, the loader refuses a pack without it
or with a malformed one, and the resolved check reads GB/T 2260 regions and GB 32100 codes."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from xinyong.identifiers import uscc
from xinyong.policy import (
    REGISTERING_KINDS,
    Authority,
    AuthorityKind,
    AuthorityLevel,
    Jurisdiction,
    JurisdictionRule,
    PolicyError,
    RecordType,
    SubjectKind,
    check_pack,
    load_pack,
    load_shipped,
    shipped_pack_names,
    shipped_pack_path,
)

Document = dict[str, Any]
ORGANISATION, PERSON = SubjectKind.ORGANISATION, SubjectKind.PERSON
ANYWHERE = JurisdictionRule.ANYWHERE
SUBJECT_REGION = JurisdictionRule.SUBJECT_REGION
REGISTRATION_AUTHORITY = JurisdictionRule.REGISTRATION_AUTHORITY


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "national"
    shutil.copytree(shipped_pack_path("national"), folder)
    return folder


def edit(folder: Path, file: str, code: str, change: Callable[[Document], None]) -> int:
    """Change the item ``code`` of ``file``; its index in the file's list."""
    path = folder / file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = document.get("record_types") or document["authorities"]
    index = next(i for i, entry in enumerate(items) if entry["code"] == code)
    change(items[index])
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return index


def test_every_shipped_pack_states_a_rule_for_every_subject_of_every_type() -> None:
    for name in shipped_pack_names():
        pack = load_shipped(name)
        assert pack.record_types
        for record_type in pack.record_types.values():
            assert set(record_type.jurisdiction_rules) == set(record_type.subject_kinds)


def test_the_national_pack_gives_registrations_to_the_registering_office() -> None:
    """The registration types and the abnormal operations list (kept by the office that
    registers the enterprise) are registration_authority; courts judge anyone; penalties
    reach organisations registered in the office's area and any person."""
    rules = {code: t.jurisdiction_rules for code, t in load_shipped().record_types.items()}
    for code in ("market.registration", "market.registration_change", "market.abnormal_operations"):
        assert rules[code] == {ORGANISATION: REGISTRATION_AUTHORITY}
    assert rules["civil.social_org_registration"] == {ORGANISATION: REGISTRATION_AUTHORITY}
    assert rules["court.defaulter_listing"] == {PERSON: ANYWHERE, ORGANISATION: ANYWHERE}
    assert rules["admin.penalty"] == {PERSON: ANYWHERE, ORGANISATION: SUBJECT_REGION}
    assert rules["tax.credit_rating"] == {ORGANISATION: SUBJECT_REGION}


def test_a_pack_whose_record_types_state_no_jurisdiction_is_refused(pack_dir: Path) -> None:
    for path in (pack_dir / "catalogue").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"^    jurisdiction: .*\n", "", text, flags=re.M), "utf-8")
    with pytest.raises(PolicyError) as refused:
        load_pack(pack_dir)
    issues = refused.value.issues
    assert len(issues) == len(load_shipped().record_types)
    assert {issue.path.rsplit(".", 1)[-1] for issue in issues} == {"jurisdiction"}
    for issue in issues:
        assert issue.message.startswith("required key missing: every record type states")
        assert "anywhere, subject_region or registration_authority" in issue.message


def test_a_pack_that_extends_another_states_the_rules_of_its_own_types(tmp_path: Path) -> None:
    judicial = yaml.safe_load(
        (shipped_pack_path("national") / "catalogue" / "judicial.yaml").read_text("utf-8")
    )
    mediation = {**judicial["record_types"][0], "code": "court.mediation"}
    del mediation["jurisdiction"]
    child = tmp_path / "pilot"
    (child / "catalogue").mkdir(parents=True)
    manifest = {
        "name": "pilot",
        "version": "1",
        "title": {"zh": "试点", "en": "Pilot"},
        "description": "Adds a type.",
        "extends": "national",
    }
    (child / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), "utf-8")
    (child / "catalogue" / "pilot.yaml").write_text(
        yaml.safe_dump({"record_types": [mediation]}, allow_unicode=True), "utf-8"
    )
    [issue] = check_pack(child)
    assert (issue.file, issue.path) == ("catalogue/pilot.yaml", "record_types[0].jurisdiction")
    mediation["jurisdiction"] = "anywhere"
    (child / "catalogue" / "pilot.yaml").write_text(
        yaml.safe_dump({"record_types": [mediation]}, allow_unicode=True), "utf-8"
    )
    assert (
        load_pack(child).jurisdiction.refusal(
            "court.110108",
            "court.mediation",
            "organisation",
            uscc.make("9", "1", "310115", "MA000001"),
        )
        is None
    )


@pytest.mark.parametrize(
    ("file", "code", "value", "fragment"),
    [
        ("judicial", "court.judgment", "everywhere", "'everywhere' is not a jurisdiction rule"),
        ("judicial", "court.judgment", ["anywhere"], "a jurisdiction is one rule"),
        ("judicial", "court.judgment", {}, "a jurisdiction is one rule"),
        ("judicial", "court.judgment", 3, "a jurisdiction is one rule"),
        ("judicial", "court.judgment", {"organisation": "anywhere"}, "no rule for person"),
        (
            "administrative",
            "admin.penalty",
            {"organisation": "subject_region", "persons": "anywhere"},
            "'persons' is not a kind of subject",
        ),
        (
            "administrative",
            "admin.penalty",
            {"organisation": "nearby", "person": "anywhere"},
            "organisation: 'nearby' is not a jurisdiction rule",
        ),
        (
            "administrative",
            "admin.penalty",
            {"organisation": ["subject_region"], "person": "anywhere"},
            "organisation: ['subject_region'] is not a jurisdiction rule",
        ),
        (
            "administrative",
            "admin.penalty",
            "subject_region",
            "subject_region cannot apply to persons",
        ),
        (
            "credit_evaluation",
            "tax.credit_rating",
            {"organisation": "subject_region", "person": "anywhere"},
            "person: the type concerns only organisation",
        ),
        (
            "professional",
            "professional.qualification",
            "registration_authority",
            "registration_authority applies to organisations only",
        ),
        (
            "registration",
            "market.registration_change",
            "subject_region",
            "only the office that registers it may submit one",
        ),
        (
            "registration",
            "market.registration",
            "anywhere",
            "only the office that registers it may submit one",
        ),
    ],
)
def test_malformed_rules_are_refused_where_they_are(
    pack_dir: Path, file: str, code: str, value: object, fragment: str
) -> None:
    path = f"catalogue/{file}.yaml"
    index = edit(pack_dir, path, code, lambda item: item.update(jurisdiction=value))
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == (path, f"record_types[{index}].jurisdiction")
    assert fragment in issue.message


def test_registration_authority_needs_registering_offices(pack_dir: Path) -> None:
    rule = {"organisation": "registration_authority", "person": "anywhere"}
    index = edit(
        pack_dir, "catalogue/judicial.yaml", "court.judgment", lambda i: i.update(jurisdiction=rule)
    )
    issues = check_pack(pack_dir)
    assert {(i.file, i.path) for i in issues} == {
        ("catalogue/judicial.yaml", f"record_types[{index}].authorities[0]")
    }
    assert any("court.110105 is not a registration authority" in i.message for i in issues)


def test_only_a_registering_kind_is_a_registration_authority(pack_dir: Path) -> None:
    index = edit(
        pack_dir,
        "authorities.yaml",
        "tax.110105",
        lambda item: item.update(registration_authority=True),
    )
    [issue] = check_pack(pack_dir)
    assert issue.path == f"authorities[{index}].registration_authority"
    assert "a tax authority registers no organisations" in issue.message


@pytest.mark.parametrize(
    "fields_change",
    [
        {"properties": {"legal_representative_id": {"type": "string"}}},
        {"patternProperties": {"^legal_": {"type": "string"}}},
    ],
)
def test_only_registration_types_name_a_legal_representative(
    pack_dir: Path, fields_change: Document
) -> None:
    """Ingest reads legal_representative_id as a change of representative: only the office that
    registers the organisation may make one."""

    def change(item: Document) -> None:
        for key, value in fields_change.items():
            item["fields"].setdefault(key, {}).update(value)

    index = edit(pack_dir, "catalogue/judicial.yaml", "court.judgment", change)
    [issue] = check_pack(pack_dir)
    assert issue.path == f"record_types[{index}].fields"
    assert "only registration record types may carry legal_representative_id" in issue.message


def test_every_gb32100_department_but_other_has_a_registering_kind() -> None:
    """GB 32100 table 2 (docs/sources.md §1): 1 institutional staffing, 5 civil affairs, 9 market
    regulation (formerly industry and commerce), N agriculture ...; Y "other" names none."""
    assert set(REGISTERING_KINDS) == set(uscc.REGISTRATION_AUTHORITIES) - {"Y"}
    assert REGISTERING_KINDS["9"] is AuthorityKind.MARKET_REGULATION
    assert REGISTERING_KINDS["5"] is AuthorityKind.CIVIL_AFFAIRS
    assert REGISTERING_KINDS["1"] is AuthorityKind.INSTITUTIONAL_STAFFING
    assert REGISTERING_KINDS["N"] is AuthorityKind.AGRICULTURE
    assert len(set(REGISTERING_KINDS.values())) == len(REGISTERING_KINDS)


@pytest.mark.parametrize(
    ("level", "region", "area"),
    [
        ("national", "100000", ""),
        ("provincial", "320000", "32"),
        ("municipal", "110000", "11"),  # a province-level city covers its whole province code
        ("municipal", "320100", "3201"),
        ("district", "110105", "110105"),
        ("institution", "110000", "11"),
    ],
)
def test_an_authority_covers_its_gb2260_area(level: str, region: str, area: str) -> None:
    assert authority("tax", level, region).area == area


# --- the resolved check against a reading of the standards --------------------------------

REGIONS = {
    AuthorityLevel.NATIONAL: ["100000"],
    AuthorityLevel.PROVINCIAL: ["110000", "320000"],
    AuthorityLevel.MUNICIPAL: ["110000", "320100", "320200"],
    AuthorityLevel.DISTRICT: ["110105", "110108", "320102", "320211"],
    AuthorityLevel.INSTITUTION: ["110000", "320100"],
}
SUBJECT_REGIONS = ["110000", "110105", "110108", "320000", "320100", "320102", "320211", "310115"]
KINDS = ["court", "tax", "market_regulation", "civil_affairs", "institutional_staffing"]


def authority(kind: str, level: str, region: str, registers: bool = False) -> Authority:
    return Authority.model_validate(
        {
            "code": f"{kind}.x{region}",
            "name": {"zh": "机关", "en": "Office"},
            "kind": kind,
            "level": level,
            "region": region,
            "registration_authority": registers,
        }
    )


def organisation_type(rule: JurisdictionRule) -> RecordType:
    """A type about organisations under ``rule`` (and about any person, where persons fit)."""
    registration = rule is REGISTRATION_AUTHORITY
    return RecordType.model_validate(
        {
            "code": f"test.{rule}",
            "name": {"zh": "测试", "en": "Test"},
            "category": "registration" if registration else "administrative",
            "polarity": "neutral",
            "subject_kinds": ["organisation"] if registration else ["organisation", "person"],
            "severities": {"none": {"published": True, "min_months": 0, "max_months": None}},
            "legal_basis": [{"title": "测试"}],
            "disclosure": "public",
            "domain": "public",
            "authorities": ["*"],
            "jurisdiction": rule if registration else {"organisation": rule, "person": "anywhere"},
        }
    )


def reading_of_the_standards(rule: JurisdictionRule, office: Authority, code: str) -> bool:
    """GB/T 2260: PP0000 a province or province-level city, PPCC00 a city, PPCCDD a district;
    GB 32100: position 1 the registration department, positions 3-8 its region."""
    region = code[2:8]
    if rule is ANYWHERE:
        return True
    if rule is SUBJECT_REGION:
        if office.level is AuthorityLevel.NATIONAL:
            return True
        if office.region.endswith("0000"):
            return region[:2] == office.region[:2]
        if office.region.endswith("00"):
            return region[:4] == office.region[:4]
        return region == office.region
    return (
        office.registration_authority
        and REGISTERING_KINDS.get(code[0]) is office.kind
        and region == office.region
    )


@st.composite
def offices(draw: st.DrawFn) -> Authority:
    level = draw(st.sampled_from(list(REGIONS)))
    kind = draw(st.sampled_from(KINDS))
    registers = kind in REGISTERING_KINDS.values() and draw(st.booleans())
    return authority(kind, level, draw(st.sampled_from(REGIONS[level])), registers)


@st.composite
def organisations(draw: st.DrawFn, office: Authority) -> str:
    """A USCC, often of the office's own department or region, so that every branch of the
    rules is reached."""
    own = [code for code, kind in REGISTERING_KINDS.items() if kind is office.kind]
    departments = sorted(uscc.REGISTRATION_AUTHORITIES)
    department = draw(st.sampled_from(own + own + departments if own else departments))
    entity = next(iter(uscc.ENTITY_TYPES[department]))
    body = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    region = draw(st.sampled_from([office.region, *SUBJECT_REGIONS]))
    return uscc.make(department, entity, region, body)


@given(data=st.data(), office=offices(), rule=st.sampled_from(list(JurisdictionRule)))
def test_the_check_follows_the_standards(
    data: st.DataObject, office: Authority, rule: JurisdictionRule
) -> None:
    code = data.draw(organisations(office))
    record_type = organisation_type(rule)
    jurisdiction = Jurisdiction(
        {record_type.code: record_type},
        {office.code: office},
        [(office.code, record_type.code)],
    )
    refusal = jurisdiction.refusal(office.code, record_type.code, "organisation", code)
    assert (refusal is None) is reading_of_the_standards(rule, office, code)
    if refusal is not None:
        assert refusal.startswith(f"{office.code} may not ") and code in refusal
    if rule is not REGISTRATION_AUTHORITY:
        person = "11010519491231002X"
        assert jurisdiction.refusal(office.code, record_type.code, "person", person) is None


def test_pairs_the_catalogue_does_not_allow_are_refused() -> None:
    jurisdiction = load_shipped().jurisdiction
    organisation = uscc.make("9", "1", "110105", "MA000001")
    assert (
        jurisdiction.refusal("court.110105", "court.judgment", "organisation", organisation) is None
    )
    assert "may not submit" in str(
        jurisdiction.refusal("tax.110105", "court.judgment", "organisation", organisation)
    )
    assert "may not submit" in str(
        jurisdiction.refusal("court.999999", "court.judgment", "organisation", organisation)
    )
    assert "do not concern a person" in str(
        jurisdiction.refusal("tax.110000", "tax.credit_rating", "person", "11010519491231002X")
    )
