"""Lists, measures, memoranda and actions: what the national pack ships, and the validation
rules, each reported with file and path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from xinyong.policy import Pack, PolicyIssue, check_pack, shipped_pack_path
from xinyong.policy.lists import Extension, ListKind

Document = dict[str, Any]

HIGH_CONSUMPTION_ACTIONS = {
    "buy_air_ticket",
    "buy_soft_sleeper_ticket",
    "buy_high_speed_rail_ticket",
    "buy_ship_cabin_ticket",
    "stay_at_star_hotel",
    "spend_at_nightclub",
    "play_golf",
    "buy_real_estate",
    "build_or_renovate_home",
    "rent_high_grade_office",
    "buy_non_business_vehicle",
    "book_tourism",
    "enrol_child_in_high_fee_school",
    "buy_high_premium_insurance_or_wealth_product",
}


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


def located(issues: list[PolicyIssue]) -> set[tuple[str, str]]:
    return {(issue.file, issue.path) for issue in issues}


def test_court_defaulter_list_follows_the_court_rules(national: Pack) -> None:
    """法释〔2017〕7号 Arts. 1, 2, 10: six grounds; 2 years extendable by 1-3 years; removal on
    performance, a performed settlement, terminated enforcement or a revoked basis."""
    defaulters = national.lists["court.defaulters"]
    assert defaulters.kind is ListKind.BLACK
    [rule] = defaulters.entry
    assert len(rule.fields["ground"]) == 6
    assert defaulters.duration_months == 24
    assert defaulters.extension is not None and defaulters.extension.max_months == 36
    assert defaulters.removal is not None
    assert defaulters.removal.record_types == ("court.obligation_performed",)
    how = national.record_types["court.obligation_performed"].fields["properties"]["how"]  # type: ignore[index, call-overload]
    assert set(how["enum"]) == {  # type: ignore[index]
        "performed",
        "settlement_performed",
        "enforcement_terminated",
        "basis_revoked",
    }


def test_every_kind_of_restricted_spending_is_an_action_with_a_measure(national: Pack) -> None:
    """法释〔2015〕17号 Art. 3, with the 2015 addition of G-series and first-class bullet-train seats."""
    assert set(national.actions) >= HIGH_CONSUMPTION_ACTIONS
    restricted = national.lists["court.consumption_restricted"]
    touched = {
        action
        for applied in restricted.measures
        for action in national.measures[applied.measure].effects
    }
    assert touched == HIGH_CONSUMPTION_ACTIONS


def test_the_2016_memorandum_has_its_eight_categories(national: Pack) -> None:
    """发改财金〔2016〕141号: 44 signatories; measures in 8 categories (docs/sources.md §5)."""
    memorandum = national.memoranda["memo.2016.judgment_defaulters"]
    assert memorandum.document_no == "发改财金〔2016〕141号"
    assert len(memorandum.signatories) == 44
    assert len(memorandum.measures) >= 30
    categories = {national.measures[applied.measure].category for applied in memorandum.measures}
    assert categories == {
        "financial_institutions",
        "civil_commercial",
        "sector_entry",
        "key_positions",
        "subsidies_honours",
        "consumption",
        "travel",
        "information_sharing",
    }
    extended = {
        applied.measure
        for applied in memorandum.measures
        if applied.extends_to_legal_representative is Extension.WHILE_REPRESENTING
    }
    assert extended and all(code.startswith("consumption.") for code in extended)


def test_the_other_shipped_lists(national: Pack) -> None:
    assert {"tax.serious_violators", "market.serious_violators", "hrss.wage_arrears"} <= set(
        national.lists
    )
    red = national.lists["tax.a_grade_taxpayers"]
    assert red.kind is ListKind.RED and red.entry[0].fields == {"grade": ("A",)}
    rewards = {
        effect
        for memorandum in national.memoranda.values()
        if red.code in memorandum.triggers
        for applied in memorandum.measures
        for effect in national.measures[applied.measure].effects.values()
    }
    assert rewards == {"expedite", "reduce_inspection", "waive_deposit"}
    market = national.lists["market.serious_violators"]
    bar = next(a for a in market.measures if a.measure == "market.bar_legal_representative")
    assert (bar.extends_to_legal_representative, bar.months) == (Extension.AT_LISTING, 36)


def test_unknown_references_are_errors(pack_dir: Path) -> None:
    def lists(document: Document) -> None:
        first = document["lists"][0]
        first["owner"] = "court.999999"
        first["entry"][0]["record_type"] = "court.no_such_type"
        first["removal"]["record_types"] = ["court.nothing"]

    edit(pack_dir, "lists.yaml", lists)
    edit(pack_dir, "memoranda.yaml", lambda d: d["memoranda"][0]["triggers"].append("no.list"))
    edit(
        pack_dir,
        "memoranda.yaml",
        lambda d: d["memoranda"][0]["measures"].append({"measure": "no.measure"}),
    )
    edit(pack_dir, "measures.yaml", lambda d: d["measures"][0]["effects"].update(fly=("deny")))
    assert located(check_pack(pack_dir)) == {
        ("lists.yaml", "lists[0].owner"),
        ("lists.yaml", "lists[0].entry[0].record_type"),
        ("lists.yaml", "lists[0].removal.record_types[0]"),
        ("memoranda.yaml", "memoranda[0].triggers[1]"),
        ("memoranda.yaml", "memoranda[0].measures[37].measure"),
        ("measures.yaml", "measures[0].effects.fly"),
    }


def test_an_action_no_measure_touches_is_an_error(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "actions.yaml",
        lambda d: d["actions"].append(
            {
                "code": "adopt_a_cat",
                "name": {"zh": "领养猫", "en": "Adopt a cat"},
                "asked_by": ["x"],
            }
        ),
    )
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == ("actions.yaml", "actions[32].code")
    assert issue.message == "no measure touches this action"


def test_a_measure_without_legal_basis_is_an_error(pack_dir: Path) -> None:
    """Every consequence has a legal basis."""
    edit(pack_dir, "measures.yaml", lambda d: d["measures"][3].pop("legal_basis"))
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == ("measures.yaml", "measures[3].legal_basis")
    assert "needs a legal basis" in issue.message


def test_a_red_list_carrying_a_punishment_is_an_error(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "memoranda.yaml",
        lambda d: d["memoranda"][1]["measures"].append({"measure": "consumption.air_travel"}),
    )
    edit(
        pack_dir,
        "lists.yaml",
        lambda d: d["lists"][5].update(measures=[{"measure": "civil.no_public_procurement"}]),
    )
    issues = check_pack(pack_dir)
    assert located(issues) == {
        ("memoranda.yaml", "memoranda[1].measures[3].measure"),
        ("lists.yaml", "lists[5].measures[0].measure"),
    }
    assert all("red list and cannot carry the punishment" in issue.message for issue in issues)


def test_a_measure_effect_must_fit_its_kind(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "measures.yaml",
        lambda d: d["measures"][0]["effects"].update(buy_air_ticket="expedite"),
    )
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == ("measures.yaml", "measures[0].effects")
