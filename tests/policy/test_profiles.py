"""Import profiles are validated with the rest of the pack: what a profile names must exist in
its record type, and a profile must say how a graded type's severity is decided."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from xinyong.policy import check_pack, shipped_pack_path

FILE = "profiles/double_publicity.yaml"


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "national"
    shutil.copytree(shipped_pack_path("national"), folder)
    return folder


def edit_penalty(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / FILE
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document["profiles"][0])
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


def test_the_shipped_profiles_name_what_their_record_types_have(pack_dir: Path) -> None:
    assert check_pack(pack_dir) == []


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda p: p.update(record_type="admin.fine"),
            "profiles[0].record_type",
            "unknown record type 'admin.fine'",
        ),
        (
            lambda p: p["fields"].update(sanction={"column": "处罚内容"}),
            "profiles[0].fields.sanction",
            "admin.penalty has no field 'sanction'",
        ),
        (
            lambda p: p.update(severity={"column": "处罚等级", "values": {"严重": "grave"}}),
            "profiles[0].severity.values.严重",
            "'grave' is not a grade of admin.penalty",
        ),
        (
            lambda p: p.pop("severity"),
            "profiles[0].severity",
            "admin.penalty has several grades: say how one is decided",
        ),
    ],
)
def test_a_profile_naming_what_its_record_type_lacks_is_refused_where_it_says_so(
    pack_dir: Path, change: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    edit_penalty(pack_dir, change)
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path, issue.message) == (FILE, path, message)


def test_a_severity_rule_needs_exactly_one_way_to_decide(pack_dir: Path) -> None:
    edit_penalty(
        pack_dir, lambda p: p.update(severity={"column": "等级", "publicity_end": "公示截止期"})
    )
    [issue] = check_pack(pack_dir)
    assert issue.file == FILE and "exactly one of column and publicity_end" in issue.message
