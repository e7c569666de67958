"""The coverage report of `make test`: the lines SlipCover saw run, counted as coverage.py counts.

SlipCover measures (`python -m slipcover --json`): it puts a probe in the bytecode of each line
and takes it out once the line has run some tens of times, so a line that runs a million times
costs a few dozen probes, where coverage.py's tracer on Python 3.11 slows every frame of the
process. SlipCover counts lines, and a statement over several lines counts several times;
coverage.py counts statements, applies the exclusions of ``[tool.coverage.report]`` and writes
the report the docs quote. So the lines measured are handed to coverage.py, which maps each to
its statement.

    python tests/report_coverage.py build/coverage.json [--show-missing]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from coverage import Coverage


def report(measured: Path, show_missing: bool = False) -> float:
    """Print the total and every file not fully covered (with the lines missed, if asked);
    return the percentage."""
    files: dict[str, dict[str, list[int]]] = json.loads(measured.read_text())["files"]
    coverage = Coverage(data_file=None)  # reads pyproject.toml: the source and exclusions
    # Every file under the source is in SlipCover's list, those never imported with no line
    # run, so a module no test loads counts as missed, not as absent.
    coverage.get_data().add_lines(
        {str(Path(name).resolve()): lines["executed_lines"] for name, lines in files.items()}
    )
    return coverage.report(skip_covered=True, show_missing=show_missing)


if __name__ == "__main__":
    report(Path(sys.argv[1]), show_missing="--show-missing" in sys.argv[2:])
