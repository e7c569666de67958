"""A mirror killed at any point (SIGKILL) holds a whole version, applies nothing twice, and
has journaled every check it answered."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest

from xinyong.enforcement.bundles import build_bundles, decision_table
from xinyong.mirror.store import LocalStore, Outdated
from xinyong.mirror.sync import _reported
from xinyong.policy import load_shipped
from xinyong.testing import samples

APPLY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from xinyong.mirror.store import LocalStore
    store = LocalStore(Path(sys.argv[1]))
    position = store.position()
    version = 0 if position is None else position.version
    if position is None:
        store.replace("feed.t", 1, "h1", b"{}", [])
        version = 1
    while True:
        ops = [("ADD", f"v{version + 1}-{n}", {"n": n}) for n in range(500)]
        ops += [("DEL", f"v{version}-{n}", None) for n in range(500) if version > 1]
        store.apply("feed.t", version, version + 1, f"h{version + 1}", b"{}", ops)
        version += 1
        print(version, flush=True)
    """
)


def test_a_killed_delta_leaves_a_whole_version_and_a_rerun_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-c", APPLY, str(folder)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        for _ in range(5):
            process.stdout.readline()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        store = LocalStore(folder)
        position = store.position()
        assert position is not None and position.manifest_sha256 == f"h{position.version}"
        # Exactly the rows of that version: its own 500, none of the one before.
        rows = dict(store.rows())
        assert set(rows) == {f"v{position.version}-{n}" for n in range(500)}
        store.close()
    store = LocalStore(folder)
    position = store.position()
    assert position is not None
    with pytest.raises(Outdated):  # a delta is applied only onto the version it follows
        store.apply("feed.t", position.version - 1, position.version, "x", b"{}", [])
    assert store.position() == position


CHECK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from xinyong.mirror import Mirror
    mirror = Mirror(Path(sys.argv[1]))
    while True:
        answer = mirror.check(sys.argv[2], "buy_air_ticket", "ticket sale")
        print(answer.decision_id, flush=True)
    """
)


def test_every_answer_given_before_a_kill_is_journaled(tmp_path: Path) -> None:

    pack = load_shipped("national")
    policy = orjson.dumps(
        {
            "decisions": decision_table(pack, build_bundles(pack))
            .cut(["buy_air_ticket"])
            .as_json(),
            "staleness": {"buy_air_ticket": 3600},
        }
    )
    store = LocalStore(tmp_path / "m")
    store.replace("feed.t", 1, "h1", policy, [])

    store.confirm(time.time())
    store.close()
    process = subprocess.Popen(
        [sys.executable, "-c", CHECK, str(tmp_path / "m"), samples.person(1)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    answered = [process.stdout.readline().strip() for _ in range(50)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    store = LocalStore(tmp_path / "m")
    store.assign(10_000)

    journaled = {
        check.decision_id
        for _, groups in store.pending()
        for group in groups
        for check in _reported(store.instance, group)
    }
    assert set(answered) <= journaled
