"""Ingest puts every record event on the ledger, and the store rebuilds each leaf exactly."""

from pathlib import Path

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ledger import SigningKey, checkpoint, verify
from xinyong.ledger.models import LedgerLeaf
from xinyong.policy import Pack
from xinyong.records.models import RecordEvent
from xinyong.testing import samples


def test_every_event_is_a_leaf_and_verify_holds_until_a_record_is_edited_behind_its_back(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    from datetime import date

    subject = samples.person(1)
    rows = [
        samples.defaulter_listing(subject, 1),
        samples.defaulter_listing(subject, 1, op="correct", amount=5.5),
        samples.defaulter_listing(subject, 2),
        {
            "op": "withdraw",
            "record_type": "court.defaulter_listing",
            "subject_id": subject,
            "authority": "court.110105",
            "document_no": "(2024)京0105执2号",
        },
        {
            "op": "withdraw",
            "record_type": "court.defaulter_listing",
            "subject_id": samples.person(5),
            "authority": "court.110105",
            "document_no": "(2024)京0105执1号",
        },
        {
            "op": "withdraw",
            "record_type": "court.defaulter_listing",
            "subject_id": subject,
            "authority": "court.110105",
            "document_no": "(2024)京0105执1号",
        },
        samples.registration(samples.organisation(2), samples.person(3), 9),
    ]
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    IngestJob(factory, national, today=date(2026, 11, 1), batch_size=2).run_file(
        path, digest=digest, report_dir=tmp_path
    )
    key = SigningKey.generate()
    with factory.begin() as session:
        checkpoint(session, key)
    with factory() as session:
        events = session.scalar(select(func.count()).select_from(RecordEvent))
        leaves = session.scalar(
            select(func.count())
            .select_from(LedgerLeaf)
            .where(LedgerLeaf.kind.startswith("record."))
        )
        assert events == leaves == 6
        report = verify(session, key.verifier)
        assert report.ok, report.divergences
    with factory.begin() as session:
        session.execute(text("UPDATE records SET amount = 1 WHERE version = 2"))
    with factory() as session:
        report = verify(session, key.verifier)
    assert not report.ok
    assert report.first is not None and report.first.leaf_index == 1
