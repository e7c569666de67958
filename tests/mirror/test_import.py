"""The relying party's library stays light: importing it loads no server framework, store,
data frame or array library (a process that answers checks starts in a fraction of a
second)."""

import subprocess
import sys

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
