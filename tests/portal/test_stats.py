"""Public statistics are computed at most once a window, whoever asks: the checks section
groups the whole check log, and an anonymous visitor must not be able to make the store do
that per request. Within the window every visitor gets the same figures; after it, or on a new
day, the figures are the store's again."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.portal.stats import PublishedStats
from xinyong.testing.samples import defaulter_listing, person


def _list(factory: sessionmaker[Session], pack: Pack, path: Path, number: int) -> None:
    listed_on = (china_today() - timedelta(days=10)).isoformat()
    row = defaulter_listing(person(number), number, decided_on=listed_on, effective_on=listed_on)
    path.write_bytes(orjson.dumps(row) + b"\n")
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=china_today(), batch_size=50)
    assert job.run_file(path, digest=digest, report_dir=path.parent / "reports").rejected == 0


def _defaulters(sections: dict[str, Any]) -> int:
    by_list = {row["list"]: row["entries"] for row in sections["entries"]["by_list"]}
    return int(by_list["court.defaulters"])


def test_statistics_are_kept_for_their_window_and_computed_again_after_it(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    today = china_today()
    _list(factory, national, tmp_path / "first.jsonl", 1)
    kept = PublishedStats(fresh_seconds=3600)
    first = kept.sections(factory, national, today)
    assert _defaulters(first) == 1

    _list(factory, national, tmp_path / "second.jsonl", 2)
    assert kept.sections(factory, national, today) is first, "within the window: kept"
    assert _defaulters(PublishedStats(fresh_seconds=0).sections(factory, national, today)) == 2
    assert _defaulters(kept.sections(factory, national, today + timedelta(days=1))) == 2, (
        "a new day is computed at once"
    )
