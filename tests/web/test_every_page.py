"""Every page, in zh-CN and English, at a phone's 390 px and a desktop's 1366 px, for every
demo account: no horizontal overflow, no serious or critical axe-core violation, and on the
Chinese pages no code, Python literal or English message of the service's own; and no page over
200 KB of HTML and scripts before the charts library. A screenshot of each Chinese page, at
both widths, is kept under ``var/screenshots/pages/`` to be looked at (the English pages are
laid out by the same markup and styles; a screenshot is a quarter of a page's time). Each page is loaded once per language: checked at
the phone's width, then resized to the desktop's; axe runs its whole set at the desktop's width
and, at the phone's, the rule whose outcome a narrower layout can change.

The pages with a path parameter are found in the links of the pages walked: every case in the
reviewer's queue (open and decided: the demo applicant's), the first of each other kind. The
walk fails when a page of the app's route table was never rendered, so a new page (or a page
the demo city gives nothing to show) cannot stay out of it."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from playwright.sync_api import Browser, Page
from tests.web.conftest import SCREENSHOTS, City

from xinyong.web import i18n

AXE = next(Path(__file__).resolve().parents[2].glob("build/axe-core-*/axe.min.js"), None)
LANGS = ("zh", "en")
WIDTHS = (390, 1366)
PHONE_RULES = ("scrollable-region-focusable",)
"""The rules of axe's default set whose outcome the phone's layout can change beyond hiding
what the desktop shows: whether a region scrolls (a wide table does on a phone)."""
MAX_BYTES = 200 * 1024
"""A page's HTML and scripts, the charts library aside."""
PUBLIC = (
    "/",
    "/search?q=有限公司",
    "/publicity",
    "/defaulters",
    "/lists",
    "/lists/court.defaulters",
    "/stats",
    "/lists/tax.a_grade_taxpayers",
    "/commitments",
    "/rules",
    "/help",
    "/help/objections-and-repair",
    "/help/faq",
    "/announcements",
    "/announcements/samr-credit-repair-2025",
    "/sign-in",
    "/sign-in/reset",
    "/sign-in/reset/new?token=from-the-mail",
    "/verify",
    "/no/such/page",
)
OWN_PAGES = {
    "subject": ("/me", "/me/requests", "objection", "repair"),
    "reviewer": ("/console/reviews", "/console/reviews?closed=true"),
    "authority": ("/console/reviews",),
    "operator": ("/console/operator", "/console/quarantine"),
    "auditor": (
        "/console/audit",
        "/console/audit/search?kind=staff",
        "/console/audit/search?kind=checks&relying_party=ticket+office",
    ),
}
OWN = ("/console/", "/me/")
"""Where a person's own pages are: each one linked from them is walked, not just the first."""
NOT_WALKED = {
    "/docs": "the API's documentation, a vendored viewer walked by tests/web/test_api_docs.py",
    "/redoc": "the API's documentation, a vendored viewer walked by tests/web/test_api_docs.py",
}
STATIC = Path(i18n.__file__).parent / "static"
COLOURING = {
    "color",
    "background",
    "background-color",
    "background-image",
    "opacity",
    "filter",
    "visibility",
    "mix-blend-mode",
    "text-shadow",
}
"""Properties by which a style changes what axe's colour rules read."""
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
DOTTED = re.compile(r"\b[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(?:\[\d+\])?\b")
LITERAL = re.compile(r"\b(?:None|True|False|nan)\b")


def _english_messages() -> list[str]:
    """The service's own English messages of three words or more (names are shorter)."""
    with (i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale="zh_CN")
    messages = [m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue if m.id]
    return [m for m in messages if len(m.split()) >= 3 and "%" not in m]


ENGLISH = _english_messages()


@pytest.fixture(scope="module")
def people(city: City) -> list[tuple[str, str, str]]:
    """Every demo account: its role, username and password."""
    accounts = json.loads((city.settings.var_dir / "demo" / "accounts.json").read_text())
    return [(account["role"], account["username"], account["password"]) for account in accounts]


def _pages(app: FastAPI) -> list[APIRoute]:
    """The site's pages: the routes outside the API that answer a GET with HTML (the API's
    HTML credit reports are documents, read on a phone by tests/web/test_verify_report.py)."""
    return [
        route
        for context in iter_route_contexts(app.routes)
        if isinstance(route := context.original_route, APIRoute)
        and "GET" in route.methods
        and route.response_class is HTMLResponse
        and not route.include_in_schema
    ]


