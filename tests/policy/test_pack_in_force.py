"""The pack in force comes from one setting (``XINYONG_PACK``): a shipped pack by name or a folder."""

from pathlib import Path

import pytest

from xinyong.config import Settings
from xinyong.policy import PolicyError, load_shipped, pack_in_force, shipped_pack_path


def test_the_national_pack_is_in_force_by_default() -> None:
    assert Settings().pack == "national"
    assert pack_in_force(Settings()) is load_shipped("national")


def test_a_shipped_pack_is_chosen_by_name() -> None:
    chosen = pack_in_force(Settings(pack="financial"))
    assert chosen.name == "financial"
    assert chosen is load_shipped("financial")


def test_a_pack_folder_is_loaded_from_its_path() -> None:
    folder = pack_in_force(Settings(pack=str(shipped_pack_path("national"))))
    assert folder.name == "national"
    assert folder.digest == load_shipped("national").digest


def test_a_folder_without_a_pack_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        pack_in_force(Settings(pack=str(tmp_path / "nowhere")))
