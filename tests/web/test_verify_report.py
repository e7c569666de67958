"""The HTML credit report on a phone, in Chromium: it fits 390 px without scrolling sideways,
every cell keeps its column's name, and the QR code links to the verification page."""

from playwright.sync_api import Browser

from xinyong.subjects.report import Report, Section, render_html

LONG = "北京市朝阳区示例路1号院2号楼3层301室（京朝市监登〔2020〕12345号）" * 3


def test_the_html_report_reads_on_a_phone(chromium: Browser) -> None:
    report = Report(
        number="XY-20261206-ABCDEFGHIJ",
        issued_at="2026-12-06T01:02:03+00:00",
        issuer="公共信用信息平台 Public credit information platform",
        issued_to="公众 Anyone",
        covering="公开信用信息 Public credit information",
        name="北京示例科技有限公司",
        identifier="91110105000000011X",
        as_of="2026-12-06",
        verify_at="https://credit.example.gov.cn/verify",
        title="公共信用信息报告 Public credit report",
        heading=["北京示例科技有限公司 · 91110105000000011X"],
        sections=[
            Section(
                "公开记录 Public records",
                tuple(f"列{n} Column {n}" for n in range(7)),
                [tuple(LONG for _ in range(7))],
                "none",
            )
        ],
    )
    code = "XY1." + "A" * 200 + "." + "B" * 86
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_content(render_html(report, code))
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    assert (
        page.locator("td").first.evaluate("cell => getComputedStyle(cell, '::before').content")
        == '"列0 Column 0"'
    )
    link = page.locator("a:has(svg)").get_attribute("href")
    assert link is not None and link.startswith("https://credit.example.gov.cn/verify?code=XY1.")
    context.close()
