"""``xinyong keys create --actions``, ``xinyong publish``, ``xinyong mirror sync`` and
``xinyong mirror check`` as a user runs them."""

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.testing import samples

from .conftest import Platform, listing

runner = CliRunner()


def test_sync_then_check_from_the_command_line(platform: Platform, tmp_path: Path) -> None:
    person = samples.person(31)
    platform.ingest(listing(person, 31))
    platform.publisher.publish_feeds()
    folder = str(tmp_path / "m")
    synced = runner.invoke(
        app,
        ["mirror", "sync", "--url", platform.url, "--dir", folder, "--site", "SHA", "--json"],
        env={"XINYONG_MIRROR_KEY": platform.token},
    )
    assert synced.exit_code == 0, synced.output
    assert orjson.loads(synced.output)["version"] == 1
    checked = runner.invoke(
        app, ["mirror", "check", person, "buy_air_ticket", "--dir", folder, "--json"]
    )
    assert checked.exit_code == 0, checked.output
    answer = orjson.loads(checked.output)
    assert answer["effect"] == "deny" and answer["feed_version"] == 1 and answer["measures"]
    outside = runner.invoke(app, ["mirror", "check", person, "apply_loan", "--dir", folder])
    assert outside.exit_code == 2 and "outside" in outside.output
    unsynced = runner.invoke(
        app, ["mirror", "check", person, "buy_air_ticket", "--dir", str(tmp_path / "none")]
    )
    assert unsynced.exit_code == 2 and "mirror sync" in unsynced.output
    # The next round reports the check the command answered.
    again = runner.invoke(
        app,
        ["mirror", "sync", "--url", platform.url, "--dir", folder, "--json"],
        env={"XINYONG_MIRROR_KEY": platform.token},
    )
    assert orjson.loads(again.output)["reported"] == 1


def test_a_sync_with_a_wrong_key_fails_with_a_reason(platform: Platform, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["mirror", "sync", "--url", platform.url, "--dir", str(tmp_path / "m")],
        env={"XINYONG_MIRROR_KEY": "xy_0000000000000000_nope"},
    )
    assert result.exit_code == 1 and "401" in result.output


@pytest.mark.parametrize("actions", ["buy_air_ticket,fly_to_the_moon", ""])
def test_keys_with_an_unknown_or_empty_scope_are_refused(
    actions: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", "")
    from xinyong.config import get_settings

    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(
        app, ["keys", "create", "--role", "relying_party", "--actions", actions, "--json"]
    )
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert ("fly_to_the_moon" if actions else "at least one action") in result.output
