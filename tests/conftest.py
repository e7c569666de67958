"""Shared fixtures: stores on SQLite and on a real throwaway PostgreSQL server."""

from __future__ import annotations

import atexit
import gc
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# A temporary folder of this test run's own, shared by its xdist workers (they inherit the
# environment), set before xinyong is imported: what the code keeps in the machine's temporary
# folder for the whole machine (the lock by which password checks take turns) is then this
# run's alone, so a run neither waits for another's sign-ins nor slows them.
if "XINYONG_TEST_TMPDIR" not in os.environ:
    _run_tmp = tempfile.mkdtemp(prefix="xinyong-tests-")
    os.chmod(_run_tmp, 0o711)  # the PostgreSQL server's user reaches its folder inside
    os.environ["XINYONG_TEST_TMPDIR"] = os.environ["TMPDIR"] = _run_tmp
    # Deleted by a process of its own, not waited for (the run's PostgreSQL servers and stores
    # leave gigabytes of files, which took seconds to delete after the run had ended), once this
    # process has ended: what runs at its exit after this handler still finds the folder
    # (SlipCover, under `make test`, gathers its workers' lines from here).
    atexit.register(
        os.spawnvp,
        os.P_NOWAIT,
        "sh",
        [
            "sh",
            "-c",
            'while kill -0 "$0" 2>/dev/null; do sleep 0.1; done; exec rm -rf -- "$1"',
            str(os.getpid()),
            _run_tmp,
        ],
    )
tempfile.tempdir = None  # gettempdir() reads TMPDIR again
# argon2's cheapest parameters: a safe hash costs a fifth of a second, and the suite makes
# hundreds. Tests that need the safe parameters (and `xinyong serve`'s refusal) set them.
os.environ.setdefault("XINYONG_PASSWORD_HASHING", "insecure-for-tests")

import pytest  # noqa: E402
from _pytest.nodeid import NodeId  # noqa: E402
from hypothesis import settings  # noqa: E402

if TYPE_CHECKING:
    import subprocess

    from sqlalchemy.orm import Session, sessionmaker

    from xinyong.policy import Pack

# The platform's modules are imported by the fixtures, not here: under xdist the controller,
# which runs no test, loads this file too (importing them took it over a second).
_counter = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def assembled() -> None:
    """The listeners and ledger sources the app and the CLI run with."""
    from xinyong.assembly import assemble

    assemble()


# Tests assert behaviour, never time: an example slowed by a busy machine is not a failure.
settings.register_profile("xinyong", deadline=None)
# `make test-fast` (--hypothesis-profile=xinyong-fast) runs every property with at most this
# many examples; a property that sets a count of its own (one whose examples are costly: a
# worker pool started, a policy compiled) runs a quarter of it, at least two. `make test` runs
# the full counts. The fixed cases and `@example`s beside the properties still run in full.
FAST_EXAMPLES = 10
FAST_SHARE, FAST_LEAST = 4, 2
settings.register_profile("xinyong-fast", deadline=None, max_examples=FAST_EXAMPLES)
settings.load_profile("xinyong")


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    from xinyong.testing.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def national() -> Pack:
    from xinyong.policy import load_shipped

    return load_shipped("national")


@pytest.fixture(scope="session")
def demo_city(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A demo city of 3,000 persons and 300 organisations built as a user builds it
    (``xinyong demo --no-serve``), once for the tests that read one whole: its folder (the
    SQLite store is ``xinyong.db`` there) and the command's run, for the caller to check."""
    from xinyong.testing.demo import build_demo

    var = tmp_path_factory.mktemp("demo-city")
    return var, build_demo(var, persons=3000, orgs=300)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store on each backend."""
    from xinyong.testing.postgres import migrated_database
    from xinyong.testing.store import migrated_sqlite

    if request.param == "sqlite":
        return migrated_sqlite(tmp_path / "store.db")
    admin = request.getfixturevalue("postgres_admin_url")
    return migrated_database(admin, f"t{next(_counter)}")


@pytest.fixture
def factory(store_url: str) -> Iterator[sessionmaker[Session]]:
    from xinyong.store.db import make_engine, make_sessionmaker

    engine = make_engine(store_url)
    yield make_sessionmaker(engine)
    engine.dispose()


# Markers and xdist groups, from what a test uses: `make test-fast` leaves out what starts a
# browser, a JVM or a PostgreSQL server; under xdist the Spark tests share one worker, so one
# JVM starts per run (a JVM is seconds to start and hundreds of megabytes), and so do the tests
# on a set-up that takes seconds, in a browser or not, so that one worker builds it (xdist hands
# out the largest group first, so the others meanwhile run the rest): by group, the folder and
# the session fixtures.
SHARED_SETUPS = {
    # Chromium too: a test in the browser elsewhere would launch a second one (seconds).
    "web-city": (Path(__file__).parent / "web", ("city", "chromium")),
    "scorecard": (Path(__file__).parent / "scorecard", ("population",)),
    "demo-city": (Path(__file__).parent, ("demo_city",)),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    fast = settings.get_current_profile_name() == "xinyong-fast"
    grouping = getattr(config.option, "loadgroup", False)
    for item in items:
        if fast:
            _cap_examples(item)
        fixtures = getattr(item, "fixturenames", ())
        if "chromium" in fixtures:
            item.add_marker(pytest.mark.browser)
        for group, (folder, shared) in SHARED_SETUPS.items():
            if set(shared) & set(fixtures) and item.path.is_relative_to(folder):
                item.add_marker(pytest.mark.xdist_group(group))
        if item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.xdist_group("spark"))
        if grouping:
            _name_group(item)
    # The long tests first. xdist hands out the groups, then the other tests in the order
    # collected: a long test collected near the end (the public walk is in tests/web) ran on
    # one worker while the other had nothing left to do. A stable sort: every worker collects
    # the same order.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _name_group(item: pytest.Item) -> None:
    """xdist hands a test to a worker by the group after the "@" of its id, and writes that
    suffix into ``item._nodeid``, which pytest 9 no longer reads (its id is ``item._id``): without
    this, no group holds and every worker starts its own JVM and builds its own city."""
    groups = sorted({str(mark.args[0]) for mark in item.iter_markers("xdist_group")})
    if groups and "@" not in item.nodeid:
        item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")  # type: ignore[attr-defined]


def pytest_collection_finish() -> None:
    """What imports and collection made lives for the whole run: the collector need not walk it
    again (a tenth of the tests' time was the collector's), and a young generation of 50,000
    objects lets it run less often under the many short-lived rows and expressions."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _cap_examples(item: pytest.Item) -> None:
    """Hypothesis reads a test's settings from this attribute when the test runs."""
    test = getattr(item, "obj", None)
    chosen = getattr(test, "_hypothesis_internal_use_settings", None)
    if isinstance(chosen, settings):
        fast = min(FAST_EXAMPLES, max(chosen.max_examples // FAST_SHARE, FAST_LEAST))
        if chosen.max_examples > fast:
            test._hypothesis_internal_use_settings = settings(chosen, max_examples=fast)  # type: ignore[union-attr]
