"""Minimum disclosure over the whole demo population: on every public page and API answer about
any subject, no record of a non-public type and no unmasked resident identity number, ever."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import City

from xinyong.policy import Pack
from xinyong.policy.catalogue import Disclosure
from xinyong.records.models import Subject

RESIDENT_ID = re.compile(r"(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])")


def _assert_discloses_nothing_private(text: str, person_ids: set[str], where: str) -> None:
    leaked = set(RESIDENT_ID.findall(text)) & person_ids
    assert not leaked, f"{where}: unmasked identity numbers {sorted(leaked)[:3]}"


def test_no_public_surface_shows_private_records_or_identity_numbers(
    client: TestClient, city: City, national: Pack, person_ids: list[str]
) -> None:
    private_types = {
        code for code, kind in national.record_types.items() if kind.disclosure != Disclosure.PUBLIC
    }
    ids = set(person_ids)
    with city.factory() as session:
        subjects = list(session.execute(select(Subject.id, Subject.identifier, Subject.kind)))
    files = 0
    for subject_id, identifier, kind in subjects:
        ref = str(subject_id) if kind == "person" else identifier
        answer = client.get(f"/v1/public/subjects/{ref}")
        if answer.status_code == 404:
            continue
        assert answer.status_code == 200
        files += 1
        found = answer.json()
        shown = {r["record_type"] for g in found["record_groups"] for r in g["records"]}
        assert not shown & private_types, identifier
        _assert_discloses_nothing_private(answer.text, ids, ref)
        page = client.get(f"/subjects/{ref}")
        _assert_discloses_nothing_private(page.text, ids, f"/subjects/{ref}")
        assert not any(
            national.record_types[code].name.zh in page.text for code in private_types
        ), ref
    assert files > 150  # every organisation and the published defaulters
    listing = client.get("/v1/public/defaulters")
    pages = listing.json()["pages"]
    for number in range(1, pages + 1):
        for path in ("/v1/public/defaulters", "/defaulters"):
            text = client.get(path, params={"page": number}).text
            _assert_discloses_nothing_private(text, ids, f"{path}?page={number}")
    for path in ("/", "/stats", "/rules", "/v1/stats/entries", "/v1/stats/checks"):
        _assert_discloses_nothing_private(client.get(path).text, ids, path)


def test_search_never_returns_an_unmasked_identity_number(
    client: TestClient, city: City, person_ids: list[str]
) -> None:
    ids = set(person_ids)
    with city.factory() as session:
        names = list(session.scalars(select(Subject.name).where(Subject.kind == "person")))
    for query in [*names[:300], *person_ids[:300]]:
        answer = client.get("/v1/public/search", params={"q": query})
        assert answer.status_code == 200
        _assert_discloses_nothing_private(answer.text, ids, query)
        for hit in answer.json()["hits"]:
            assert hit["kind"] == "organisation" or "*" in hit["id"]


def test_the_index_files_hold_no_full_identity_number(city: City, person_ids: list[str]) -> None:
    root = city.settings.var_dir / "search"
    build = root / (root / "CURRENT").read_text().strip()
    contents = b"".join(path.read_bytes() for path in build.iterdir())
    assert not [code for code in person_ids if code.encode() in contents]