def _untranslated(text: str) -> list[str]:
    found = SNAKE.findall(text) + DOTTED.findall(text) + LITERAL.findall(text)
    found += [message for message in ENGLISH if message in text]
    return found


def _check(page: Page, path: str, lang: str, role: str, failures: list[str]) -> None:
    """The page at a phone's width, then at a desktop's: what the width can change (the
    overflow, whether a table scrolls, the picture) at each; what it cannot (the bytes sent,
    the words, the markup's accessibility) once, at the desktop's width, where the phone's
    layout hides nothing that is not also checked (``test_the_phone_layout_changes_no_colour``
    holds the styles to that)."""
    phone, desktop = WIDTHS
    page.set_viewport_size({"width": phone, "height": 900})
    page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
    _check_layout(page, path, lang, phone, role, failures, PHONE_RULES)
    page.set_viewport_size({"width": desktop, "height": 900})
    _check_layout(page, path, lang, desktop, role, failures, None)
    where = f"{role} {lang} {path}"
    weight = page.evaluate(
        "(async () => { let bytes = new Blob([document.documentElement.outerHTML]).size;"
        " for (const script of document.scripts) if (script.src && !script.src.includes('echarts'))"
        " bytes += (await (await fetch(script.src)).arrayBuffer()).byteLength;"
        " return bytes; })()"
    )
    if weight > MAX_BYTES:
        failures.append(f"{where}: {weight:,} bytes of HTML and scripts (charts aside)")
    if lang == "zh":
        # What a page marks translate="no" is data meant to be shown as it is (a submitted
        # row in the quarantine); everything else must be in words.
        text = page.evaluate(
            "(() => { const body = document.body.cloneNode(true);"
            " body.querySelectorAll('[translate=no], script, style').forEach(e => e.remove());"
            " return body.textContent; })()"
        )
        failures += [f"{where}: untranslated {code!r}" for code in sorted(set(_untranslated(text)))]


def _check_layout(
    page: Page,
    path: str,
    lang: str,
    width: int,
    role: str,
    failures: list[str],
    rules: tuple[str, ...] | None,
) -> None:
    """No overflow at ``width``, no serious or critical violation of axe's ``rules`` (None:
    all it runs by default), and a screenshot of a Chinese page."""
    where = f"{role} {lang} {width}px {path}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        culprits = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > window.innerWidth + 1 && !e.closest('.table-scroll')).slice(-3)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        failures.append(f"{where}: {overflow}px wider than the viewport: {culprits}")
    if AXE is not None:
        only = {} if rules is None else {"runOnly": {"type": "rule", "values": list(rules)}}
        violations = page.evaluate(
            "options => axe.run(document, {...options, resultTypes: ['violations']})"
            ".then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))",
            only,
        )
        failures += [f"{where}: axe {violation}" for violation in violations]
    if lang == "zh":
        name = re.sub(r"[^A-Za-z0-9]+", "_", f"{role}-{width}-{path}").strip("_")[:120]
        # JPEG: a full-length PNG of a long page takes Chromium longer to encode than to check.
        shot = SCREENSHOTS / "pages" / f"{name}.jpg"
        page.screenshot(path=str(shot), full_page=True, quality=80)


def _sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def _own_paths(page: Page, role: str) -> Iterator[str]:
    for path in OWN_PAGES.get(role, ()):
        if path in ("objection", "repair"):
            page.goto("/me")
            link = page.locator(f"a[href^='/me/{path}s/new?record=']").first
            if link.count():
                yield str(link.get_attribute("href"))
            elif path == "repair":
                # No record of this subject can be repaired: its repair page says how each ends.
                objection = page.locator("a[href^='/me/objections/new?record=']").first
                if objection.count():
                    href = str(objection.get_attribute("href"))
                    yield href.replace("/me/objections/", "/me/repairs/", 1)
        else:
            yield path


def _route(pages: list[APIRoute], path: str) -> str | None:
    """The page route a site path opens, by its template (``/console/reviews/{case_id}``)."""
    plain = urlsplit(path).path
    return next((route.path for route in pages if route.path_regex.match(plain)), None)


