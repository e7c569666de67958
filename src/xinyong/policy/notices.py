"""Help pages and announcements the portal publishes (``help/*.yaml``, ``announcements/*.yaml``).

Their text is Markdown in Chinese and English. The portal renders it with raw HTML escaped,
so raw HTML in a pack would show as its source: it is refused here instead, as are links
that leave for anything but the web (``javascript:``) and level-1 headings (the page title
is a page's only one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date
from enum import StrEnum
from typing import Annotated

from markdown_it import MarkdownIt
from pydantic import AfterValidator, Field, StringConstraints

from xinyong.policy.authorities import AuthorityCode
from xinyong.policy.errors import Location
from xinyong.policy.models import (
    Bilingual,
    CodedModel,
    ItemDocument,
    LegalBasis,
    NonEmpty,
    PolicyModel,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
"""The page's address: ``/help/<slug>``, ``/announcements/<slug>``."""

# With html on, so that raw HTML shows up as html tokens to refuse; and every link target
# let through, so that the checks below see (and name) a javascript: link that the portal's
# renderer would silently leave as text.
_READER = MarkdownIt("commonmark", {"html": True}).enable("table")
_READER.validateLink = lambda url: True  # type: ignore[method-assign]


def markdown_problems(text: str) -> list[str]:
    """What a page's Markdown may not hold, in words; empty when it is fine."""
    problems: list[str] = []
    pending = list(_READER.parse(text))
    while pending:
        token = pending.pop(0)
        pending[:0] = token.children or []
        if token.type in ("html_block", "html_inline"):
            problems.append(f"raw HTML is not published, write Markdown: {token.content.strip()!r}")
        elif token.type == "heading_open" and token.tag == "h1":
            problems.append("a level-1 heading (#): the page title is the only one, start at ##")
        elif token.type == "link_open":
            target = str(token.attrGet("href") or "")
            if not (target.startswith(("https://", "http://", "#")) or _is_local(target)):
                problems.append(f"link {target!r}: only http(s) addresses and paths from / link")
        elif token.type == "image":
            problems.append("an image: pages are text, link to a document instead")
    return problems


def _is_local(target: str) -> bool:
    return target.startswith("/") and not target.startswith("//")


def _publishable(text: str) -> str:
    problems = markdown_problems(text)
    if problems:
        raise ValueError("; ".join(problems))
    return text


Markdown = Annotated[NonEmpty, AfterValidator(_publishable)]


class MarkdownText(PolicyModel):
    """A Markdown text in Chinese and English; both are shown to people, so both are required."""

    zh: Markdown
    """Chinese text (zh-CN), Markdown."""
    en: Markdown
    """English text, Markdown."""


class HelpKind(StrEnum):
    GUIDE = "guide"
    """办事指南: how a procedure runs, step by step."""
    FAQ = "faq"
    """常见问题: questions and their answers."""


class HelpPage(CodedModel):
    """One help page: a service guide or a list of questions and answers."""

    code: Slug
    """Its address under ``/help/``."""
    kind: HelpKind
    """``guide`` or ``faq``."""
    title: Bilingual
    """Title in Chinese and English."""
    summary: Bilingual
    """One sentence shown in the list of help pages."""
    body: MarkdownText
    """The page, Markdown; headings start at ``##``."""
    sources: tuple[LegalBasis, ...] = ()
    """The rules the page explains, shown under it."""


class Announcement(CodedModel):
    """A policy notice (通知公告): what changed, from when, on which public source."""

    code: Slug
    """Its address under ``/announcements/``."""
    title: Bilingual
    """Title in Chinese and English."""
    published_on: date
    """The day it is published (newest first on the list)."""
    issuer: AuthorityCode
    """The authority that publishes it."""
    body: MarkdownText
    """The notice, Markdown; headings start at ``##``."""
    sources: tuple[LegalBasis, ...] = Field(min_length=1)
    """The public documents it reports; a notice without one is refused."""


class HelpDocument(ItemDocument):
    """A file ``help/*.yaml``: help pages."""

    help: tuple[HelpPage, ...] = Field(min_length=1)
    """The help pages of the file, in the order the help index lists them."""

    def items(self) -> tuple[HelpPage, ...]:
        return self.help


class AnnouncementsDocument(ItemDocument):
    """A file ``announcements/*.yaml``: announcements."""

    announcements: tuple[Announcement, ...] = Field(min_length=1)
    """The announcements of the file."""

    def items(self) -> tuple[Announcement, ...]:
        return self.announcements


def announcement_problems(
    announcement: Announcement, known_authorities: Collection[str]
) -> Iterator[tuple[Location, str]]:
    """An issuer the pack does not have."""
    if announcement.issuer not in known_authorities:
        yield ("issuer",), f"unknown authority {announcement.issuer!r}"
