"""Building the demo city the way a user does, for tests that need a whole city."""

import os
import subprocess
from pathlib import Path

from xinyong.testing.processes import run


def build_demo(
    var: Path, *, persons: int, orgs: int, scorecard: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``xinyong demo --no-serve`` in a process of its own (``xinyong.testing.processes``),
    into ``var`` and the SQLite store there; the caller checks its return code and output.
    Without ``scorecard`` the financial scorecard is not trained (``--no-scorecard``)."""
    env = {**os.environ, "XINYONG_VAR_DIR": str(var), "XINYONG_DATABASE_URL": ""}
    arguments = ["demo", "--no-serve", "--persons", str(persons), "--orgs", str(orgs)]
    if not scorecard:
        arguments.append("--no-scorecard")
    return run(arguments, env, timeout=300)
