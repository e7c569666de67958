"""The city's rows against the policy pack: good rows pass every rule, planted rows break one."""

import copy
import re
from collections import Counter, defaultdict
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from xinyong.identifiers import IdentifierKind, parse
from xinyong.policy import (
    AmountRule,
    Bilingual,
    Category,
    Disclosure,
    Domain,
    JurisdictionRule,
    LegalBasis,
    Pack,
    Polarity,
    PublicityPeriod,
    RecordType,
    Severity,
    SubjectKind,
    load_shipped,
)
from xinyong.synth import DEFECT_KINDS, MANIFEST, generate, iter_records
from xinyong.synth.population import DISTRICT_BY_CODE
from xinyong.synth.records import CityRecords, SynthRow

AS_OF = date(2026, 11, 1)
PERSONS, ORGS, SEED = 6_000, 1_000, 3
SUBJECT_KINDS = {"person": IdentifierKind.RESIDENT_ID, "organisation": IdentifierKind.USCC}
SUBJECT_OF = {kind: subject for subject, kind in SUBJECT_KINDS.items()}
FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
# The city's rows and files are built once a module and the larger city once a process: the
# module's tests share one xdist worker, which builds them once a run.
pytestmark = pytest.mark.xdist_group("synth-records")


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_shipped("national")


@pytest.fixture(scope="module")
def stream(pack: Pack) -> list[SynthRow]:
    return city_rows(PERSONS, ORGS, SEED)


@cache
def city_rows(persons: int, organisations: int, seed: int) -> list[SynthRow]:
    return list(CityRecords(load_shipped("national"), persons, organisations, seed, AS_OF).rows())


# The city the files are made of, and a larger one with another seed for rarer cases.
CITIES = [(PERSONS, ORGS, SEED), (30_000, 4_000, 11)]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate(out, PERSONS, ORGS, SEED, "jsonl", AS_OF)
    return out


