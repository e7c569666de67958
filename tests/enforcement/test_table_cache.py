"""The decision table ``xinyong check`` reads from its file is the one built from the pack, and
a change to the pack (or to a pack it extends) builds it again."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.enforcement.decisions import DecisionMaker, Grant
from xinyong.enforcement.table_cache import PackTable, cache_file, pack_table, table_of
from xinyong.policy import Pack, load_pack, shipped_pack_path

DAY = date(2024, 6, 1)


@pytest.fixture(scope="module")
def reference(national: Pack) -> PackTable:
    return table_of(national)


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> PackTable:
    """The table as a later check reads it: written by a first check, then read back."""
    cache = tmp_path_factory.mktemp("cache")
    pack_table("national", cache)
    assert cache_file(shipped_pack_path("national"), cache).is_file()
    return pack_table("national", cache)


def test_the_cached_table_is_the_packs(reference: PackTable, cached: PackTable) -> None:
    assert cached.actions == reference.actions
    assert cached.table == reference.table


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_decision_is_the_same_from_either_table(
    reference: PackTable, cached: PackTable, data: st.DataObject
) -> None:
    bundles = sorted(reference.table.bundles)
    grants = data.draw(
        st.lists(
            st.builds(
                lambda bundle, start, days, entry, via: Grant(
                    bundle,
                    start,
                    start + timedelta(days=days),
                    entry,
                    bundle.split("|")[0],
                    start,
                    start + timedelta(days=days),
                    via,
                ),
                st.sampled_from(bundles),
                st.dates(date(2023, 1, 1), date(2025, 1, 1)),
                st.integers(1, 900),
                st.integers(1, 5),
                st.sampled_from([None, "91110000600037341L"]),
            ),
            max_size=4,
        )
    )
    action = data.draw(st.sampled_from(sorted(reference.actions)))
    decisions = [
        DecisionMaker(packed.table).decide("11010519491231002X", True, grants, action, DAY)
        for packed in (reference, cached)
    ]
    first, second = (decision.as_dict() | {"decision_id": ""} for decision in decisions)
    assert first == second


def copy_packs(tmp_path: Path) -> tuple[Path, Path]:
    """The national pack and the city pilot that extends it, as sibling folders."""
    national, pilot = tmp_path / "national", tmp_path / "city-pilot"
    shutil.copytree(shipped_pack_path("national"), national)
    shutil.copytree(shipped_pack_path("city-pilot"), pilot)
    return national, pilot


def rename_air_travel(folder: Path, english: str) -> None:
    measures = folder / "measures.yaml"
    text = measures.read_text("utf-8")
    assert "en: No flights}" in text
    measures.write_text(text.replace("en: No flights}", f"en: {english}}}"), "utf-8")


def air_travel(packed: PackTable) -> str:
    return str(packed.table.measures["consumption.air_travel"]["name"]["en"])


def test_a_changed_pack_builds_the_table_again(tmp_path: Path) -> None:
    national, _ = copy_packs(tmp_path)
    cache = tmp_path / "cache"
    assert air_travel(pack_table(str(national), cache)) == "No flights"
    rename_air_travel(national, "No flying")
    again = pack_table(str(national), cache)
    assert air_travel(again) == "No flying"
    assert again.table.policy_version == load_pack(national).policy_version
    assert air_travel(pack_table(str(national), cache)) == "No flying"


def test_a_change_to_the_pack_it_extends_builds_the_table_again(tmp_path: Path) -> None:
    national, pilot = copy_packs(tmp_path)
    cache = tmp_path / "cache"
    first = pack_table(str(pilot), cache)
    rename_air_travel(national, "No flying")
    again = pack_table(str(pilot), cache)
    assert (air_travel(first), air_travel(again)) == ("No flights", "No flying")
    assert again.table.policy_version != first.table.policy_version


def test_a_damaged_file_is_built_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    built = pack_table("national", cache)
    path = cache_file(shipped_pack_path("national"), cache)
    for damage in (b"", b"\x00{", b'{"format": 1, "chain": 5}', path.read_bytes()[:-40]):
        path.write_bytes(damage)
        assert pack_table("national", cache) == built
    assert pack_table("national", cache) == built
