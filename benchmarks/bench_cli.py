"""cli.startup: wall time of ``xinyong --help``, ``xinyong id CODE`` and ``xinyong check``,
each a fresh process with a warm file cache, beside ``python -c pass`` (the floor)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

XINYONG = Path(sys.executable).with_name("xinyong")
TARGET_SECONDS = 0.3
COMMANDS = {
    "help": ["--help"],
    "id": ["id", "11010519491231002X"],
    "check": ["check", "11010519491231002X", "buy_air_ticket"],
}


def wall(command: list[str], env: dict[str, str], runs: int) -> float:
    """The median wall time of ``runs`` runs, after one that warms the file cache."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def run(quick: bool) -> list[dict[str, Any]]:
    runs = 3 if quick else 10
    results = []
    with tempfile.TemporaryDirectory(prefix="xinyong-bench-cli-") as var:
        env = {**os.environ, "XINYONG_VAR_DIR": var, "XINYONG_DATABASE_URL": ""}
        subprocess.run([str(XINYONG), "init"], env=env, check=True, capture_output=True)
        floor = wall([sys.executable, "-c", "pass"], env, runs)
        for name, arguments in COMMANDS.items():
            seconds = wall([str(XINYONG), *arguments], env, runs)
            results.append(
                {
                    "name": f"cli.startup.{name}",
                    "value": seconds,
                    "unit": "s",
                    "floor": floor,
                    "ratio": floor / seconds,
                    "target": f"< {TARGET_SECONDS} s",
                    "notes": f"xinyong {' '.join(arguments)}; median of {runs}; "
                    f"load average {os.getloadavg()[0]:.1f} at the end",
                }
            )
    return results
