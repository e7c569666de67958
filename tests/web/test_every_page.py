"""Every page, in zh-CN and English, at a phone's 390 px and a desktop's 1366 px, for every
role: no horizontal overflow, no serious or critical axe-core violation, and on the Chinese
pages no code, Python literal or English message of the service's own; and no page over
200 KB of HTML and scripts before the charts library. A screenshot of each
is kept under ``var/screenshots/pages/`` to be looked at."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page
from tests.web.conftest import SCREENSHOTS, City

from xinyong.web import i18n

AXE = next(Path(__file__).resolve().parents[2].glob("build/axe-core-*/axe.min.js"), None)
WIDTHS = (390, 1366)
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
    "/no/such/page",
)
OWN_PAGES = {
    "subject": ("/me", "/me/requests", "objection", "repair"),
    "reviewer": ("/console/reviews", "case"),
    "authority": ("/console/reviews",),
    "operator": ("/console/operator", "/console/quarantine"),
    "auditor": (
        "/console/audit",
        "/console/audit/search?kind=staff",
        "/console/audit/search?kind=checks&relying_party=ticket+office",
    ),
}
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
def people(city: City) -> dict[str, tuple[str, str]]:
    """A demo account of each role: username and password."""
    accounts = json.loads((city.settings.var_dir / "demo" / "accounts.json").read_text())
    chosen: dict[str, tuple[str, str]] = {}
    for account in accounts:
        chosen.setdefault(account["role"], (account["username"], account["password"]))
    return chosen


def _untranslated(text: str) -> list[str]:
    found = SNAKE.findall(text) + DOTTED.findall(text) + LITERAL.findall(text)
    found += [message for message in ENGLISH if message in text]
    return found


def _check(page: Page, path: str, lang: str, width: int, role: str, failures: list[str]) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
    where = f"{role} {lang} {width}px {path}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        culprits = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > window.innerWidth + 1 && !e.closest('.table-scroll')).slice(-3)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        failures.append(f"{where}: {overflow}px wider than the viewport: {culprits}")
    weight = page.evaluate(
        "(async () => { let bytes = new Blob([document.documentElement.outerHTML]).size;"
        " for (const script of document.scripts) if (script.src && !script.src.includes('echarts'))"
        " bytes += (await (await fetch(script.src)).arrayBuffer()).byteLength;"
        " return bytes; })()"
    )
    if weight > MAX_BYTES:
        failures.append(f"{where}: {weight:,} bytes of HTML and scripts (charts aside)")
    if AXE is not None:
        page.evaluate(AXE.read_text() + ";0")
        violations = page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))"
        )
        failures += [f"{where}: axe {violation}" for violation in violations]
    if lang == "zh":
        # What a page marks translate="no" is data meant to be shown as it is (a submitted
        # row in the quarantine); everything else must be in words.
        text = page.evaluate(
            "(() => { const body = document.body.cloneNode(true);"
            " body.querySelectorAll('[translate=no], script, style').forEach(e => e.remove());"
            " return body.textContent; })()"
        )
        failures += [f"{where}: untranslated {code!r}" for code in sorted(set(_untranslated(text)))]
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{role}-{lang}-{width}-{path}").strip("_")[:120]
    page.screenshot(path=str(SCREENSHOTS / "pages" / f"{name}.png"), full_page=True)


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
        elif path == "case":
            page.goto("/console/reviews?closed=true")
            link = page.locator("a[href^='/console/reviews/']").first
            if link.count():
                yield str(link.get_attribute("href"))
        else:
            yield path


@pytest.mark.skipif(AXE is None, reason="make web-assets vendors axe-core")
def test_every_page_fits_reads_and_is_accessible(
    chromium: Browser, server: str, people: dict[str, tuple[str, str]]
) -> None:
    (SCREENSHOTS / "pages").mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for role in ("anonymous", *sorted(people)):
        context = chromium.new_context(base_url=server, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
        paths: list[str] = list(PUBLIC)
        if role != "anonymous":
            _sign_in(page, *people[role])
            paths = ["/", *_own_paths(page, role)]
        for path in paths:
            for lang in ("zh", "en"):
                for width in WIDTHS:
                    _check(page, path, lang, width, role, failures)
        failures += [f"{role}: script error {error}" for error in errors]
        context.close()
    assert not failures, "\n".join(failures)
