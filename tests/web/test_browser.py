"""The portal in a real browser: Debian's Chromium driven by Playwright, against the app served
by uvicorn on 127.0.0.1. Every page visited is saved as a screenshot under var/screenshots/."""

import shutil
import subprocess

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from tests.web.conftest import CHROMIUM, SCREENSHOTS, City

from xinyong.records.models import LegalRepresentative, Subject

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps installs it)"
)


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _organisation(city: City) -> Subject:
    with city.factory() as session:
        found = session.scalars(
            select(Subject)
            .join(LegalRepresentative, LegalRepresentative.organisation_id == Subject.id)
            .where(LegalRepresentative.ended_on.is_(None))
            .order_by(Subject.id.desc())
        ).first()
    assert found is not None
    return found


def test_cjk_fonts_are_installed() -> None:
    assert shutil.which("fc-list"), "fontconfig is missing"
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=True)
    assert "Noto Sans CJK" in listed.stdout


def test_search_to_profile_in_the_browser(page: Page, server: str, city: City) -> None:
    organisation = _organisation(city)
    page.goto(f"{server}/")
    _shot(page, "home")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_label("按名称、拼音、统一社会信用代码或身份证号码查询").fill(organisation.name)
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    _shot(page, "search")
    page.get_by_role("link", name=organisation.name).first.click()
    page.wait_for_url(f"**/subjects/{organisation.identifier}")
    assert page.get_by_role("heading", level=1).inner_text() == organisation.name
    assert page.get_by_text(organisation.identifier).first.is_visible()
    assert page.get_by_role("link", name="收录证明").count() > 0
    _shot(page, "subject-organisation")


def test_live_search_updates_results_without_a_reload(page: Page, server: str, city: City) -> None:
    organisation = _organisation(city)
    page.goto(f"{server}/search")
    page.evaluate("window.notReloaded = true")
    page.locator("#q").press_sequentially(organisation.name[:6], delay=20)
    page.get_by_role("link", name=organisation.name).first.wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert "q=" in page.url


def test_language_toggle_switches_page_language(page: Page, server: str) -> None:
    page.goto(f"{server}/rules")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text() == "规则与法律依据"
    _shot(page, "rules")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.url.endswith("/rules")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Rules and legal basis"
    page.goto(f"{server}/")
    assert page.locator("html").get_attribute("lang") == "en"
    _shot(page, "home-en")


def test_chinese_text_renders_in_noto_sans_cjk(page: Page, server: str) -> None:
    page.goto(f"{server}/")
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    heading = session.send("DOM.querySelector", {"nodeId": root, "selector": "h1"})["nodeId"]
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": heading})["fonts"]
    assert fonts and all("Noto Sans CJK" in font["familyName"] for font in fonts), fonts
    # Tofu boxes would all be the same width; real glyphs of a proportional CJK face are square
    # and as wide as the font size, and Latin letters are narrower.
    widths = page.evaluate(
        """() => {
            const probe = document.createElement('span');
            probe.style.cssText = 'position: absolute; white-space: nowrap';
            document.body.append(probe);
            const measure = (text) => { probe.textContent = text; return probe.getBoundingClientRect().width; };
            return {cjk: measure('信用信用'), latin: measure('iiii'), size: parseFloat(getComputedStyle(probe).fontSize)};
        }"""
    )
    assert abs(widths["cjk"] - 4 * widths["size"]) < 1
    assert widths["latin"] < widths["cjk"] / 2


def test_published_defaulter_pages_and_statistics(page: Page, server: str) -> None:
    page.goto(f"{server}/defaulters")
    assert page.locator("tbody tr").count() > 0
    _shot(page, "defaulters")
    masked = page.locator("tbody tr td.code").first.inner_text()
    page.locator("tbody tr a").first.click()
    page.wait_for_url("**/subjects/*")
    assert page.get_by_text("列入黑名单").is_visible()
    _shot(page, "subject-defaulter")
    assert page.locator(".ids .code").inner_text() == masked
    page.goto(f"{server}/stats")
    page.locator("#chart-listings svg").first.wait_for()
    assert page.locator("#chart-checks svg").count() == 1
    _shot(page, "stats")
    page.goto(f"{server}/subjects/0")
    _shot(page, "not-found")


def test_pages_read_without_javascript(chromium: Browser, server: str) -> None:
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{server}/stats")
    assert not page.locator("#chart-listings").is_visible()
    assert page.locator("details.data table").first.is_visible()
    _shot(page, "stats-without-javascript")
    page.goto(f"{server}/search?q=北京")
    assert page.locator(".result").count() > 0
    context.close()


def test_keyboard_reaches_the_content_first(page: Page, server: str) -> None:
    page.goto(f"{server}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "跳到正文"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
