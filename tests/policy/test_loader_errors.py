"""Packs with mistakes are refused, with every issue located by file, path and line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from xinyong.policy import PolicyError, PolicyIssue, check_pack, load_pack, shipped_pack_path

Document = dict[str, Any]


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "national"
    shutil.copytree(shipped_pack_path("national"), folder)
    return folder


def edit(folder: Path, file: str, change: Callable[[Document], None]) -> None:
    path = folder / file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


def item(document: Document, code: str) -> Document:
    items = document.get("record_types") or document["authorities"]
    found: Document = next(entry for entry in items if entry["code"] == code)
    return found


def located(issues: list[PolicyIssue]) -> set[tuple[str, str]]:
    return {(issue.file, issue.path) for issue in issues}


def line_of(folder: Path, file: str, text: str) -> int:
    lines = (folder / file).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_shipped_copy_has_no_issues(pack_dir: Path) -> None:
    assert check_pack(pack_dir) == []


def test_record_type_without_legal_basis_is_refused(pack_dir: Path) -> None:
    """Records, not surveillance: a record type without legal basis fails policy validation."""
    edit(
        pack_dir,
        "catalogue/judicial.yaml",
        lambda d: item(d, "court.defaulter_listing").pop("legal_basis"),
    )
    with pytest.raises(PolicyError) as refused:
        load_pack(pack_dir)
    [issue] = refused.value.issues
    assert (issue.file, issue.path) == ("catalogue/judicial.yaml", "record_types[1].legal_basis")
    assert issue.message == "required key missing"
    # A missing key is reported at the item that lacks it.
    assert issue.line == line_of(
        pack_dir, "catalogue/judicial.yaml", "code: court.defaulter_listing"
    )
    assert str(issue) == f"catalogue/judicial.yaml:{issue.line}: {issue.path}: required key missing"
    assert str(issue) in str(refused.value)


def test_empty_legal_basis_is_refused(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "catalogue/honours.yaml",
        lambda d: item(d, "volunteer.service").update(legal_basis=[]),
    )
    assert located(check_pack(pack_dir)) == {
        ("catalogue/honours.yaml", "record_types[1].legal_basis")
    }


def test_every_issue_is_reported_not_only_the_first(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "catalogue/honours.yaml",
        lambda d: item(d, "health.blood_donation").update(authorities=["hospital.*"]),
    )
    edit(
        pack_dir,
        "catalogue/voluntary.yaml",
        lambda d: item(d, "voluntary.disclosure")["fields"]["properties"]["title"].update(
            type="text"
        ),
    )
    edit(
        pack_dir,
        "catalogue/administrative.yaml",
        lambda d: item(d, "environment.penalty")["severities"]["general"].update(max_months=24),
    )
    issues = check_pack(pack_dir)
    assert located(issues) == {
        ("catalogue/honours.yaml", "record_types[2].authorities[0]"),
        ("catalogue/voluntary.yaml", "record_types[0].fields"),
        ("catalogue/administrative.yaml", "record_types[2].severities"),
    }
    assert len(issues) == 3


def test_unknown_authority_reference(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "catalogue/judicial.yaml",
        lambda d: item(d, "court.judgment").update(authorities=["court.*", "tribunal.110105"]),
    )
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == ("catalogue/judicial.yaml", "record_types[0].authorities[1]")
    assert "'tribunal.110105' matches no authority" in issue.message


def test_removing_an_authority_breaks_its_references(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "authorities.yaml",
        lambda d: d.update(authorities=[a for a in d["authorities"] if a["kind"] != "railway"]),
    )
    assert located(check_pack(pack_dir)) == {
        ("catalogue/law_compliance.yaml", "record_types[1].authorities[0]")
    }


def test_an_invalid_authority_is_reported_once(pack_dir: Path) -> None:
    """References to an item that exists but is invalid are not reported again."""
    edit(pack_dir, "authorities.yaml", lambda d: item(d, "railway.china").update(region="CN"))
    [issue] = check_pack(pack_dir)
    assert issue.file == "authorities.yaml"
    assert issue.path.endswith(".region")


@pytest.mark.parametrize(
    ("schema_change", "expected"),
    [
        (
            {"properties": {"case_no": {"type": "string", "pattern": "["}}},
            "not a valid JSON Schema",
        ),
        ({"properties": {"case_no": {"type": "strin"}}}, "'strin' is not a JSON type"),
        ({"dependentRequired": {"case_no": ["cause"]}}, "dependentRequired: keyword not supported"),
        ({"properties": {"on": {"type": "string", "format": "datum"}}}, "unknown format 'datum'"),
        ({"properties": {"x": {"$ref": "https://example.org/s.json"}}}, "only local references"),
        ({"additionalProperties": True}, "additionalProperties: must be false"),
        ({"required": ["case_no", "judge"]}, "'judge' is not declared"),
        ({"type": "array"}, "type: must be 'object'"),
    ],
)
def test_bad_fields_schema(pack_dir: Path, schema_change: Document, expected: str) -> None:
    edit(
        pack_dir,
        "catalogue/judicial.yaml",
        lambda d: item(d, "court.judgment")["fields"].update(schema_change),
    )
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == ("catalogue/judicial.yaml", "record_types[0].fields")
    assert expected in issue.message


@pytest.mark.parametrize(
    ("grade", "period", "expected"),
    [
        (
            "general",
            {"published": True, "min_months": 3, "max_months": 24},
            "general: 3-24 months is outside 3-12",
        ),
        (
            "general",
            {"published": True, "min_months": 1, "max_months": 12},
            "general: 1-12 months is outside 3-12",
        ),
        (
            "serious",
            {"published": True, "min_months": 6, "max_months": 36},
            "serious: 6-36 months is outside 12-36",
        ),
        (
            "serious",
            {"published": True, "min_months": 12, "max_months": 48},
            "serious: 12-48 months is outside 12-36",
        ),
        (
            "minor",
            {"published": True, "min_months": 0, "max_months": 6},
            "minor: 0-6 months is outside 0-3",
        ),
        (
            "serious",
            {"published": True, "min_months": 12, "max_months": None},
            "max_months must be set",
        ),
    ],
)
def test_penalty_periods_outside_the_rule(
    pack_dir: Path, grade: str, period: Document, expected: str
) -> None:
    """信用修复管理办法 (2026-04-01): minor <= 3 months, general 3-12, serious 12-36."""
    edit(
        pack_dir,
        "catalogue/administrative.yaml",
        lambda d: item(d, "admin.penalty")["severities"].update({grade: period}),
    )
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == (
        "catalogue/administrative.yaml",
        "record_types[1].severities",
    )
    assert expected in issue.message


def test_minimum_above_maximum(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "catalogue/abnormal_operations.yaml",
        lambda d: item(d, "market.abnormal_operations")["severities"]["general"].update(
            min_months=40
        ),
    )
    [issue] = check_pack(pack_dir)
    assert issue.path == "record_types[0].severities.general"
    assert "min_months (40) is above max_months (36)" in issue.message


def test_yaml_syntax_error_names_the_line(pack_dir: Path) -> None:
    (pack_dir / "catalogue" / "honours.yaml").write_text(
        "record_types:\n  - code: honour.commendation\n    name: {zh: 表彰, en: [unclosed}\n",
        encoding="utf-8",
    )
    issues = check_pack(pack_dir)
    syntax = [issue for issue in issues if issue.file == "catalogue/honours.yaml"]
    assert len(syntax) == 1
    assert syntax[0].line == 3
    assert "YAML syntax error at line 3" in syntax[0].message


def test_empty_and_undecodable_files(pack_dir: Path) -> None:
    (pack_dir / "catalogue" / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    (pack_dir / "catalogue" / "latin1.yaml").write_bytes(
        "record_types: []  # caf\xe9\n".encode("latin-1")
    )
    issues = {issue.file: issue.message for issue in check_pack(pack_dir)}
    assert issues["catalogue/empty.yaml"] == "the file is empty"
    assert issues["catalogue/latin1.yaml"].startswith("not UTF-8 text")
    assert len(issues) == 2


def test_unknown_top_level_file_is_refused(pack_dir: Path) -> None:
    (pack_dir / "authority.yaml").write_text("authorities: []\n", encoding="utf-8")
    (pack_dir / "lists.yml").write_text("lists: []\n", encoding="utf-8")
    (pack_dir / "catalogue" / "notes.txt").write_text("notes\n", encoding="utf-8")
    (pack_dir / ".editor-swap").write_text("ignored\n", encoding="utf-8")
    issues = {issue.file: issue for issue in check_pack(pack_dir)}
    assert set(issues) == {"authority.yaml", "lists.yml", "catalogue/notes.txt"}
    assert "did you mean authorities.yaml?" in issues["authority.yaml"].message


def test_missing_pack_file(pack_dir: Path) -> None:
    (pack_dir / "pack.yaml").unlink()
    assert located(check_pack(pack_dir)) == {("pack.yaml", "")}


def test_unknown_and_misspelt_keys(pack_dir: Path) -> None:
    edit(pack_dir, "pack.yaml", lambda d: d.update(verison="2"))
    edit(
        pack_dir,
        "catalogue/voluntary.yaml",
        lambda d: item(d, "voluntary.disclosure")["severities"].update(
            nonee={"published": True, "min_months": 0, "max_months": 1}
        ),
    )
    issues = {(issue.file, issue.path): issue.message for issue in check_pack(pack_dir)}
    assert issues[("pack.yaml", "verison")] == "unknown key"
    assert (
        "Input should be"
        in issues[("catalogue/voluntary.yaml", "record_types[0].severities.nonee")]
    )


def test_repeated_yaml_key_is_refused(pack_dir: Path) -> None:
    path = pack_dir / "catalogue" / "voluntary.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("    polarity: neutral\n", "    polarity: neutral\n    polarity: positive\n"),
        "utf-8",
    )
    [issue] = check_pack(pack_dir)
    assert issue.path == "record_types[0].polarity"
    assert "key repeated" in issue.message


def test_duplicate_code_across_files(pack_dir: Path) -> None:
    def add_copy(document: Document) -> None:
        document["record_types"].append(dict(item(document, "court.judgment")))

    edit(pack_dir, "catalogue/judicial.yaml", add_copy)
    (pack_dir / "catalogue" / "judicial.yaml").rename(pack_dir / "catalogue" / "courts.yaml")
    issues = check_pack(pack_dir)
    assert [(i.file, i.path) for i in issues] == [("catalogue/courts.yaml", "record_types[4].code")]
    assert "already defined at catalogue/courts.yaml: record_types[0]" in issues[0].message


def test_ends_must_name_a_negative_type(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "catalogue/judicial.yaml",
        lambda d: item(d, "court.obligation_performed").update(
            ends=["court.defaulter_listing", "court.judgment", "court.no_such"]
        ),
    )
    issues = {issue.path: issue.message for issue in check_pack(pack_dir)}
    assert set(issues) == {"record_types[2].ends[1]", "record_types[2].ends[2]"}
    assert "not negative" in issues["record_types[2].ends[1]"]
    assert "unknown record type 'court.no_such'" in issues["record_types[2].ends[2]"]


def test_only_registration_authorities_confirm_subjects(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "catalogue/registration.yaml",
        lambda d: item(d, "market.registration").update(authorities=["market.*", "tax.110000"]),
    )
    [issue] = check_pack(pack_dir)
    assert issue.path == "record_types[0].authorities[1]"
    assert "tax.110000 is not a registration authority" in issue.message


def write_child(folder: Path, name: str, extends: str, catalogue: Document | None = None) -> Path:
    folder.mkdir()
    manifest = {
        "name": name,
        "version": "1",
        "title": {"zh": "试点", "en": "Pilot"},
        "description": "A pack built on another.",
        "extends": extends,
    }
    (folder / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), "utf-8")
    if catalogue is not None:
        (folder / "catalogue").mkdir()
        (folder / "catalogue" / "pilot.yaml").write_text(
            yaml.safe_dump(catalogue, allow_unicode=True), "utf-8"
        )
    return folder


def test_extends_a_shipped_pack(tmp_path: Path) -> None:
    judgment = yaml.safe_load(
        (shipped_pack_path("national") / "catalogue" / "judicial.yaml").read_text("utf-8")
    )
    pilot_item = {
        **item(judgment, "court.judgment"),
        "code": "court.mediation",
        "authorities": ["court.110105"],
    }
    child = write_child(
        tmp_path / "city-pilot", "city-pilot", "national", {"record_types": [pilot_item]}
    )
    pack = load_pack(child)
    assert pack.extends == "national"
    assert "court.mediation" in pack.record_types and "admin.penalty" in pack.record_types
    assert pack.may_submit("court.110105", "court.mediation")
    assert not pack.may_submit("court.110108", "court.mediation")
    assert pack.digest != load_pack(shipped_pack_path("national")).digest


def test_extends_problems(tmp_path: Path) -> None:
    write_child(tmp_path / "a", "a", "b")
    write_child(tmp_path / "b", "b", "a")
    write_child(tmp_path / "lost", "lost", "nowhere")
    [cycle] = check_pack(tmp_path / "a")
    # The cycle closes at b, which a extends; issues of an extended pack carry its name.
    assert (cycle.file, cycle.path) == ("b/pack.yaml", "extends")
    assert "cycle" in cycle.message
    [missing] = check_pack(tmp_path / "lost")
    assert "no pack 'nowhere'" in missing.message


def test_a_replaced_item_that_breaks_the_extended_pack(tmp_path: Path) -> None:
    child = write_child(tmp_path / "pilot", "pilot", "national")
    national = yaml.safe_load(
        (shipped_pack_path("national") / "authorities.yaml").read_text("utf-8")
    )
    office = {**item(national, "market.110105"), "registration_authority": False}
    (child / "authorities.yaml").write_text(
        yaml.safe_dump({"authorities": [office]}, allow_unicode=True), "utf-8"
    )
    issues = check_pack(child)
    assert {(issue.file, issue.path) for issue in issues} == {("pack.yaml", "extends")}
    # Every type only a registration authority may submit: registrations and the
    # abnormal operations list, which the registering office keeps.
    broken = {issue.message.split(".authorities")[0] for issue in issues}
    assert broken == {
        f"in national, record_types[{code!r}]"
        for code in (
            "market.registration",
            "market.registration_change",
            "market.abnormal_operations",
            "market.abnormal_operations_removal",
        )
    }
    assert all("market.110105 is not a registration authority" in i.message for i in issues)


def test_a_manifest_typo_does_not_hide_other_issues(tmp_path: Path) -> None:
    judicial = yaml.safe_load(
        (shipped_pack_path("national") / "catalogue" / "judicial.yaml").read_text("utf-8")
    )
    stray = {
        **item(judicial, "court.judgment"),
        "code": "court.mediation",
        "authorities": ["courts.*"],
    }
    child = write_child(tmp_path / "pilot", "pilot", "national", {"record_types": [stray]})
    edit(child, "pack.yaml", lambda d: d.update(titel=d["title"]))
    assert located(check_pack(child)) == {
        ("pack.yaml", "titel"),
        ("catalogue/pilot.yaml", "record_types[0].authorities[0]"),
    }
