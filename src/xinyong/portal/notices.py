"""The help pages and announcements the pack publishes, rendered from their Markdown.

Raw HTML is escaped, never passed on (the pack refuses it too, so an author sees the
mistake at ``policy check`` rather than as escaped tags on the page), and a table is wrapped
in a focusable scroll box so that a wide one neither widens a phone's page nor traps a
keyboard user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

from xinyong.policy import Pack
from xinyong.policy.notices import SLUG_PATTERN, Announcement, HelpPage
from xinyong.web.i18n import choose
from xinyong.web.templating import render

router = APIRouter(include_in_schema=False)
Slug = Annotated[str, Path(pattern=SLUG_PATTERN)]

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def _table_open(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType
) -> str:
    return '<div class="table-scroll" tabindex="0"><table>\n'


def _table_close(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType
) -> str:
    return "</table></div>\n"


_MARKDOWN.add_render_rule("table_open", _table_open)
_MARKDOWN.add_render_rule("table_close", _table_close)


def markdown_html(text: str) -> Markup:
    """The Markdown ``text`` as HTML, raw HTML in it shown as text."""
    return Markup(_MARKDOWN.render(text))


def _pack(request: Request) -> Pack:
    pack: Pack = request.app.state.pack
    return pack


def _body(request: Request, item: HelpPage | Announcement) -> Markup:
    """The item's text in the visitor's language."""
    text: str = getattr(item.body, choose(request).code, item.body.zh)
    return markdown_html(text)


@router.get("/help", response_class=HTMLResponse, name="help")
def help_index(request: Request) -> HTMLResponse:
    pack = _pack(request)
    announcements = sorted(pack.announcements.values(), key=lambda item: item.published_on)
    context = {"pages": list(pack.help.values()), "announcements": announcements[::-1][:3]}
    return render(request, "portal/help.html", context)


@router.get("/help/{slug}", response_class=HTMLResponse, name="help_page")
def help_page(request: Request, slug: Slug) -> HTMLResponse:
    page = _pack(request).help.get(slug)
    if page is None:
        raise HTTPException(404, f"no help page {slug!r}")
    return render(request, "portal/notice.html", {"item": page, "body": _body(request, page)})


@router.get("/announcements", response_class=HTMLResponse, name="announcements")
def announcements_index(request: Request) -> HTMLResponse:
    pack = _pack(request)
    items = sorted(pack.announcements.values(), key=lambda item: (item.published_on, item.code))
    return render(request, "portal/announcements.html", {"items": items[::-1]})


@router.get("/announcements/{slug}", response_class=HTMLResponse, name="announcement")
def announcement(request: Request, slug: Slug) -> HTMLResponse:
    item = _pack(request).announcements.get(slug)
    if item is None:
        raise HTTPException(404, f"no announcement {slug!r}")
    issuer = _pack(request).authorities.get(item.issuer)
    context = {"item": item, "body": _body(request, item), "issuer": issuer}
    return render(request, "portal/notice.html", context)
