"""The documents stay true: the generated sections match the code, and every link to a file
of the repository leads to one."""

import io
import re
from pathlib import Path

import pytest
from cogapp import Cog
from cogapp.cogapp import CogCheckFailed

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


GENERATED = [document for document in DOCUMENTS if "[[[cog" in document.read_text()]


def test_the_generated_sections_match_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's command table and settings (cog, from the Typer app and config.Settings),
    and the figures the documents quote (from docs/performance.json). Cog runs in the test's
    process, which has imported the app already."""
    monkeypatch.chdir(ROOT)
    cog, said = Cog(), io.StringIO()
    cog.set_output(stdout=said, stderr=said)
    try:
        cog.callable_main(["cog", "--check", "-I", "docs", *map(str, GENERATED)])
    except CogCheckFailed:
        pytest.fail(f"run `make docs`: {said.getvalue()}")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_lead_to_files_of_the_repository(document: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)", document.read_text())
    local = [target for target in targets if "://" not in target and ":" not in target]
    missing = [target for target in local if not (document.parent / target).resolve().exists()]
    outside = [t for t in local if ROOT not in (document.parent / t).resolve().parents]
    assert (missing, outside) == ([], [])


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_measured_figures_are_quoted_from_performance_json(document: Path) -> None:
    """A rate or a ratio to a floor in a document is generated from docs/performance.json
    (``make docs``), so that no document keeps a figure of an older run; a target is no
    measurement and may be written out."""
    if document.name == "performance.md":
        return
    text = re.sub(r"\[\[\[cog.*?\[\[\[end\]\]\]", "", document.read_text(), flags=re.S)
    figures = re.finditer(
        r"[0-9][0-9,.]* ?(?:records|events|requests|subjects|decisions|changes)/s"
        r"|ratio [0-9]+\.[0-9]+|[0-9.]+ of (?:its|the) floor",
        text,
    )
    quoted = [
        found[0]
        for found in figures
        if "target" not in text[max(0, found.start() - 50) : found.end() + 10].lower()
    ]
    assert quoted == []