@pytest.fixture(scope="module")
def manifest(city: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((city / MANIFEST).read_bytes())
    return loaded


@pytest.fixture(scope="module")
def files(city: Path, manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Rows of each file, in file order, keyed by authority."""
    return {
        entry["authority"]: [
            orjson.loads(line) for line in (city / entry["file"]).read_bytes().splitlines()
        ]
        for entry in manifest["files"]
    }


def problems(row: dict[str, Any], pack: Pack) -> list[str]:
    """Every rule of the pack ``row`` breaks, named like the defect kinds; empty when valid."""
    record_type = pack.record_types.get(row["record_type"])
    if record_type is None:
        return ["unknown_record_type"]
    found = []
    authority = pack.authorities[row["authority"]]
    if not pack.may_submit(authority.code, record_type.code):
        found.append("authority_not_allowed")
    parsed = parse(row["subject_id"], today=AS_OF)
    if parsed.kind not in {SUBJECT_KINDS[str(kind)] for kind in record_type.subject_kinds}:
        found.append("wrong_subject_kind")
    elif not parsed.valid and not (parsed.suspect and authority.registration_authority):
        found.append("bad_check_character" if parsed.suspect else "invalid_identifier")
    if row.get("op") == "withdraw":
        return found  # withdrawing its own decision is open to an authority whatever the subject
    if found == [] and pack.jurisdiction.refusal(
        authority.code, record_type.code, SUBJECT_OF[parsed.kind], parsed.code
    ):
        found.append("outside_jurisdiction")
    decided, effective = (
        date.fromisoformat(row["decided_on"]),
        date.fromisoformat(row["effective_on"]),
    )
    if decided > AS_OF or effective > AS_OF:
        found.append("future_decision")
    if effective < decided:
        found.append("effective_before_decided")
    if row["severity"] not in {str(grade) for grade in record_type.severities}:
        found.append("unknown_severity")
    if ("amount" in row) != (record_type.amount == "required") and record_type.amount != "optional":
        found.append("amount_rule")
    if "amount" in row and not 0 < row["amount"] < 1e15:
        found.append("amount_range")
    return found + _fields_problems(row["fields"], record_type.fields)


_fields_found: dict[tuple[int, str], list[str]] = {}


def _fields_problems(fields: Any, schema: dict[str, Any]) -> list[str]:
    """``_fields_problems_of``, once for each value of a record type's fields: half the city's
    rows repeat another's (a grade and a year, a loan's kind and term), and the schema's
    validation was most of these tests' time. The key is the value's ``repr``, which tells
    apart what JSON would not (1 from 1.0 and True, a list from a tuple, NaN from null), and
    the schema's validator, which ``_validators`` keeps for the run, so its id is not reused."""
    key = (id(_validator(schema)), repr(fields))
    found = _fields_found.get(key)
    if found is None:
        found = _fields_found[key] = _fields_problems_of(fields, schema)
    return list(found)


def _fields_problems_of(fields: Any, schema: dict[str, Any]) -> list[str]:
    if isinstance(fields, str):
        try:
            fields = orjson.loads(fields)
        except orjson.JSONDecodeError:
            return ["malformed_fields_json"]
    failed = {error.validator for error in _validator(schema).iter_errors(fields)}
    named = {"required": "missing_required_field", "type": "wrong_field_type"}
    named["maxLength"] = "over_long_text"
    found = {named.get(str(keyword), f"fields_schema_{keyword}") for keyword in failed}
    if "wrong_field_type" in found:
        found.discard("fields_schema_enum")  # a number where an enum of text is expected
    representative = fields.get("legal_representative_id") if isinstance(fields, dict) else None
    if (
        isinstance(representative, str)
        and not parse(representative, IdentifierKind.RESIDENT_ID).valid
    ):
        found.add("invalid_representative")
    return sorted(found)


_validators: dict[int, tuple[dict[str, Any], jsonschema.Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """One validator for each record type's schema, not one for each of the city's rows; keyed
    by the schema's identity, which the pack keeps alive (and the entry holds too)."""
    if id(schema) not in _validators:
        validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        _validators[id(schema)] = (schema, validator)
    return _validators[id(schema)][1]


def submitted(files: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [row for rows in files.values() for row in rows if row.get("op", "submit") == "submit"]


def test_the_stream_is_what_the_files_hold(
    stream: list[SynthRow], files: dict[str, list[dict[str, Any]]]
) -> None:
    by_authority = defaultdict(list)
    for row in stream:
        by_authority[row.record["authority"]].append(row.record)
    assert dict(by_authority) == files
    assert list(iter_records(PERSONS, ORGS, SEED, AS_OF)) == [row.record for row in stream]


@pytest.mark.parametrize("size", CITIES)
def test_every_good_row_passes_the_pack_rules(size: tuple[int, int, int], pack: Pack) -> None:
    stream = city_rows(*size)
    failures = [
        (row.record, found)
        for row in stream
        if row.defect is None and (found := problems(row.record, pack))
    ]
    assert not failures[:5]
    assert len(stream) > 5_000


@pytest.mark.parametrize("size", CITIES)
def test_each_planted_row_breaks_exactly_its_rule(size: tuple[int, int, int], pack: Pack) -> None:
    planted = [row for row in city_rows(*size) if row.defect is not None]
    assert {row.defect for row in planted} == set(DEFECT_KINDS)
    wrong = [(row.defect, problems(row.record, pack), row.record) for row in planted]
    assert [entry for entry in wrong if entry[1] != [entry[0]]][:5] == []
    # Still in the future when the files are ingested a while after the as-of date.
    future = [row.record for row in planted if row.defect == "future_decision"]
    assert all(date.fromisoformat(r["decided_on"]) > date(2028, 11, 1) for r in future)


def test_the_manifest_counts_what_the_files_hold(
    files: dict[str, list[dict[str, Any]]], manifest: dict[str, Any], pack: Pack
) -> None:
    for entry in manifest["files"]:
        rows = files[entry["authority"]]
        found = Counter(kind for row in rows for kind in problems(row, pack))
        assert entry["rows"] == len(rows)
        assert dict(found) == entry["malformed"], entry["file"]
    total = sum(len(rows) for rows in files.values())
    assert manifest["rows"] == total
    assert manifest["malformed"]["total"] == sum(manifest["malformed"]["by_kind"].values())
    assert 0.007 < manifest["malformed"]["total"] / total < 0.014
    assert manifest["unfit_skipped"] == 0
    assert (manifest["persons"], manifest["organisations"]) == (PERSONS, ORGS)
    assert (manifest["seed"], manifest["as_of"]) == (SEED, AS_OF.isoformat())


def test_registration_authorities_come_first_in_the_ingest_order(
    manifest: dict[str, Any], pack: Pack
) -> None:
    order = [name.removesuffix(".jsonl") for name in manifest["ingest_order"]]
    registering = [pack.authorities[code].registration_authority for code in order]
    assert registering == sorted(registering, reverse=True)
    assert "market.110105" in order[: registering.count(True)]
    assert len(order) == len(set(order)) >= 25


def test_document_numbers_are_unique_per_authority_and_type(
    files: dict[str, list[dict[str, Any]]],
) -> None:
    keys = Counter((r["authority"], r["record_type"], r["document_no"]) for r in submitted(files))
    assert [key for key, count in keys.items() if count > 1] == []


@pytest.mark.parametrize(
    ("authority", "record_type", "pattern"),
    [
        ("court.110105", "court.defaulter_listing", r"\(20\d\d\)京0105执\d+号"),
        ("court.110105", "court.judgment", r"\(20\d\d\)京0105民初\d+号"),
        ("court.110105", "court.obligation_performed", r"\(20\d\d\)京0105执\d+号之一"),
        ("market.110105", "admin.penalty", r"京朝市监罚〔20\d\d〕\d+号"),
        ("market.110000", "market.registration", r"京市监登〔(19|20)\d\d〕\d+号"),
        ("ip.cnipa", "ip.patent_grant", r"ZL20\d\d1\d{7}\.[0-9X]"),
    ],
)
def test_document_numbers_follow_real_styles(
    files: dict[str, list[dict[str, Any]]], authority: str, record_type: str, pattern: str
) -> None:
    numbers = [r["document_no"] for r in files[authority] if r["record_type"] == record_type]
    assert numbers
    assert all(re.fullmatch(pattern, number) for number in numbers)


def test_corrections_and_withdrawals_follow_their_submission(
    files: dict[str, list[dict[str, Any]]],
) -> None:
    changes = 0
    for rows in files.values():
        current: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            key = (row["record_type"], row["document_no"])
            op = row.get("op", "submit")
            if op == "submit":
                current[key] = row
                continue
            changes += 1
            assert key in current, row
            previous = current[key]
            assert row["subject_id"] == previous["subject_id"]
            if op == "correct":
                changed = {
                    c for c in ("amount", "fields", "effective_on") if row.get(c) != previous.get(c)
                }
                assert changed, row
                current[key] = row
            else:
                assert set(row) == {"record_type", "subject_id", "authority", "document_no", "op"}
    total = sum(len(rows) for rows in files.values())
    assert 0.01 < changes / total < 0.025


def test_dates_lie_in_the_five_years_before_the_as_of_date(
    stream: list[SynthRow], pack: Pack
) -> None:
    years = Counter()
    for row in stream:
        record = row.record
        if row.defect is not None or "decided_on" not in record:
            continue
        decided = date.fromisoformat(record["decided_on"])
        assert decided <= date.fromisoformat(record["effective_on"]) <= AS_OF
        if pack.record_types[record["record_type"]].category != "registration":
            assert decided >= date(2021, 11, 1)
            years[decided.year] += 1
    assert set(years) == {2021, 2022, 2023, 2024, 2025, 2026}
    assert min(years[year] for year in range(2022, 2026)) > 0.1 * sum(years.values())


def test_legal_representatives_are_people_of_the_city_and_change(
    stream: list[SynthRow], pack: Pack
) -> None:
    population = CityRecords(pack, PERSONS, ORGS, SEED, AS_OF).population
    people = {p.resident_id: p for p in map(population.person, range(PERSONS))}
    history: dict[str, list[str]] = defaultdict(list)
    for row in stream:
        record = row.record
        fields = record.get("fields")
        if row.defect is not None or record.get("op") or not isinstance(fields, dict):
            continue
        representative = fields.get("legal_representative_id")
        if representative is None:
            continue
        person = people[representative]
        assert fields["legal_representative_name"] == person.name
        assert person.adult_on() <= date.fromisoformat(record["decided_on"])
        history[record["subject_id"]].append(representative)
    registered = len(history)
    changed = [ids for ids in history.values() if len(set(ids)) > 1]
    assert registered > 0.9 * ORGS
    assert 0.1 * registered < len(changed) < 0.4 * registered
    assert all(a != b for ids in changed for a, b in pairwise(ids))


def test_most_people_have_no_negative_record_and_a_few_have_many(
    stream: list[SynthRow], pack: Pack
) -> None:
    negative = Counter(
        row.record["subject_id"]
        for row in stream
        if row.defect is None
        and row.record.get("op") is None
        and len(row.record["subject_id"]) == 18
        and row.record["subject_id"][:2] == "11"
        and pack.record_types[row.record["record_type"]].polarity is Polarity.NEGATIVE
    )
    assert len(negative) < 0.1 * PERSONS
    assert max(negative.values()) >= 4


def test_penalties_are_mostly_minor_or_general(stream: list[SynthRow]) -> None:
    grades = Counter(
        row.record["severity"]
        for row in stream
        if row.defect is None and row.record["record_type"] == "admin.penalty"
    )
    assert grades["minor"] + grades["general"] > 0.8 * grades.total()
    assert grades["serious"] > 0


def test_some_defaulters_later_perform_their_obligation(
    files: dict[str, list[dict[str, Any]]],
) -> None:
    cases: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in submitted(files):
        fields = row["fields"]
        if isinstance(fields, dict) and "case_no" in fields:
            cases[row["record_type"]].add((row["authority"], fields["case_no"]))
    listed, performed = cases["court.defaulter_listing"], cases["court.obligation_performed"]
    assert 0.2 * len(listed) < len(listed & performed) < 0.7 * len(listed)


def test_the_city_has_its_kinds_of_subject_and_record(stream: list[SynthRow]) -> None:
    good = [row.record for row in stream if row.defect is None]
    types = Counter(record["record_type"] for record in good)
    for code in (
        "health.blood_donation",
        "volunteer.service",
        "honour.commendation",
        "admin.licence",
        "bank.loan_repaid_on_time",
        "bank.loan_default",
        "court.consumption_restriction",
        "market.abnormal_operations_removal",
        "civil.social_org_registration",
    ):
        assert types[code] > 0, code
    prefixes = {record["subject_id"][:2] for record in good}
    assert {"91", "92", "51", "52", "N2"} <= prefixes
    districts = {record["subject_id"][:6] for record in good if record["subject_id"][:2] == "11"}
    assert districts <= set(DISTRICT_BY_CODE) and len(districts) == len(DISTRICT_BY_CODE)


def test_suspect_codes_come_only_from_registration_authorities(
    stream: list[SynthRow], pack: Pack
) -> None:
    suspect = [
        row.record
        for row in stream
        if row.defect is None and parse(row.record["subject_id"]).suspect
    ]
    assert suspect
    assert all(pack.authorities[r["authority"]].registration_authority for r in suspect)


def changed_pack(pack: Pack) -> Pack:
    """The national pack with a narrower penalty, a restriction dropped and a new type added."""
    penalty = pack.record_types["admin.penalty"]
    fields = copy.deepcopy(penalty.fields)
    fields["properties"]["penalty_kind"]["enum"] = ["warning", "fine"]  # type: ignore[index]
    severities = {
        grade: period for grade, period in penalty.severities.items() if grade != "serious"
    }
    deposit = RecordType(
        code="housing.deposit_dispute",
        name=Bilingual(zh="租赁押金纠纷处理信息", en="Rental deposit dispute"),
        category=Category.CONTRACT_PERFORMANCE,
        polarity=Polarity.NEGATIVE,
        subject_kinds=(SubjectKind.PERSON, SubjectKind.ORGANISATION),
        severities={Severity.GENERAL: PublicityPeriod(published=True, min_months=3, max_months=12)},
        legal_basis=(LegalBasis(title="住房租赁条例"),),
        disclosure=Disclosure.PUBLIC,
        domain=Domain.PUBLIC,
        amount=AmountRule.REQUIRED,
        fields={
            "type": "object",
            "additionalProperties": False,
            "required": ["deposit_months", "outcome", "handled_on"],
            "properties": {
                "deposit_months": {"type": "integer", "minimum": 1, "maximum": 3},
                "outcome": {"type": "string", "enum": ["refunded", "withheld"]},
                "handled_on": {"type": "string", "format": "date"},
                "note": {"type": "string", "maxLength": 10},
            },
        },
        authorities=("housing.*",),
        jurisdiction={
            SubjectKind.ORGANISATION: JurisdictionRule.SUBJECT_REGION,
            SubjectKind.PERSON: JurisdictionRule.ANYWHERE,
        },
    )
    types = {code: kind for code, kind in pack.record_types.items()}
    types["admin.penalty"] = penalty.model_copy(update={"fields": fields, "severities": severities})
    types[deposit.code] = deposit
    del types["court.consumption_restriction"]
    performed = types["court.obligation_performed"]
    types[performed.code] = performed.model_copy(update={"ends": ("court.defaulter_listing",)})
    return Pack(
        name=pack.name,
        version="changed",
        title=pack.title,
        description=pack.description,
        digest=pack.digest,
        record_types=types,
        authorities=pack.authorities,
    )


def test_rows_stay_valid_when_the_pack_changes(pack: Pack) -> None:
    changed = changed_pack(pack)
    city = CityRecords(changed, 20_000, 2_000, 5, AS_OF)
    stream = list(city.rows())
    good = [row.record for row in stream if row.defect is None]
    assert [(r, found) for r in good if (found := problems(r, changed))][:5] == []
    planted = [(row.defect, problems(row.record, changed)) for row in stream if row.defect]
    assert all(found == [defect] for defect, found in planted)
    types = Counter(record["record_type"] for record in good)
    assert types["housing.deposit_dispute"] > 0 and types["court.consumption_restriction"] == 0
    penalties = [r for r in good if r["record_type"] == "admin.penalty" and r.get("fields")]
    assert {r["severity"] for r in penalties} == {"minor", "general"}
    assert {r["fields"].get("penalty_kind") for r in penalties} == {"warning", "fine", None}
    assert city.unfit == 0
