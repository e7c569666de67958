"""Building the index from a store (SQLite and PostgreSQL): every organisation, and a person
only while a published defaulter; a withdrawn listing takes the person out on the next build."""

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.search.publish import IndexShelf, refresh_search_index, searchable_subjects
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.samples import defaulter_listing, organisation, person, registration
from xinyong.testing.store import migrated_sqlite

DAY = date(2026, 11, 1)


def _ingest(factory: sessionmaker[Session], pack: Pack, path: Path, *rows: dict[str, Any]) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=DAY, batch_size=50)
    assert job.run_file(path, digest=digest, report_dir=path.parent / "reports").rejected == 0


def test_index_holds_organisations_and_published_defaulters_only(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    recent = {"decided_on": "2026-03-01", "effective_on": "2026-03-05"}
    listed = defaulter_listing(person(1), 1, subject_name="张三", **recent)
    revoked = defaulter_listing(person(2), 2, subject_name="李四", **recent)
    company = registration(organisation(1), person(3), 1)
    _ingest(factory, national, tmp_path / "first.jsonl", listed, revoked, company)

    with factory() as session:
        found = searchable_subjects(session, national, DAY)
    assert sorted(zip(found.kinds, found.names, strict=True)) == [
        ("organisation", "北京示例科技有限公司"),
        ("person", "张三"),
        ("person", "李四"),
    ]
    assert person(1) not in found.shown_ids and person(3) not in found.identifiers

    root = tmp_path / "search"
    published = refresh_search_index(factory, national, root, DAY)
    assert (published.subjects, published.persons) == (3, 2)
    shelf = IndexShelf(root)
    index = shelf.current()
    assert index is not None and [hit.name for hit in index.search("lisi")] == ["李四"]

    _ingest(factory, national, tmp_path / "second.jsonl", {**revoked, "op": "withdraw"})
    refresh_search_index(factory, national, root, DAY)
    index = shelf.current()
    assert index is not None
    assert index.search("lisi") == [] and index.search(person(2)) == []
    assert [hit.name for hit in index.search(person(1))] == ["张三"]


def test_evaluate_publishes_the_index(
    tmp_path: Path, national: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = migrated_sqlite(tmp_path / "store.db")
    factory = make_sessionmaker(make_engine(url))
    listed = defaulter_listing(person(1), 1, decided_on="2026-03-01", effective_on="2026-03-05")
    _ingest(factory, national, tmp_path / "rows.jsonl", listed)
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        # The index is published after whichever engine evaluated; the reference engine is the
        # cheapest to start for one record (DuckDB's plans are compiled per evaluation).
        evaluated = CliRunner().invoke(
            app, ["evaluate", "--engine", "reference", "--as-of", "2026-11-01", "--json"]
        )
    finally:
        get_settings.cache_clear()
    assert evaluated.exit_code == 0, evaluated.output
    assert orjson.loads(evaluated.stdout)["search_index_subjects"] == 1
    index = IndexShelf(tmp_path / "var" / "search").current()
    assert index is not None and [hit.kind for hit in index.search(person(1))] == ["person"]
