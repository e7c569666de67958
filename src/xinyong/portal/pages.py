"""The public portal's pages: home, search, a subject's public file, defaulters, statistics, rules."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from xinyong.clock import china_today
from xinyong.policy import Pack
from xinyong.policy.catalogue import Disclosure
from xinyong.portal import charts
from xinyong.portal.public_file import defaulters, public_file
from xinyong.portal.stats import SECTIONS
from xinyong.search.publish import IndexShelf
from xinyong.web import csrf
from xinyong.web.forms import read_form
from xinyong.web.i18n import LANGUAGES, activate, choose
from xinyong.web.redirects import safe_next
from xinyong.web.templating import remember_language, render
from xinyong.web.types import Line, SubjectRef

router = APIRouter(include_in_schema=False)
Page = Annotated[int, Query(ge=1, le=100_000)]


def _pack(request: Request) -> Pack:
    pack: Pack = request.app.state.pack
    return pack


@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request) -> HTMLResponse:
    shelf: IndexShelf = request.app.state.search
    index = shelf.current()
    return render(request, "portal/home.html", {"counts": index.counts if index else None})


@router.get("/search", response_class=HTMLResponse, name="search")
def search(request: Request, q: Line = "") -> HTMLResponse:
    query = q.strip()[:100]
    shelf: IndexShelf = request.app.state.search
    index = shelf.current()
    hits = index.search(query) if index and query else []
    context = {"query": query, "hits": hits, "ready": index is not None}
    return render(request, "portal/search.html", context)


@router.get("/subjects/{ref}", response_class=HTMLResponse, name="subject")
def subject(request: Request, ref: SubjectRef) -> HTMLResponse:
    with request.app.state.sessionmaker() as session:
        found = public_file(session, _pack(request), ref, china_today())
    if found is None:
        return render(request, "not_found.html", {}, status_code=404)
    return render(request, "portal/subject.html", {"file": found})


@router.get("/defaulters", response_class=HTMLResponse, name="defaulters")
def defaulters_page(
    request: Request, page: Page = 1, list_code: Annotated[str | None, Query(alias="list")] = None
) -> HTMLResponse:
    pack = _pack(request)
    wanted = list_code if list_code in pack.lists else None
    with request.app.state.sessionmaker() as session:
        listing = defaulters(session, pack, china_today(), page, wanted)
    black = [(code, item) for code, item in pack.lists.items() if str(item.kind) == "black"]
    return render(request, "portal/defaulters.html", {"listing": listing, "lists": black})


@router.get("/stats", response_class=HTMLResponse, name="stats")
def stats_page(request: Request) -> HTMLResponse:
    activate(choose(request))
    pack = _pack(request)
    day = china_today()
    sections: dict[str, Any] = {}
    with request.app.state.sessionmaker() as session:
        connection = session.connection()
        for code, section in SECTIONS.items():
            if section.available(connection):
                sections[code] = section.query(session, pack, day)
    options = {
        "listings": charts.listings(sections["listings"]) if "listings" in sections else None,
        "entries": charts.entries(sections["entries"]) if "entries" in sections else None,
        "checks": charts.checks(sections["checks"]) if "checks" in sections else None,
    }
    return render(
        request,
        "portal/stats.html",
        {
            "sections": sections,
            "charts": {key: _json(value) for key, value in options.items() if value},
        },
    )


@router.get("/rules", response_class=HTMLResponse, name="rules")
def rules(request: Request) -> HTMLResponse:
    pack = _pack(request)
    public = [item for item in pack.record_types.values() if item.disclosure == Disclosure.PUBLIC]
    return render(
        request,
        "portal/rules.html",
        {"pack": pack, "record_types": public, "lists": list(pack.lists.values())},
    )


@router.post("/lang", name="set_language")
async def set_language(
    request: Request,
    lang: Annotated[str, Form()],
    back: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """The language toggle: a form, so it works without JavaScript; remembered in a cookie."""
    form = await read_form(request)
    if not csrf.is_genuine(request, form) or lang not in LANGUAGES:
        return render(request, "forbidden.html", {}, status_code=403)
    response = RedirectResponse(safe_next(back) or "/", status_code=303)
    remember_language(response, lang)
    return response


def _json(value: dict[str, Any]) -> Markup:
    """JSON safe inside a <script type="application/json"> element."""
    return Markup(orjson.dumps(value).decode().replace("<", "\\u003c"))
