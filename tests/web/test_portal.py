"""The portal over the demo city: pages, languages, the language form's CSRF check, search,
public files, defaulters, statistics, and the vendored scripts."""

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import City

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.records.models import LegalRepresentative, Subject

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _organisation_with_representative(city: City) -> Subject:
    with city.factory() as session:
        subject = session.scalars(
            select(Subject)
            .join(LegalRepresentative, LegalRepresentative.organisation_id == Subject.id)
            .where(Subject.kind == "organisation", LegalRepresentative.ended_on.is_(None))
            .order_by(Subject.id)
        ).first()
    assert subject is not None
    return subject


def test_pages_speak_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    for path in ("/", "/search", "/defaulters", "/stats", "/rules"):
        chinese = TestClient(client.app).get(path)
        assert chinese.status_code == 200, path
        assert '<html lang="zh-CN">' in chinese.text and "失信主体公示" in chinese.text
        english = client.get(f"{path}?lang=en")
        assert '<html lang="en">' in english.text and "Published defaulters" in english.text
        assert english.cookies.get("lang") == "en"
    # The cookie keeps the choice on the next page.
    assert '<html lang="en">' in client.get("/rules").text


def test_the_language_form_needs_the_browsers_csrf_token(client: TestClient) -> None:
    with client as browser:
        page = browser.get("/rules")
        token = CSRF_FIELD.search(page.text)
        assert token is not None and browser.cookies.get("csrftoken") == token.group(1)
        forged = browser.post("/lang", data={"lang": "en", "next": "/rules"})
        assert forged.status_code == 403
        wrong = browser.post("/lang", data={"lang": "en", "next": "/", "csrf_token": "x" * 43})
        assert wrong.status_code == 403
        switched = browser.post(
            "/lang",
            data={"lang": "en", "next": "/rules", "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert switched.status_code == 303
        assert switched.headers["location"] == "/rules"
        assert '<html lang="en">' in browser.get("/rules").text
        for elsewhere in ("//evil.example/", "/\\evil.example", "https://evil.example/"):
            away = browser.post(
                "/lang",
                data={"lang": "zh", "next": elsewhere, "csrf_token": token.group(1)},
                follow_redirects=False,
            )
            assert away.headers["location"] == "/"


def test_search_finds_an_organisation_by_name_pinyin_and_code(
    client: TestClient, city: City
) -> None:
    subject = _organisation_with_representative(city)
    by_code = client.get("/v1/public/search", params={"q": subject.identifier.lower()}).json()
    assert by_code["hits"][0]["ref"] == subject.identifier
    by_name = client.get("/v1/public/search", params={"q": subject.name}).json()
    assert subject.identifier in [hit["ref"] for hit in by_name["hits"]]
    page = client.get("/search", params={"q": subject.name})
    assert f'href="/subjects/{subject.identifier}"' in page.text


def test_search_refuses_bad_queries_with_a_reason(client: TestClient) -> None:
    empty = client.get("/v1/public/search", params={"q": ""})
    assert empty.status_code == 422 and "q" in empty.json()["detail"]
    assert client.get("/v1/public/search", params={"q": "x" * 101}).status_code == 422
    assert client.get("/v1/public/search", params={"q": "a", "limit": 0}).status_code == 422


def test_search_without_an_index_says_how_to_build_one(tmp_path: Path, city: City) -> None:
    settings = Settings(var_dir=tmp_path, database_url=city.url)
    with TestClient(create_app(settings)) as bare:
        answer = bare.get("/v1/public/search", params={"q": "北京"})
        assert answer.status_code == 503 and "xinyong evaluate" in answer.json()["detail"]
        assert bare.get("/search", params={"q": "北京"}).status_code == 200


def test_an_organisations_public_file_has_registration_representative_and_proofs(
    client: TestClient, city: City
) -> None:
    subject = _organisation_with_representative(city)
    found = client.get(f"/v1/public/subjects/{subject.identifier}").json()
    assert found["subject"]["name"] == subject.name
    assert found["registration"]["registered_on"]
    assert found["legal_representative"]["name"]
    records = [record for group in found["record_groups"] for record in group["records"]]
    assert records and all(record["proof"] for record in records)
    proof = client.get(records[0]["proof"])
    assert proof.status_code == 200
    page = client.get(f"/subjects/{subject.identifier}")
    assert found["legal_representative"]["name"] in page.text
    assert records[0]["proof"] in page.text


def test_a_person_who_is_not_a_published_defaulter_has_no_public_file(
    client: TestClient, city: City
) -> None:
    with city.factory() as session:
        people = list(
            session.scalars(select(Subject).where(Subject.kind == "person").order_by(Subject.id))
        )
    listed = {
        entry["subject"]["ref"]
        for entry in client.get("/v1/public/defaulters", params={"page": 1}).json()["entries"]
    }
    quiet = next(person for person in people if str(person.id) not in listed)
    for ref in (quiet.identifier, str(quiet.id)):
        assert client.get(f"/v1/public/subjects/{ref}").status_code == 404
        assert client.get(f"/subjects/{ref}").status_code == 404
    assert client.get("/v1/public/subjects/nonsense").status_code == 404


def test_published_defaulters_are_masked_and_paged(client: TestClient) -> None:
    listing = client.get("/v1/public/defaulters").json()
    assert listing["total"] > 0 and listing["entries"]
    for entry in listing["entries"]:
        assert entry["kind"] == "black"
        if entry["subject"]["kind"] == "person":
            assert re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", entry["subject"]["id"])
    assert client.get("/v1/public/defaulters", params={"list": "nope"}).status_code == 422
    assert client.get("/v1/public/defaulters", params={"page": 0}).status_code == 422
    court = client.get("/v1/public/defaulters", params={"list": "court.defaulters"}).json()
    assert all(entry["list"] == "court.defaulters" for entry in court["entries"])


def test_statistics_are_aggregates_per_section(client: TestClient) -> None:
    sections = {item["code"] for item in client.get("/v1/stats").json()["sections"]}
    assert {"listings", "entries", "checks"} <= sections
    listings = client.get("/v1/stats/listings").json()
    assert listings["months"] == sorted(listings["months"])
    assert sum(sum(series["listed"]) for series in listings["series"]) > 0
    entries = client.get("/v1/stats/entries").json()
    assert sum(item["entries"] for item in entries["by_list"]) == sum(
        item["entries"] for item in entries["by_region"]
    )
    checks = client.get("/v1/stats/checks").json()
    denied = [s for s in checks["series"] if s["effect"] == "deny"]
    assert {s["action"] for s in denied} == {"buy_air_ticket", "buy_high_speed_rail_ticket"}
    assert client.get("/v1/stats/nothing").status_code == 404
    page = client.get("/stats").text
    assert 'id="option-listings"' in page and "<table>" in page


def test_scripts_come_from_the_app_not_a_cdn(client: TestClient) -> None:
    for name in ("htmx.min.js", "echarts.min.js"):
        script = client.get(f"/static/vendor/{name}")
        assert script.status_code == 200 and len(script.content) > 10_000
    for path in ("/", "/stats", "/search"):
        sources = re.findall(r'<script src="([^"]+)"', client.get(path).text)
        assert sources and all(source.startswith("/static/") for source in sources)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200
