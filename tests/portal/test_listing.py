"""The list pages and the double publicity channel as the store answers them (SQLite and
PostgreSQL): one row per subject with all its public entries, newest listing first, a withdrawn
decision gone, true counts, honest pages and a page past the last refused."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.portal.listing import (
    PAGE_SIZE,
    Filters,
    PageOutOfRange,
    decision_page,
    listed_page,
    publicity_types,
)
from xinyong.search.publicity import black_lists
from xinyong.testing.samples import defaulter_listing, organisation, person, registration

LISTED = PAGE_SIZE + 3
"""Persons listed: one page and a bit."""


def _ingest(factory: sessionmaker[Session], pack: Pack, path: Path, rows: list[Any]) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=china_today(), batch_size=50)
    assert job.run_file(path, digest=digest, report_dir=path.parent / "reports").rejected == 0


def _licence(code: str, number: int, decided_on: date) -> dict[str, Any]:
    day = decided_on.isoformat()
    return {
        "record_type": "admin.licence",
        "subject_id": code,
        "subject_name": "北京示例科技有限公司",
        "authority": "market.110105",
        "document_no": f"京朝市监许〔2026〕{number}号",
        "decided_on": day,
        "effective_on": day,
        "fields": {"licence_no": f"L{number}"},
    }


@pytest.fixture
def listed(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> date:
    """``LISTED`` persons each listed on a different day (the first twice), one more whose
    listing was withdrawn, and an organisation with three licences, one withdrawn."""
    today = china_today()
    rows = [
        defaulter_listing(
            person(n),
            n,
            decided_on=(today - timedelta(days=n + 10)).isoformat(),
            effective_on=(today - timedelta(days=n + 10)).isoformat(),
        )
        for n in range(1, LISTED + 2)
    ]
    rows.append(
        defaulter_listing(
            person(1),
            900,
            decided_on=(today - timedelta(days=5)).isoformat(),
            effective_on=(today - timedelta(days=5)).isoformat(),
        )
    )
    firm = organisation(1)
    rows.append(registration(firm, person(1), 1))
    rows += [_licence(firm, n, today - timedelta(days=n)) for n in (1, 2, 3)]
    _ingest(factory, national, tmp_path / "rows.jsonl", rows)
    withdrawn = [
        {**rows[LISTED], "op": "withdraw"},
        {**_licence(firm, 2, today - timedelta(days=2)), "op": "withdraw"},
    ]
    _ingest(factory, national, tmp_path / "withdrawn.jsonl", withdrawn)
    return today


def test_a_list_page_has_one_row_per_subject_newest_first(
    factory: sessionmaker[Session], national: Pack, listed: date
) -> None:
    codes = black_lists(national)
    with factory() as session:
        first = listed_page(session, national, listed, codes, Filters(), 1)
        second = listed_page(session, national, listed, codes, Filters(), 2)
        with pytest.raises(PageOutOfRange):
            listed_page(session, national, listed, codes, Filters(), 3)
        narrowed = listed_page(session, national, listed, codes, Filters(name="执900"), 1)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (LISTED, 2, 50, 3)
    rows = first.rows + second.rows
    assert len({row["subject"]["ref"] for row in rows}) == LISTED  # the withdrawn one is gone
    assert [len(row["entries"]) for row in rows] == [2] + [1] * (LISTED - 1)
    starts = [max(entry["started_on"] for entry in row["entries"]) for row in rows]
    assert starts == sorted(starts, reverse=True)
    assert narrowed.total == 1 and narrowed.rows[0]["entries"][0]["document_no"].endswith("执900号")


def test_the_publicity_channel_counts_and_orders_what_is_public(
    factory: sessionmaker[Session], national: Pack, listed: date
) -> None:
    with factory() as session:
        shown = decision_page(session, national, listed, publicity_types(national), Filters(), 1)
        with pytest.raises(PageOutOfRange):
            decision_page(session, national, listed, publicity_types(national), Filters(), 2)
        empty = decision_page(
            session, national, listed, publicity_types(national), Filters(name="nothing"), 1
        )
    assert shown.total == len(shown.rows) == 2 and shown.pages == 1
    assert [row["document_no"] for row in shown.rows] == [
        "京朝市监许〔2026〕1号",
        "京朝市监许〔2026〕3号",
    ]
    assert (empty.total, empty.pages, empty.rows) == (0, 1, [])
