"""The help pages, announcements, credit commitments, the A-grade taxpayer list and /rules,
as a visitor reads them on the demo city."""

import csv
import html
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.web.conftest import City

from xinyong.policy import Pack
from xinyong.records.models import Record, Subject
from xinyong.scoring.packs import served_packs
from xinyong.web.i18n import EN, ZH, activate
from xinyong.web.labels import basis_label

ROW = re.compile(r'<tr>\s*<td><a href="/subjects/([^"]+)">')
TOTAL = re.compile(r'<p class="result-count">共 (\d+) ')


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_help_lists_every_page_of_the_pack_and_renders_each(
    client: TestClient, national: Pack
) -> None:
    index = client.get("/help")
    assert index.status_code == 200
    for code, page in national.help.items():
        assert f'href="/help/{code}"' in index.text
        chinese = client.get(f"/help/{code}", params={"lang": "zh"})
        english = client.get(f"/help/{code}", params={"lang": "en"})
        assert page.title.zh in chinese.text and page.title.en in english.text
        # The body in the page's language, rendered: Markdown headings become headings.
        first_heading = page.body.zh.split("## ", 1)[1].split("\n", 1)[0]
        assert f"<h2>{first_heading}</h2>" in chinese.text
        assert page.body.en.split("## ", 1)[1].split("\n", 1)[0] in english.text
        assert first_heading not in english.text
    assert client.get("/help/no-such-page").status_code == 404
    assert client.get("/help/<script>").status_code in (404, 422)


def test_the_guide_tables_scroll_inside_a_focusable_box(client: TestClient) -> None:
    guide = client.get("/help/objections-and-repair").text
    assert '<div class="table-scroll" tabindex="0"><table>' in guide
    assert guide.count("<table>") == guide.count('<div class="table-scroll" tabindex="0">')


def test_announcements_come_newest_first_with_issuer_and_sources(
    client: TestClient, national: Pack
) -> None:
    listing = client.get("/announcements").text
    slugs = re.findall(r'href="/announcements/([a-z0-9-]+)"', listing)
    newest_first = sorted(
        national.announcements.values(), key=lambda item: item.published_on, reverse=True
    )
    assert slugs == [item.code for item in newest_first]
    activate(ZH)
    for item in newest_first:
        page = client.get(f"/announcements/{item.code}", params={"lang": "zh"}).text
        assert national.authorities[item.issuer].name.zh in page
        for source in item.sources:
            assert html.escape(basis_label(source)) in page
    assert client.get("/announcements/no-such-notice").status_code == 404
    assert "/announcements" in client.get("/").text, "the footer links them"


def test_commitments_shows_organisations_public_commitments_with_downloads(
    client: TestClient, city: City
) -> None:
    first = client.get("/commitments")
    assert first.status_code == 200
    match = TOTAL.search(first.text)
    assert match
    total = int(match.group(1))
    with city.factory() as session:
        made = session.scalar(
            select(func.count())
            .select_from(Record)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Record.record_type.in_(["commitment.made", "commitment.breach"]),
                Subject.kind == "organisation",
            )
        )
        persons = set(session.scalars(select(Subject.identifier).where(Subject.kind == "person")))
    assert 0 < total <= (made or 0)
    refs = ROW.findall(first.text)
    assert refs and not persons & set(refs), "persons' commitments are not published here"
    download = client.get("/commitments", params={"download": "csv"})
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][4] == "承诺事项" and len(rows) - 1 == len(refs)
    assert all(row[0] in first.text and row[4] in first.text for row in rows[1:])
    breaches = client.get("/commitments", params={"type": "commitment.breach"})
    assert breaches.status_code == 200
    assert client.get("/commitments", params={"type": "admin.penalty"}).status_code == 404


def test_the_a_grade_taxpayer_list_names_organisations_not_their_ratings(
    client: TestClient, city: City
) -> None:
    page = client.get("/lists/tax.a_grade_taxpayers")
    refs = ROW.findall(page.text)
    assert refs, "the demo city has A-grade taxpayers and the list is published"
    with city.factory() as session:
        ratings = set(
            session.scalars(
                select(Record.document_no).where(Record.record_type == "tax.credit_rating")
            )
        )
    shown = _text(page.text)
    assert not [number for number in ratings if number in shown]
    profile = client.get(f"/subjects/{refs[0]}").text
    assert "纳税信用A级纳税人名单" in profile
    name = re.search(rf'href="/subjects/{refs[0]}">([^<]+)<', page.text)
    assert name
    found = client.get("/search", params={"q": name.group(1)}).text
    assert '<span class="badge red">纳税信用A级纳税人名单</span>' in found


def test_rules_lays_out_every_list_measure_procedure_and_scheme(
    client: TestClient, national: Pack
) -> None:
    activate(EN)
    page = _text(client.get("/rules", params={"lang": "en"}).text)
    for credit_list in national.lists.values():
        assert credit_list.name.en in page
        for applied in credit_list.measures:
            measure = national.measures[applied.measure]
            assert measure.name.en in page and measure.implemented_by.en in page
    for memorandum in national.memoranda.values():
        for applied in memorandum.measures:
            assert national.measures[applied.measure].name.en in page
        assert memorandum.document_no in page
    for procedure in national.rights.values():
        assert procedure.name.en in page
        assert f"{procedure.decide_within} working days" in page
        assert f"{procedure.close_within} working days" in page
    for pack in served_packs():
        for scheme in pack.schemes.values():
            assert scheme.name.en in page
            for rule in getattr(scheme, "rules", ()):
                assert f"{rule.name.en} " in page
                assert f"{rule.points:+d}" in page
    chinese = _text(client.get("/rules", params={"lang": "zh"}).text)
    assert "Art." not in chinese, "articles read as Chinese writes them"
    assert "第36条" in chinese
