"""A small city on each store: persons whose city points spread over several bands, one judgment
defaulter, and an organisation; evaluated and published as the current evaluation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import get_settings
from xinyong.enforcement.refresh import rebuild_all
from xinyong.policy import Pack, load_shipped
from xinyong.policy.loader import shipped_pack_path
from xinyong.scoring.evaluation import evaluate_reference
from xinyong.testing import samples
from xinyong.testing.ingest import ingest as ingest_file

DAY = date(2026, 11, 1)
PERSONS = 24
DEFAULTER = samples.person(0)
COMPANY = samples.organisation(1)


def volunteer(subject: str, number: int) -> dict[str, Any]:
    return samples.volunteer_service(subject, number, f"2026-{1 + number % 9:02d}-01")


def city_rows() -> list[dict[str, Any]]:
    """Person i has i % 6 volunteer services (+10 each, 50 at most) and (i // 6) % 4 blood
    donations (+10 each): city points from 1000 to 1080 in steps of 10."""
    rows: list[dict[str, Any]] = []
    numbers = iter(range(1, 10_000))
    for index in range(PERSONS):
        person = samples.person(index)
        rows.extend(volunteer(person, next(numbers)) for _ in range(index % 6))
        rows.extend(samples.blood_donation(person, next(numbers)) for _ in range((index // 6) % 4))
    rows.append(
        samples.defaulter_listing(DEFAULTER, 1, decided_on="2026-03-01", effective_on="2026-03-05")
    )
    rows.append(
        samples.registration(
            COMPANY, samples.person(1), 1, decided_on="2026-05-01", effective_on="2026-05-01"
        )
    )
    return rows


def ingest(factory: sessionmaker[Session], rows: Sequence[dict[str, Any]], folder: Path) -> None:
    assert ingest_file(factory, load_shipped(), folder, rows).rejected == 0


def publish(factory: sessionmaker[Session], packs: Sequence[Pack]) -> int:
    """Entries, index and scores as ``xinyong evaluate --engine reference`` publishes them."""
    rebuild_all(factory, load_shipped())
    return evaluate_reference(factory, packs, DAY)


@pytest.fixture
def packs() -> list[Pack]:
    return [load_shipped("national"), load_shipped("city-pilot")]


@pytest.fixture
def city(
    factory: sessionmaker[Session], packs: list[Pack], tmp_path: Path
) -> sessionmaker[Session]:
    ingest(factory, city_rows(), tmp_path)
    publish(factory, packs)
    return factory


def write_pack(folder: Path, extends: str, files: dict[str, dict[str, Any]]) -> Path:
    """A proposed pack in ``folder``: a manifest extending ``extends`` and the given files."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "proposal",
        "version": "2026.1.0",
        "title": {"zh": "试行方案", "en": "Proposal"},
        "description": "A proposed change, for a what-if report.",
        "extends": extends,
    }
    (folder / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    for name, document in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return folder


def shipped_document(pack: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((shipped_pack_path(pack) / name).read_text())
    return data


def points_with_edge(edge: int) -> dict[str, dict[str, Any]]:
    """city.points with the AA/A edge moved: AA from ``edge``, A up to ``edge - 1``."""
    document = shipped_document("city-pilot", "schemes/points.yaml")
    (scheme,) = (item for item in document["schemes"] if item["code"] == "city.points")
    for band in scheme["bands"]:
        if band["grade"] == "AA":
            band["min"] = edge
        if band["grade"] == "A":
            band["max"] = edge - 1
    return {"schemes/points.yaml": {"schemes": [scheme]}}


@pytest.fixture
def cli_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("XINYONG_DATABASE_URL", store_url)
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()
