"""Statistics queries on SQLite and PostgreSQL: months, lists, checks and case decision times."""

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.service import check_in_store
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.portal.stats import SECTIONS
from xinyong.records.models import RecordHead
from xinyong.rights.models import RightsCase
from xinyong.testing.samples import defaulter_listing, person

DAY = china_today()
"""Checks are logged now, so the statistics are asked for today."""


def _ingest(factory: sessionmaker[Session], pack: Pack, folder: Path) -> None:
    rows = [
        defaulter_listing(person(1), 1, decided_on="2026-03-02", effective_on="2026-03-05"),
        defaulter_listing(person(2), 2, decided_on="2026-03-20", effective_on="2026-03-25"),
        defaulter_listing(person(3), 3, decided_on="2026-06-01", effective_on="2026-06-03"),
    ]
    path = folder / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=DAY, batch_size=50)
    assert job.run_file(path, digest=digest, report_dir=folder / "reports").rejected == 0


def test_sections_count_by_month_list_action_and_case(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    _ingest(factory, national, tmp_path)
    log = CheckLog(factory)
    with factory() as session:
        index = MeasuresIndex(national)
        decisions = [
            check_in_store(session, index, person(n), action, DAY)
            for n in (1, 2, 4)
            for action in ("buy_air_ticket", "buy_high_speed_rail_ticket")
        ]
    log.add_all(decisions, Asker("test", "airline"), "ticket sale")
    log.flush()
    with factory.begin() as session:
        heads = list(session.scalars(select(RecordHead).order_by(RecordHead.subject_id)))
        for head, days in zip(heads, (10, 4), strict=False):
            session.add(_decided_case(head, days))
    with factory() as session:
        connection = session.connection()
        assert all(section.available(connection) for section in SECTIONS.values())
        stats = {code: s.query(session, national, DAY) for code, s in SECTIONS.items()}

    listings = stats["listings"]
    assert listings["months"][0] == "2026-03" and listings["months"][-1] == f"{DAY:%Y-%m}"
    black = next(series for series in listings["series"] if series["kind"] == "black")
    march = listings["months"].index("2026-03")
    june = listings["months"].index("2026-06")
    assert black["listed"][march] == 2 and black["listed"][june] == 1
    assert sum(black["delisted"]) == 0

    by_list = {item["list"]: item["entries"] for item in stats["entries"]["by_list"]}
    assert by_list["court.defaulters"] == 3
    assert stats["entries"]["by_region"] == [{"region": "110105", "entries": 3}]

    checks = {(s["action"], s["effect"]): s for s in stats["checks"]["series"]}
    assert stats["checks"]["months"] == [f"{DAY:%Y-%m}"]
    assert checks["buy_air_ticket", "deny"]["total"] == 2
    assert checks["buy_air_ticket", "allow"]["total"] == 1

    (objections,) = stats["cases"]["kinds"]
    assert objections["kind"] == "objection" and objections["received"] == 2
    assert objections["median_days_to_decision"] == 7


def _decided_case(head: RecordHead, days: int) -> RightsCase:
    received = date(2026, 10, 1)
    return RightsCase(
        kind="objection",
        subject_id=head.subject_id,
        account_id=1,
        document_key=head.document_key,
        record_id=head.record_id,
        authority="court.110105",
        grounds="the debt was paid",
        status="rejected",
        received_at=datetime(2026, 10, 1, 2, tzinfo=UTC),
        received_on=received,
        due_on=date(2026, 10, 20),
        limit_on=date(2026, 10, 30),
        decided_at=datetime(2026, 10, 1 + days, 3, tzinfo=UTC),
        reasons="checked",
    )
