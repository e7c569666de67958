"""The public portal's pages: home, search, a subject's public file, defaulters, statistics, rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from xinyong.accounts.deps import admit_render
from xinyong.clock import china_today
from xinyong.policy import Pack
from xinyong.policy.lists import CreditList, ListKind
from xinyong.portal import charts
from xinyong.portal.listing import (
    Filters,
    Paged,
    PageOutOfRange,
    commitment_types,
    csv_bytes,
    decision_page,
    listed_page,
    publicity_types,
    xlsx_bytes,
)
from xinyong.portal.public_file import public_file
from xinyong.portal.results import SEARCH_PAGE, facets, narrowed, rich_rows
from xinyong.portal.rules import published_rules
from xinyong.scoring.packs import served_packs
from xinyong.search.index import CANDIDATES
from xinyong.search.publicity import black_lists
from xinyong.search.publish import IndexShelf
from xinyong.web import csrf
from xinyong.web.forms import read_form
from xinyong.web.i18n import LANGUAGES, activate, choose
from xinyong.web.i18n import gettext_ as _
from xinyong.web.labels import N_
from xinyong.web.redirects import safe_next
from xinyong.web.templating import bilingual, remember_language, render
from xinyong.web.types import Code, Line, SubjectRef

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
def search(
    request: Request,
    q: Line = "",
    page: Page = 1,
    kind: Annotated[str, Query(pattern="^(organisation|person)?$")] = "",
    region: Annotated[str, Query(pattern="^([0-9]{2})?$")] = "",
) -> HTMLResponse:
    """Every hit the index finds is counted and faceted; the page shows 20, made rich."""
    query = q.strip()[:100]
    shelf: IndexShelf = request.app.state.search
    index = shelf.current()
    found = index.search(query, limit=CANDIDATES) if index and query else []
    shown = narrowed(found, kind, region)
    pages = max(1, -(-len(shown) // SEARCH_PAGE))
    if page > pages:
        raise HTTPException(404, "no such page")
    start = (page - 1) * SEARCH_PAGE
    with request.app.state.sessionmaker() as session:
        rows = rich_rows(session, _pack(request), shown[start : start + SEARCH_PAGE], china_today())
    context = {
        "query": query,
        "rows": rows,
        "total": len(shown),
        "capped": len(found) >= CANDIDATES,
        "facets": facets(found),
        "kind": kind,
        "region": region,
        "listing": {"page": page, "pages": pages},
        "base": _base(request),
        "ready": index is not None,
    }
    return render(request, "portal/search.html", context)


@router.get("/subjects/{ref}", response_class=HTMLResponse, name="subject")
def subject(request: Request, ref: SubjectRef) -> HTMLResponse:
    with request.app.state.sessionmaker() as session:
        found = public_file(session, _pack(request), ref, china_today())
    if found is None:
        return render(request, "not_found.html", {}, status_code=404)
    return render(request, "portal/subject.html", {"file": found})


def _filters(
    name: Line = "",
    region: Annotated[str, Query(pattern=r"^[0-9]{0,6}$")] = "",
    authority: Annotated[str, Query(max_length=100)] = "",
    record_type: Annotated[str, Query(alias="type", max_length=100)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
) -> Filters:
    """The filters of a list page or the double publicity channel, as the form sends them (an
    empty date field is no date)."""
    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError:
        raise HTTPException(422, "a date is written YYYY-MM-DD") from None
    return Filters(name.strip()[:100], region, authority, record_type, first, last)


Wanted = Annotated[Filters, Depends(_filters)]
Download = Annotated[str, Query(pattern="^(csv|xlsx)?$")]


def _base(request: Request) -> str:
    """The page's address up to ``page=``, every filter kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "download")]
    return request.url.path + "?" + (urlencode(kept) + "&" if kept else "")


def _list_page(
    request: Request,
    codes: list[str],
    chosen: CreditList | None,
    wanted: Filters,
    page: int,
    download: str,
) -> Response:
    pack = _pack(request)
    try:
        with request.app.state.sessionmaker() as session:
            paged = listed_page(session, pack, china_today(), codes, wanted, page)
    except PageOutOfRange:
        raise HTTPException(404, "no such page") from None
    if download:
        admit_render(request)
        activate(choose(request))
        header = [
            _("Name"),
            _("Code or identity number"),
            _("Region"),
            _("List"),
            _("Decision"),
            _("From"),
            _("Ends on"),
        ]
        table = [
            [
                row["subject"]["name"],
                row["subject"]["id"],
                row["subject"]["region_name"] or row["subject"]["region"],
                "；".join(bilingual(entry["list_name"]) for entry in row["entries"]),
                "；".join(entry["document_no"] for entry in row["entries"]),
                min(entry["started_on"] for entry in row["entries"]),
                max(entry["ends_on"] for entry in row["entries"]),
            ]
            for row in paged.rows
        ]
        stem = chosen.code if chosen else "defaulters"
        return _download(header, table, f"{stem}-{china_today().isoformat()}-p{page}", download)
    black = [(code, item) for code, item in pack.lists.items() if item.kind == ListKind.BLACK]
    context = {
        "paged": paged,
        "chosen": chosen,
        "lists": black,
        "wanted": wanted,
        "as_of": china_today(),
        "authorities": _authorities(pack),
        "base": _base(request),
    }
    return render(request, "portal/list.html", context)


def _decisions(request: Request, pack: Pack, types: list[str], wanted: Filters, page: int) -> Paged:
    try:
        with request.app.state.sessionmaker() as session:
            return decision_page(session, pack, china_today(), types, wanted, page)
    except PageOutOfRange:
        raise HTTPException(404, "no such page") from None


