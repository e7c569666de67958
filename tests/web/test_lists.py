"""The published lists and the double publicity channel: one row per subject, filters that
narrow, true counts and pages, and downloads of exactly the rows on the page."""

import csv
import io
import re
import zipfile
from datetime import date

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.web.conftest import City

from xinyong.clock import china_today
from xinyong.enforcement.models import EntryRow
from xinyong.identifiers.regions import region_name
from xinyong.policy import Pack
from xinyong.portal.listing import PAGE_SIZE, csv_bytes, publicity_types, xlsx_bytes
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.search.publicity import black_lists, is_public

ROW = re.compile(r'<tr>\s*<td><a href="/subjects/([^"]+)">')
TOTAL = re.compile(r'<p class="result-count">共 (\d+) ')


def _walk(client: TestClient, path: str, **params: str) -> tuple[int, list[str]]:
    """The count a page states and the subjects of every row over all its pages."""
    first = client.get(path, params=params)
    assert first.status_code == 200, first.text
    match = TOTAL.search(first.text)
    assert match, "the page states its count"
    total = int(match.group(1))
    refs = ROW.findall(first.text)
    for page in range(2, -(-total // PAGE_SIZE) + 1):
        answer = client.get(path, params={**params, "page": str(page)})
        assert answer.status_code == 200
        refs += ROW.findall(answer.text)
    return total, refs


def _api_defaulters(client: TestClient, **params: str) -> set[str]:
    refs: set[str] = set()
    page = 1
    while True:
        listing = client.get("/v1/public/defaulters", params={**params, "page": page}).json()
        refs |= {entry["subject"]["ref"] for entry in listing["entries"]}
        if page >= listing["pages"]:
            return refs
        page += 1


def test_defaulters_have_one_row_each_and_the_count_is_true(client: TestClient) -> None:
    total, refs = _walk(client, "/defaulters")
    assert len(refs) == len(set(refs)) == total > 0
    assert set(refs) == _api_defaulters(client)
    court_total, court = _walk(client, "/defaulters", list="court.defaulters")
    assert set(court) == _api_defaulters(client, list="court.defaulters")
    assert 0 < court_total < total or court_total == total == len(court)


def test_an_unknown_list_is_an_error_not_every_list(client: TestClient) -> None:
    nonsense = client.get("/defaulters", params={"list": "nonsense"})
    assert nonsense.status_code == 404 and "页面不存在" in nonsense.text
    assert client.get("/lists/nonsense").status_code == 404
    assert client.get("/defaulters", params={"page": "9999"}).status_code == 404


def test_filters_narrow_to_what_they_say(client: TestClient) -> None:
    total, refs = _walk(client, "/defaulters")
    region = client.get(f"/v1/public/subjects/{refs[0]}").json()["subject"]["region"]
    name = region_name(region)
    assert name, "the demo city's regions are real divisions"
    assert name in client.get(f"/subjects/{refs[0]}").text, "the file names its region"
    shown, regional = _walk(client, "/defaulters", region=region[:4])
    assert 0 < shown <= total and refs[0] in regional
    for ref in regional:
        assert (
            client.get(f"/v1/public/subjects/{ref}").json()["subject"]["region"][:4] == region[:4]
        )
    name = client.get("/defaulters", params={"name": "不会有这样的名字"})
    assert "共 0 " in name.text
    later = client.get("/defaulters", params={"since": "2999-01-01"})
    assert "共 0 " in later.text
    assert client.get("/defaulters", params={"since": "not a day"}).status_code == 422
    assert client.get("/defaulters", params={"region": "11x"}).status_code == 422


def test_a_download_holds_exactly_the_rows_on_the_page(client: TestClient) -> None:
    page = client.get("/defaulters")
    refs = ROW.findall(page.text)
    download = client.get("/defaulters", params={"download": "csv"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][0] == "名称" and len(rows) - 1 == len(refs)
    assert any("*" in row[1] for row in rows[1:]), "persons' identity numbers are masked"
    for row in rows[1:]:
        assert row[0] in page.text and row[1] in page.text, "as the page shows it (masked)"
    book = client.get("/defaulters", params={"download": "xlsx"})
    with zipfile.ZipFile(io.BytesIO(book.content)) as archive:
        strings = archive.read("xl/sharedStrings.xml").decode()
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert all(row[0] in strings for row in rows[1:])
    assert sheet.count("<row ") == len(refs) + 1


def test_every_published_list_has_a_page(client: TestClient) -> None:
    index = client.get("/lists")
    links = re.findall(r'href="/lists/([^"]+)"', index.text)
    assert "court.defaulters" in links and "tax.a_grade_taxpayers" in links
    for code in links:
        assert client.get(f"/lists/{code}").status_code == 200, code


def test_the_double_publicity_channel_shows_licences_and_penalties(client: TestClient) -> None:
    total, refs = _walk(client, "/publicity")
    assert total == len(refs) > 0
    recent = client.get("/publicity", params={"since": date(2999, 1, 1).isoformat()})
    assert "共 0 " in recent.text
    download = client.get("/publicity", params={"download": "csv"})
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert len(rows) - 1 == min(total, PAGE_SIZE)
    penalties = client.get("/publicity", params={"type": "admin.penalty", "lang": "en"})
    assert penalties.status_code == 200 and "Penalty</span>" in penalties.text
    assert "Licence</span>" not in penalties.text


@given(st.lists(st.text(max_size=12), min_size=1, max_size=6))
def test_no_download_cell_is_a_formula(cells: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(csv_bytes(["h"] * len(cells), [cells]).decode("utf-8-sig"))))
    for cell in rows[1]:
        assert cell[:1] not in ("=", "+", "-", "@", "＝", "＋", "－", "＠") or cell == ""
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(["h"] * len(cells), [cells]))) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_the_counts_are_those_of_the_publicity_rule(
    client: TestClient, city: City, national: Pack
) -> None:
    """The store counts what ``is_public`` accepts, row by row, over the whole city."""
    day = china_today()
    with city.factory() as session:
        entries = session.execute(
            select(EntryRow.subject_id, Record, RecordHead.status)
            .join(Record, Record.id == EntryRow.record_id)
            .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
            .where(
                EntryRow.list_code.in_(black_lists(national)),
                EntryRow.started_on <= day,
                EntryRow.ended_on > day,
            )
        ).all()
        records = session.execute(
            select(Record, RecordHead.status)
            .join(RecordHead, RecordHead.record_id == Record.id)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.kind == "organisation")
        ).all()
    listed = {
        subject_id
        for subject_id, record, status in entries
        if is_public(national, record.record_type, record.severity, record.decided_on, status, day)
    }
    publicised = [
        record
        for record, status in records
        if record.record_type in publicity_types(national)
        and is_public(national, record.record_type, record.severity, record.decided_on, status, day)
    ]
    assert _walk(client, "/defaulters")[0] == len(listed) > 0
    assert _walk(client, "/publicity")[0] == len(publicised) > 0
    assert client.get("/v1/public/defaulters").json()["total"] == sum(
        1
        for _, record, status in entries
        if is_public(national, record.record_type, record.severity, record.decided_on, status, day)
    )
