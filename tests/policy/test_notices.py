"""Help pages, announcements and published lists in a pack: what ships, and what is refused
with its place named."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from xinyong.policy import Pack, check_pack, shipped_pack_path
from xinyong.policy.notices import HelpKind
from xinyong.portal.notices import markdown_html

Document = dict[str, Any]
GUIDE = "help/guides.yaml"
NOTICES = "announcements/2025-2026.yaml"


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "national"
    shutil.copytree(shipped_pack_path("national"), folder)
    return folder


def edit(folder: Path, file: str, change: Callable[[Document], None]) -> None:
    path = folder / file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


def test_the_national_pack_ships_a_guide_a_faq_and_announcements(national: Pack) -> None:
    kinds = [page.kind for page in national.help.values()]
    assert HelpKind.GUIDE in kinds and HelpKind.FAQ in kinds
    assert len(national.announcements) >= 2
    for notice in national.announcements.values():
        assert notice.sources and notice.issuer in national.authorities
    guide = national.help["objections-and-repair"]
    objection, repair = national.rights["objection"], national.rights["repair"]
    # The guide states the limits rights.yaml sets, in both languages.
    for limit in (objection.mark_within, objection.decide_within, objection.close_within):
        assert f"**{limit} 个工作日" in guide.body.zh
        assert f"**{limit} working day" in guide.body.en
    for limit in (repair.decide_within, repair.close_within):
        assert f"**{limit} 个工作日" in guide.body.zh
        assert f"**{limit} working days" in guide.body.en


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("<script>alert(1)</script>", "raw HTML"),
        ("text with <b>bold</b> inside", "raw HTML"),
        ("# A second title", "level-1 heading"),
        ("[click](javascript:alert(1))", "only http(s) addresses"),
        ("[elsewhere](//evil.example/x)", "only http(s) addresses"),
        ("![seal](/favicon.ico)", "an image"),
    ],
)
def test_a_help_page_that_would_not_publish_is_refused_where_it_is(
    pack_dir: Path, body: str, complaint: str
) -> None:
    edit(pack_dir, GUIDE, lambda d: d["help"][1]["body"].update(en=body))
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == (GUIDE, "help[1].body.en")
    assert complaint in issue.message


def test_an_announcement_needs_a_known_issuer_a_source_and_a_slug(pack_dir: Path) -> None:
    def spoil(document: Document) -> None:
        first, second, third = document["announcements"]
        first["issuer"] = "credit_centre.999999"
        second["sources"] = []
        third["code"] = "Not A Slug"

    edit(pack_dir, NOTICES, spoil)
    issues = {(issue.file, issue.path): issue.message for issue in check_pack(pack_dir)}
    assert set(issues) == {
        (NOTICES, "announcements[0].issuer"),
        (NOTICES, "announcements[1].sources"),
        (NOTICES, "announcements[2].code"),
    }
    assert "unknown authority" in issues[(NOTICES, "announcements[0].issuer")]


def test_a_published_list_of_persons_is_refused(pack_dir: Path) -> None:
    def publish_defaulters(document: Document) -> None:
        document["lists"][0]["published"] = True

    edit(pack_dir, "lists.yaml", publish_defaulters)
    [issue] = check_pack(pack_dir)
    assert (issue.file, issue.path) == ("lists.yaml", "lists[0].entry[0].record_type")
    assert "published only as a defaulter" in issue.message


@given(st.text(alphabet=st.sampled_from("<>/=\"' abcsriptonlgjv&;:[]()!#\n"), max_size=80))
def test_rendered_markdown_never_passes_raw_html_on(text: str) -> None:
    html = str(markdown_html(text))
    # Every tag in the output is one the renderer writes itself: a "<" the author typed is
    # escaped as &lt;, so no tag of theirs survives, and no link runs a script.
    for tag in _tags(html):
        assert tag in RENDERED, (text, html)
    assert 'href="javascript:' not in html.lower()


RENDERED = {
    *(f"{prefix}{name}" for prefix in ("", "/") for name in ("p", "a", "em", "strong", "code")),
    *(f"{prefix}{name}" for prefix in ("", "/") for name in ("ul", "ol", "li", "pre")),
    *(f"{prefix}{name}" for prefix in ("", "/") for name in ("h1", "h2", "h3", "h4", "h5", "h6")),
    *(f"{prefix}{name}" for prefix in ("", "/") for name in ("blockquote",)),
    "br",
    "hr",
    "img",
}


def _tags(html: str) -> list[str]:
    return [
        part.split(">", 1)[0].split(" ", 1)[0].rstrip("/") or "/" for part in html.split("<")[1:]
    ]
