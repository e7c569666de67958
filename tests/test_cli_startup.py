"""What keeps the command line quick to start: a command imports its own feature only, and
nothing that serves, stores or analyses unless it needs it (timings live in benchmarks/)."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from xinyong.cli import EXTRAS, FEATURE_COMMANDS, load_command
from xinyong.config import Settings
from xinyong.policy import Pack
from xinyong.records.publish import publish_pack
from xinyong.testing.store import migrated_store

HEAVY = ("fastapi", "starlette", "uvicorn", "duckdb", "pandas", "ibis", "pyarrow", "sklearn")
"""Modules no start-up loads: the web, the analytics engines and the scorecard's libraries."""


def loaded_by(*arguments: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded in a fresh interpreter that runs ``xinyong ARGUMENTS``."""
    script = (
        "import sys\n"
        "from xinyong.cli import main\n"
        "sys.argv = ['xinyong', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.write('\\n' + ' '.join(sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return set(run.stdout.rsplit("\n", 1)[-1].split())


def test_importing_the_command_line_loads_no_feature() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import sys, xinyong.cli; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(run.stdout.split())
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}
    assert "sqlalchemy" not in loaded
    # The options several commands share, and the clock they read: no feature, no store.
    assert {name for name in loaded if name.startswith("xinyong")} <= {
        "xinyong",
        "xinyong.cli",
        "xinyong.options",
        "xinyong.clock",
    }


@pytest.mark.parametrize(
    ("arguments", "unloaded"),
    [
        (["--help"], ("sqlalchemy", "xinyong.identifiers", "xinyong.assembly")),
        (["id", "11010519491231002X"], ("sqlalchemy", "xinyong.store", "xinyong.assembly")),
        (["check", "--help"], ("xinyong.assembly", "xinyong.ingest", "xinyong.scoring")),
    ],
)
def test_a_command_loads_only_what_it_uses(arguments: list[str], unloaded: tuple[str, ...]) -> None:
    loaded = loaded_by(*arguments)
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}
    assert not set(unloaded) & loaded
    if arguments[0] == "id":
        assert "xinyong.identifiers.cli" in loaded  # the probe did run the command


CHECK = ("check", "11010519491231002X", "buy_air_ticket")


@dataclass(frozen=True)
class FirstCheck:
    env: dict[str, str]
    """The environment of commands on the checked store."""
    loaded: frozenset[str]


@pytest.fixture(scope="module")
def first_check(tmp_path_factory: pytest.TempPathFactory, national: Pack) -> FirstCheck:
    """The first check on a folder as ``xinyong init`` leaves it, whose store has kept no
    decision table yet: its SQLite store at the newest schema with the pack in force published,
    made in this process (a copy of the migrated store; ``xinyong init`` itself is run by
    tests/test_cli.py). Once a module: the tests below read what the check loaded and leaves."""
    var = tmp_path_factory.mktemp("initialised")
    factory = migrated_store(Settings(var_dir=var, database_url=""))
    with factory.begin() as session:
        assert publish_pack(session, national)
    factory.kw["bind"].dispose()
    env = {**os.environ, "XINYONG_VAR_DIR": str(var), "XINYONG_DATABASE_URL": ""}
    return FirstCheck(env, frozenset(loaded_by(*CHECK, env=env)))


def test_a_check_on_sqlite_loads_neither_alembic_nor_postgresql_s_driver(
    first_check: FirstCheck,
) -> None:
    """Only ``xinyong init`` migrates: the others read the revision without Alembic."""
    loaded = first_check.loaded
    assert "xinyong.enforcement.cli" in loaded  # the probe did run the command
    assert not {name for name in loaded if name.split(".")[0] in ("alembic", "psycopg")}


CHECK_PATH = (
    "xinyong.enforcement.cli",
    "xinyong.enforcement.bare",
    "xinyong.enforcement.table_cache",
)


def test_importing_the_check_path_loads_neither_sqlalchemy_nor_pydantic() -> None:
    probe = (
        f"import sys, {', '.join(CHECK_PATH)}\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert not {"sqlalchemy", "pydantic", "pydantic_settings", "yaml", "cryptography"} & set(
        run.stdout.split()
    )


def test_a_check_reads_the_store_and_the_pack_without_building_them(
    first_check: FirstCheck,
) -> None:
    """The second check reads the decision table the first one kept: it builds no pack, opens
    no SQLAlchemy engine and reads no settings through pydantic. (Typer itself loads pydantic
    to convert the command's arguments.)"""
    assert "xinyong.policy.pack" in first_check.loaded  # nothing kept yet: the pack was loaded
    loaded = loaded_by(*CHECK, env=first_check.env)
    assert "xinyong.enforcement.bare" in loaded  # the probe did run the command
    assert "sqlalchemy" not in {name.split(".")[0] for name in loaded}
    assert not {"xinyong.policy.pack", "xinyong.policy.loader", "xinyong.config"} & loaded


@pytest.mark.parametrize("name", FEATURE_COMMANDS)
def test_the_listed_summary_is_the_commands_own_help(name: str) -> None:
    command = load_command(name)
    first_paragraph = (command.help or "").split("\n\n")[0]
    assert FEATURE_COMMANDS[name].summary == " ".join(first_paragraph.split())
    assert command.name == name


@pytest.mark.parametrize(
    ("arguments", "extra"),
    [
        (["synth", "--persons", "1", "--orgs", "1", "--out", "city"], "synth"),
        (["scorecard", "train", "--persons", "100"], "scorecard"),
    ],
)
def test_a_command_whose_extra_is_missing_names_it(
    arguments: list[str], extra: str, tmp_path: Path
) -> None:
    """As on an installation without the extra: none of its modules can be imported (so the
    command fails at the first, not after importing the others: pandas alone took a second)."""
    missing = sorted(module for module, needed_by in EXTRAS.items() if needed_by == extra)
    script = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({missing!r}))\n"
        "from xinyong.cli import main\n"
        "sys.argv = ['xinyong', *sys.argv[1:]]\n"
        "main()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "XINYONG_VAR_DIR": str(tmp_path), "XINYONG_DATABASE_URL": ""},
    )
    assert run.returncode == 2, run.stderr
    assert f"pip install 'xinyong[{extra}]'" in run.stderr
    assert "Traceback" not in run.stderr
