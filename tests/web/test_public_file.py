"""Public files and the defaulters listing on SQLite and PostgreSQL."""

from datetime import date
from pathlib import Path

import orjson
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.portal.public_file import defaulters, public_file
from xinyong.testing.samples import (
    blood_donation,
    defaulter_listing,
    organisation,
    person,
    registration,
)

DAY = date(2026, 11, 1)
RECENT = {"decided_on": "2026-03-01", "effective_on": "2026-03-05"}


def test_public_files_show_only_public_records_and_mask_persons(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    rows = [
        registration(organisation(1), person(3), 1),
        defaulter_listing(organisation(1), 1, subject_name="北京示例科技有限公司", **RECENT),
        defaulter_listing(person(1), 2, subject_name="张三", **RECENT),
        blood_donation(person(1), 3),
        blood_donation(person(4), 4),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, national, today=DAY, batch_size=50)
    assert job.run_file(path, digest=digest, report_dir=tmp_path / "reports").rejected == 0

    with factory() as session:
        company = public_file(session, national, organisation(1).lower(), DAY)
        defaulter = public_file(session, national, person(1), DAY)
        donor = public_file(session, national, person(4), DAY)
        listing = defaulters(session, national, DAY, page=1)
    assert company is not None and defaulter is not None and donor is None

    assert company["registration"]["name"] == "北京示例科技有限公司"
    assert company["legal_representative"] is not None
    assert "legal_representative_id" not in orjson.dumps(company).decode()
    assert {entry["list"] for entry in company["entries"]} == {"court.defaulters"}

    assert defaulter["subject"]["id"] == person(1)[:6] + "********" + person(1)[14:]
    assert defaulter["subject"]["ref"] != person(1)
    shown = [r["record_type"] for g in defaulter["record_groups"] for r in g["records"]]
    assert shown == ["court.defaulter_listing"]  # the blood donation is not public
    assert person(1) not in orjson.dumps(defaulter).decode()

    assert listing["total"] == 2
    names = sorted(entry["subject"]["name"] for entry in listing["entries"])
    assert names == ["北京示例科技有限公司", "张三"]
