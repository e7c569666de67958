"""The relying party's library stays light: importing it loads no server framework, store,
data frame or array library (a process that answers checks starts in a fraction of a
second)."""

import subprocess
import sys
from pathlib import Path

HEAVY = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "pydantic",
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "ibis",
    "cryptography",
    "typer",
    "rich",
    "stdnum",
)


def test_importing_the_mirror_loads_nothing_heavy() -> None:
    probe = (
        "import sys, xinyong.mirror\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_the_mirror_commands_run_without_the_platform(tmp_path: Path) -> None:
    # The command runs to its end (no feed in an empty folder: exit status 2) without the
    # platform's assembly, which would import every feature and the server's store.
    probe = (
        "import sys\n"
        "from xinyong.cli import main\n"
        f"sys.argv = ['xinyong', 'mirror', 'check', '11010519491231002X', 'buy_air_ticket',"
        f" '--dir', {str(tmp_path)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as end:\n"
        "    print(end.code, 'xinyong.assembly' in sys.modules, 'sqlalchemy' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert ran.stdout.split() == ["2", "False", "False"], ran.stderr
    assert "holds no feed yet" in ran.stderr
