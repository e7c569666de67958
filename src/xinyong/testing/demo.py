"""Building the demo city the way a user does, for tests that need a whole city."""

import os
import subprocess
import sys
from pathlib import Path


def build_demo(var: Path, *, persons: int, orgs: int) -> subprocess.CompletedProcess[str]:
    """Run ``xinyong demo --no-serve`` in a process of its own, into ``var`` and the SQLite
    store there; the caller checks its return code and output."""
    env = {**os.environ, "XINYONG_VAR_DIR": str(var), "XINYONG_DATABASE_URL": ""}
    return subprocess.run(
        [
            *(sys.executable, "-m", "xinyong", "demo", "--no-serve"),
            *("--persons", str(persons), "--orgs", str(orgs)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