def _linked(page: Page, pages: list[APIRoute], rendered: set[str]) -> Iterator[str]:
    """The pages with a path parameter the page shown links to: each of the person's own,
    and the first of any other kind that no one has rendered yet."""
    hrefs = page.eval_on_selector_all(
        "a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
    )
    seen: set[str] = set()
    for href in dict.fromkeys(str(href).split("#")[0] for href in hrefs):
        route = _route(pages, href)
        if route is None or "{" not in route or "lang=" in href:
            continue
        if route.startswith(OWN) or (route not in rendered and route not in seen):
            seen.add(route)
            yield href


@pytest.mark.skipif(AXE is None, reason="make web-assets vendors axe-core")
# One walk per language, each whole (every account, every page, every linked case, at both
# widths). Both run on the web city's worker, which holds the city, its server and Chromium.
@pytest.mark.parametrize("lang", LANGS)
def test_every_page_fits_reads_and_is_accessible(
    chromium: Browser,
    server: str,
    app: FastAPI,
    people: list[tuple[str, str, str]],
    lang: str,
) -> None:
    (SCREENSHOTS / "pages").mkdir(parents=True, exist_ok=True)
    pages = _pages(app)
    failures: list[str] = []
    rendered: dict[str, list[str]] = {}
    for role, username, password in [("anonymous", "", ""), *people]:
        context = chromium.new_context(base_url=server, locale="zh-CN")
        # axe-core (half a megabyte) is sent to the browser once a context and runs in every
        # page it opens: sent with each page, it cost more than the page's own load.
        context.add_init_script(path=AXE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
        paths: list[str] = list(PUBLIC)
        if role != "anonymous":
            _sign_in(page, username, password)
            paths = ["/", *_own_paths(page, role)]
        who = username or role
        walked: list[str] = []
        for path in paths:
            if path in walked:
                continue
            walked.append(path)
            _check(page, path, lang, who, failures)
            route = _route(pages, path)
            if route is not None:
                rendered.setdefault(route, []).append(path)
            if "{" not in (route or "{"):
                # Walked in this same loop, after the pages that link to them.
                paths += [href for href in _linked(page, pages, set(rendered)) if href not in paths]
        failures += [f"{who}: script error {error}" for error in errors]
        context.close()
    never = sorted({route.path for route in pages} - set(rendered) - set(NOT_WALKED))
    failures += [
        f"{route}: no walked page links to it, so it was never rendered" for route in never
    ]
    assert not failures, "\n".join(failures)
    # The demo applicant's cases: its objection with the other record of its case, its repair
    # application and its decided objection, each on the reviewer's side.
    assert len(set(rendered["/console/reviews/{case_id}"])) >= 4


def test_the_phone_layout_changes_no_colour() -> None:
    """What lets axe's colour and markup rules run at one width: the styles for a narrow
    screen lay the page out differently and hide some of it, but colour nothing axe reads (the
    text a ``::before`` adds is not text axe checks)."""
    rules = [
        (selector, prop)
        for css in STATIC.glob("*.css")
        for block in _media_blocks(css.read_text())
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", block)
        for prop in re.findall(r"([-a-z]+)\s*:", body)
    ]
    assert ("table.stack thead", "clip") in [(s.strip(), p) for s, p in rules]
    coloured = [
        (selector.strip(), prop)
        for selector, prop in rules
        if prop in COLOURING and not re.search(r"::(before|after)\b", selector)
    ]
    assert coloured == []


def _media_blocks(css: str) -> Iterator[str]:
    """The insides of the stylesheet's @media blocks."""
    for start in (match.end() for match in re.finditer(r"@media[^{]*\{", css)):
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        yield css[start : end - 1]


def test_the_walk_knows_the_pages_from_the_route_table(app: FastAPI) -> None:
    pages = _pages(app)
    paths = {route.path for route in pages}
    assert {"/console/reviews/{case_id}", "/subjects/{ref}", "/me/requests", "/verify"} <= paths
    # Files and API answers are not pages: an evidence file, a download, the JSON routes.
    assert "/console/reviews/{case_id}/evidence/{n}" not in paths
    assert "/console/audit/export" not in paths
    assert not any(path.startswith("/v1") for path in paths)
    assert _route(pages, "/console/reviews/12?lang=en") == "/console/reviews/{case_id}"
    assert _route(pages, "/console/reviews/12/evidence/1") is None