def _authorities(pack: Pack) -> list[tuple[str, Any]]:
    return sorted(pack.authorities.items(), key=lambda item: item[1].name.zh)


def _download(header: list[str], table: list[list[Any]], stem: str, kind: str) -> Response:
    if kind == "xlsx":
        return Response(
            xlsx_bytes(header, table),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    return Response(
        csv_bytes(header, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )


@router.get("/defaulters", response_class=HTMLResponse, name="defaulters")
def defaulters_page(
    request: Request,
    wanted: Wanted,
    page: Page = 1,
    list_code: Annotated[str, Query(alias="list", max_length=100)] = "",
    download: Download = "",
) -> Response:
    """Published defaulters: every black list, or the one asked for (an unknown list is a 404,
    never every list)."""
    pack = _pack(request)
    codes = black_lists(pack)
    if list_code:
        if list_code not in codes:
            raise HTTPException(404, f"no black list {list_code!r}")
        codes = [list_code]
    chosen = pack.lists[list_code] if list_code else None
    return _list_page(request, codes, chosen, wanted, page, download)


@router.get("/lists", response_class=HTMLResponse, name="lists")
def lists_index(request: Request) -> HTMLResponse:
    pack = _pack(request)
    return render(request, "portal/lists.html", {"lists": list(pack.lists.values())})


@router.get("/lists/{code}", response_class=HTMLResponse, name="credit_list")
def list_page(
    request: Request, code: Code, wanted: Wanted, page: Page = 1, download: Download = ""
) -> Response:
    """One published list, black or red: one row per subject with all its entries."""
    pack = _pack(request)
    chosen = pack.lists.get(code)
    if chosen is None:
        raise HTTPException(404, f"no list {code!r}")
    return _list_page(request, [code], chosen, wanted, page, download)


Column = tuple[str, Callable[[dict[str, Any]], Any]]
"""A download's column: its header (a message id) and how a row gives its cell."""
NAME: Column = (N_("Name"), lambda row: row["subject"]["name"])
CODE: Column = (N_("Unified social credit code"), lambda row: row["subject"]["id"])
REGION: Column = (
    N_("Region"),
    lambda row: row["subject"]["region_name"] or row["subject"]["region"],
)
RECORD_TYPE: Column = (N_("Record type"), lambda row: bilingual(row["record_type_name"]))
DOCUMENT: Column = (N_("Document number"), lambda row: row["document_no"])
AUTHORITY: Column = (N_("Authority"), lambda row: bilingual(row["authority_name"]))
DECIDED: Column = (N_("Decided on"), lambda row: row["decided_on"])
PUBLICITY_COLUMNS = (
    NAME,
    CODE,
    REGION,
    RECORD_TYPE,
    DOCUMENT,
    AUTHORITY,
    DECIDED,
    (N_("Amount (yuan)"), lambda row: row["amount"] or ""),
)
COMMITMENT_COLUMNS = (
    NAME,
    CODE,
    REGION,
    RECORD_TYPE,
    (N_("Subject matter"), lambda row: row["subject_matter"] or ""),
    DOCUMENT,
    AUTHORITY,
    DECIDED,
)


def _decision_page(
    request: Request,
    codes: list[str],
    wanted: Filters,
    page: int,
    download: str,
    stem: str,
    columns: Sequence[Column],
) -> Response:
    """A page of organisations' public decisions of ``codes`` (the double publicity, the
    credit commitments), or the same rows as a download of ``columns``."""
    pack = _pack(request)
    if wanted.record_type and wanted.record_type not in codes:
        raise HTTPException(404, f"no record type {wanted.record_type!r} on this page")
    paged = _decisions(request, pack, codes, wanted, page)
    if download:
        admit_render(request)
        activate(choose(request))
        header = [_(title) for title, _cell in columns]
        table = [[cell(row) for _title, cell in columns] for row in paged.rows]
        return _download(header, table, f"{stem}-{china_today().isoformat()}-p{page}", download)
    context = {
        "paged": paged,
        "wanted": wanted,
        "types": [(code, pack.record_types[code]) for code in codes],
        "as_of": china_today(),
        "authorities": _authorities(pack),
        "base": _base(request),
    }
    return render(request, f"portal/{stem}.html", context)


@router.get("/publicity", response_class=HTMLResponse, name="publicity")
def publicity(
    request: Request, wanted: Wanted, page: Page = 1, download: Download = ""
) -> Response:
    """The double publicity channel: administrative licences and penalties of organisations."""
    codes = publicity_types(_pack(request))
    return _decision_page(request, codes, wanted, page, download, "publicity", PUBLICITY_COLUMNS)


@router.get("/commitments", response_class=HTMLResponse, name="commitments")
def commitments(
    request: Request, wanted: Wanted, page: Page = 1, download: Download = ""
) -> Response:
    """The credit commitment publicity: commitments organisations made, and those they broke."""
    codes = commitment_types(_pack(request))
    return _decision_page(request, codes, wanted, page, download, "commitments", COMMITMENT_COLUMNS)


@router.get("/stats", response_class=HTMLResponse, name="stats")
def stats_page(request: Request) -> HTMLResponse:
    activate(choose(request))
    pack = _pack(request)
    day = china_today()
    sections = request.app.state.stats.sections(request.app.state.sessionmaker, pack, day)
    options = {
        "listings": charts.listings(sections["listings"]) if "listings" in sections else None,
        "entries": charts.entries(sections["entries"]) if "entries" in sections else None,
        "regions": charts.regions(sections["entries"]) if "entries" in sections else None,
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
    """Every rule in the open, from the pack in force and the schemes the platform scores with."""
    published = published_rules(_pack(request), served_packs())
    return render(request, "portal/rules.html", {"rules": published})


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
