"""The search page: the count is every hit, pages hold the rest, facets narrow by kind and
province, rows carry what a visitor looks for, and a list badge only on a listed subject."""

import re

from fastapi.testclient import TestClient

from xinyong.identifiers.regions import region_name
from xinyong.portal.results import SEARCH_PAGE

RESULT = re.compile(r'<li class="result">\s*<a href="/subjects/([^"]+)">')
COUNT = re.compile(r'<p class="result-count">共 (\d+) 条结果')
QUERY = "有限公司"  # in nearly every organisation's name: more hits than a page holds


def _count(text: str) -> int:
    match = COUNT.search(text)
    assert match, "the page states its count"
    return int(match.group(1))


def test_the_count_is_every_hit_and_the_pages_hold_them_all(client: TestClient) -> None:
    first = client.get("/search", params={"q": QUERY})
    total = _count(first.text)
    assert total > SEARCH_PAGE, "the demo city has more matches than one page"
    refs = RESULT.findall(first.text)
    pages = -(-total // SEARCH_PAGE)
    for page in range(2, pages + 1):
        refs += RESULT.findall(client.get("/search", params={"q": QUERY, "page": page}).text)
    assert len(refs) == len(set(refs)) == total
    assert client.get("/search", params={"q": QUERY, "page": pages + 1}).status_code == 404


def test_facets_narrow_and_count_what_they_narrow_to(client: TestClient) -> None:
    page = client.get("/search", params={"q": QUERY})
    total = _count(page.text)
    regions = re.findall(
        r'href="/search\?q=[^"&]+&amp;region=(\d\d)"[^>]*>([^<(]+) \((\d+)\)', page.text
    )
    assert regions and sum(int(count) for _, _, count in regions) <= total
    code, name, count = regions[0]
    assert not re.fullmatch(r"\d+", name.strip()), "a province is named, not coded"
    narrowed = client.get("/search", params={"q": QUERY, "region": code})
    assert _count(narrowed.text) == int(count)
    organisations = client.get("/search", params={"q": QUERY, "kind": "organisation"})
    assert 'class="badge person"' not in organisations.text
    assert client.get("/search", params={"q": QUERY, "kind": "robot"}).status_code == 422


def test_rows_are_rich_and_list_badges_belong_to_their_subject(client: TestClient) -> None:
    page = client.get("/search", params={"q": QUERY})
    assert "法定代表人" in page.text and "成立日期" in page.text
    for item in page.text.split('<li class="result">')[1:]:
        ref = RESULT.search('<li class="result">' + item)
        assert ref
        badges = re.findall(r'class="badge (?:black|red|watch)">([^<]+)<', item)
        entries = client.get(f"/v1/public/subjects/{ref.group(1)}").json()["entries"]
        assert sorted(set(badges)) == sorted({entry["list_name"]["zh"] for entry in entries})


def test_search_hits_name_their_region_beside_the_code(client: TestClient) -> None:
    hits = client.get("/v1/public/search", params={"q": QUERY, "limit": 50}).json()["hits"]
    assert hits and all(hit["region_name"] == region_name(hit["region"]) for hit in hits)
    named = [hit for hit in hits if hit["region_name"]]
    assert named and all(re.fullmatch(r"[0-9]{6}", hit["region"]) for hit in named)
    file = client.get(f"/v1/public/subjects/{named[0]['ref']}").json()["subject"]
    assert file["region_name"] == named[0]["region_name"]
    described = client.get("/openapi.json").json()["paths"]["/v1/public/search"]["get"]
    assert "region_name" in described["description"]
