"""The documents stay true: the generated sections match the code, and every link to a file
of the repository leads to one."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_generated_sections_match_the_code() -> None:
    """The README's command table and settings (cog, from the Typer app and config.Settings)."""
    run = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "-I", "docs", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"run `make docs`: {run.stdout}{run.stderr}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_lead_to_files_of_the_repository(document: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)", document.read_text())
    local = [target for target in targets if "://" not in target and ":" not in target]
    missing = [target for target in local if not (document.parent / target).resolve().exists()]
    outside = [t for t in local if ROOT not in (document.parent / t).resolve().parents]
    assert (missing, outside) == ([], [])
