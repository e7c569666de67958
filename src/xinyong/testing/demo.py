"""Building the demo city the way a user does, for tests that need a whole city."""

import os
import subprocess
from pathlib import Path

from xinyong.testing.processes import run


def build_demo(var: Path, *, persons: int, orgs: int) -> subprocess.CompletedProcess[str]:
    """Run ``xinyong demo --no-serve`` in a process of its own (``xinyong.testing.processes``),
    into ``var`` and the SQLite store there; the caller checks its return code and output."""
    env = {**os.environ, "XINYONG_VAR_DIR": str(var), "XINYONG_DATABASE_URL": ""}
    arguments = ["demo", "--no-serve", "--persons", str(persons), "--orgs", str(orgs)]
    return run(arguments, env, timeout=300)
