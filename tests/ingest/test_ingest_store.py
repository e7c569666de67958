"""Ingest into a real store, on SQLite and on PostgreSQL: storage, idempotency, corrections,
withdrawals, the quarantine, subject creation and confirmation, legal representatives."""

import csv
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.models import EntryRow
from xinyong.ingest.models import QuarantinedRow, Submission
from xinyong.ingest.readers import UnreadableFile
from xinyong.ingest.rows import RECORD_COLUMNS
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.policy import Pack
from xinyong.records.models import LegalRepresentative, Record, RecordEvent, RecordHead, Subject
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite, snapshot

TODAY = date(2026, 11, 1)


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def ingest(
    factory: sessionmaker[Session], pack: Pack, path: Path, tmp_path: Path, **kw: Any
) -> IngestSummary:
    job = IngestJob(factory, pack, today=TODAY, batch_size=kw.pop("batch_size", 3), **kw)
    digest, _ = scan_file(path)
    return job.run_file(path, digest=digest, report_dir=tmp_path / "reports")


def test_good_rows_are_stored_and_bad_rows_quarantined_with_row_field_reason(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    rows = [
        samples.defaulter_listing(samples.person(1), 1),
        samples.defaulter_listing(samples.with_wrong_check(samples.person(2)), 2),
        samples.defaulter_listing(samples.person(3), 3, decided_on="2099-01-01"),
        samples.defaulter_listing(samples.person(4), 4, effective_on="2024-02-01"),
        samples.defaulter_listing(samples.person(5), 5, severity="catastrophic"),
        samples.defaulter_listing(samples.person(6), 6, fields={"case_no": "x"}),
        samples.defaulter_listing(samples.person(7), 7, record_type="court.no_such_thing"),
        samples.defaulter_listing(samples.person(8), 8, authority="tax.110000"),
        samples.blood_donation(samples.person(9), 9),
    ]
    path = write_jsonl(tmp_path / "court.jsonl", rows)
    with path.open("ab") as handle:
        handle.write(b"{not json\n")
    summary = ingest(factory, national, path, tmp_path)

    assert (summary.accepted, summary.rejected, summary.rows) == (2, 8, 10)
    with factory() as session:
        quarantined = {row.row_no: row for row in session.scalars(select(QuarantinedRow))}
        stored = set(session.scalars(select(Record.document_no)))
    assert stored == {"(2024)京0105执1号", "京献血〔2025〕9号"}
    expected_fields = {
        2: "subject_id",
        3: "decided_on",
        4: "effective_on",
        5: "severity",
        6: "fields.ground",
        7: "record_type",
        8: "authority",
        10: None,
    }
    for row_no, field in expected_fields.items():
        assert quarantined[row_no].field == field, (row_no, quarantined[row_no].reason)
    assert "check character" in quarantined[2].reason
    assert "future" in quarantined[3].reason
    assert "may not submit" in quarantined[8].reason
    assert "JSON" in quarantined[10].reason
    assert quarantined[3].raw == orjson.dumps(rows[2]).decode()
    report = [
        orjson.loads(line)
        for line in Path(summary.rejection_report or "").read_bytes().splitlines()
    ]
    assert [entry["row"] for entry in report] == [2, 3, 4, 5, 6, 7, 8, 10]
    assert {"file", "row", "field", "reason", "received"} <= set(report[0])


def test_the_same_file_twice_changes_nothing(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    rows = [samples.defaulter_listing(samples.person(i), i) for i in range(1, 8)]
    rows.append(samples.defaulter_listing(samples.person(99), 99, severity="bad"))
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    first = ingest(factory, national, path, tmp_path)
    before = snapshot(factory)
    second = ingest(factory, national, path, tmp_path)
    assert (first.accepted, first.rejected) == (7, 1)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 7, 1)
    assert snapshot(factory) == before


def test_a_repeated_row_within_a_file_is_one_record_and_one_duplicate(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    row = samples.defaulter_listing(samples.person(1), 1)
    summary = ingest(factory, national, write_jsonl(tmp_path / "d.jsonl", [row, row]), tmp_path)
    assert (summary.accepted, summary.duplicates) == (1, 1)


def test_correct_makes_a_new_version_and_withdraw_ends_the_document(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    subject = samples.person(1)
    rows = [
        samples.defaulter_listing(subject, 1),
        samples.defaulter_listing(subject, 1, op="correct", amount=90000.0),
        samples.defaulter_listing(subject, 2),
        {
            "op": "withdraw",
            "record_type": "court.defaulter_listing",
            "subject_id": subject,
            "authority": "court.110105",
            "document_no": "(2024)京0105执2号",
        },
        samples.defaulter_listing(subject, 3, op="correct"),
        samples.defaulter_listing(subject, 1, amount=1.0),
        samples.defaulter_listing(subject, 2, op="correct", amount=1.0),
        samples.defaulter_listing(subject, 2, amount=1.0),
    ]
    summary = ingest(
        factory, national, write_jsonl(tmp_path / "c.jsonl", rows), tmp_path, batch_size=2
    )
    assert (summary.accepted, summary.corrected, summary.withdrawn, summary.rejected) == (
        2,
        1,
        1,
        4,
    )
    with factory() as session:
        versions = session.execute(
            select(Record.version, Record.amount)
            .where(Record.document_no == "(2024)京0105执1号")
            .order_by(Record.version)
        ).all()
        assert [(v, float(a)) for v, a in versions] == [(1, 120000.0), (2, 90000.0)]
        heads = dict(session.execute(select(RecordHead.document_key, RecordHead.status)).all())
        reasons = dict(session.execute(select(QuarantinedRow.row_no, QuarantinedRow.reason)).all())
        kinds = sorted(session.scalars(select(RecordEvent.kind)))
    assert sorted(heads.values()) == ["active", "withdrawn"]
    assert "no such document to correct" in reasons[5]
    assert "op=correct" in reasons[6]
    assert "a withdrawn document cannot be corrected" in reasons[7]
    assert "was withdrawn and cannot be submitted again" in reasons[8]
    assert kinds == ["corrected", "submitted", "submitted", "withdrawn"]


def test_registration_authorities_may_bring_suspect_codes_other_authorities_may_not(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    suspect = samples.with_wrong_check(samples.organisation(7))
    rows = [
        samples.registration(suspect, samples.person(1), 1),
        samples.defaulter_listing(suspect, 2),
    ]
    summary = ingest(factory, national, write_jsonl(tmp_path / "s.jsonl", rows), tmp_path)
    assert (summary.accepted, summary.rejected) == (1, 1)
    with factory() as session:
        subject = session.scalars(select(Subject).where(Subject.identifier == suspect)).one()
    assert subject.suspect_identifier and subject.confirmed


def test_unknown_organisations_are_unconfirmed_until_registered_and_representatives_change(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    company = samples.organisation(11)
    first, second = samples.person(21), samples.person(22)
    ingest(
        factory,
        national,
        write_jsonl(tmp_path / "1.jsonl", [samples.defaulter_listing(company, 1)]),
        tmp_path,
    )
    with factory() as session:
        assert (
            session.scalars(select(Subject.confirmed).where(Subject.identifier == company)).one()
            is False
        )
    change = {
        "record_type": "market.registration_change",
        "subject_id": company,
        "subject_name": "北京示例科技有限公司",
        "authority": "market.110105",
        "document_no": "京朝市监变〔2023〕5号",
        "decided_on": "2023-07-01",
        "effective_on": "2023-07-01",
        "fields": {"legal_representative_id": second, "legal_representative_name": "赵六"},
    }
    rows = [samples.registration(company, first, 1), change]
    ingest(factory, national, write_jsonl(tmp_path / "2.jsonl", rows), tmp_path)
    with factory() as session:
        org = session.scalars(select(Subject).where(Subject.identifier == company)).one()
        periods = session.execute(
            select(Subject.identifier, LegalRepresentative.started_on, LegalRepresentative.ended_on)
            .join(Subject, Subject.id == LegalRepresentative.person_id)
            .where(LegalRepresentative.organisation_id == org.id)
            .order_by(LegalRepresentative.started_on)
        ).all()
    assert org.confirmed and org.name == "北京示例科技有限公司"
    assert periods == [
        (first, date(2020, 5, 1), date(2023, 7, 1)),
        (second, date(2023, 7, 1), None),
    ]


def test_csv_parquet_and_json_array_store_what_jsonl_stores(
    national: Pack, tmp_path: Path, store_url: str
) -> None:
    from xinyong.store.db import make_engine, make_sessionmaker

    rows = [samples.defaulter_listing(samples.person(i), i) for i in range(1, 6)]
    rows.append(samples.registration(samples.organisation(3), samples.person(40), 7))
    rows.append(samples.blood_donation(samples.person(41), 8, severity="none"))
    columns = [name for name in RECORD_COLUMNS if name != "op"]
    flat = [
        {c: (orjson.dumps(r[c]).decode() if c == "fields" else r.get(c)) for c in columns}
        for r in rows
    ]
    csv_path = tmp_path / "x.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(flat)
    parquet_path = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist(flat), parquet_path)
    array_path = tmp_path / "x.json"
    array_path.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    snapshots = []
    for index, path in enumerate(
        [write_jsonl(tmp_path / "x.jsonl", rows), csv_path, parquet_path, array_path]
    ):
        url = migrated_sqlite(tmp_path / f"f{index}.db")
        factory = make_sessionmaker(make_engine(url))
        summary = ingest(factory, national, path, tmp_path)
        assert summary.accepted == len(rows), (path.suffix, summary)
        snapshots.append(snapshot(factory))
    assert all(snap == snapshots[0] for snap in snapshots[1:])


def test_an_unreadable_file_is_refused_whole(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(UnreadableFile, match="Parquet"):
        ingest(factory, national, bad, tmp_path)
    headerless = tmp_path / "bad.csv"
    headerless.write_text("a,b\n1,2\n")
    with pytest.raises(UnreadableFile, match="record_type"):
        ingest(factory, national, headerless, tmp_path)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 0


def test_a_row_refused_by_the_store_leaves_no_subject_behind(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    """A refusal is only a quarantine row: no subject is created for a row that was not stored."""
    first, stranger = samples.person(1), samples.person(2)
    rows = [
        samples.defaulter_listing(first, 1),
        samples.defaulter_listing(stranger, 1),  # the same document number: refused
        samples.defaulter_listing(samples.person(3), 5, op="correct"),  # nothing to correct
    ]
    summary = ingest(factory, national, write_jsonl(tmp_path / "n.jsonl", rows), tmp_path)
    assert (summary.accepted, summary.rejected) == (1, 2)
    with factory() as session:
        assert list(session.scalars(select(Subject.identifier))) == [first]


@pytest.mark.parametrize("batch_size", [1, 10])
def test_a_correction_cannot_move_a_listed_document_to_another_subject(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path, batch_size: int
) -> None:
    """It used to crash the subject refresh (two entries for one document) on every rerun."""
    listed, stranger = samples.person(1), samples.person(2)
    rows = [
        samples.defaulter_listing(listed, 1),
        samples.defaulter_listing(stranger, 1, op="correct", amount=5.0),
        samples.defaulter_listing(listed, 1, op="correct", amount=6.0),
    ]
    path = write_jsonl(tmp_path / "move.jsonl", rows)
    summary = ingest(factory, national, path, tmp_path, batch_size=batch_size)
    assert (summary.accepted, summary.corrected, summary.rejected, summary.accounted) == (
        1,
        1,
        1,
        True,
    )
    with factory() as session:
        field, reason = session.execute(select(QuarantinedRow.field, QuarantinedRow.reason)).one()
        holders = set(
            session.scalars(
                select(Subject.identifier).join(EntryRow, EntryRow.subject_id == Subject.id)
            )
        )
        head_subject = session.scalars(
            select(Subject.identifier).join(RecordHead, RecordHead.subject_id == Subject.id)
        ).one()
    assert field == "subject_id" and "withdraw it and submit anew" in reason
    assert holders == {listed} and head_subject == listed


def test_a_row_the_store_refuses_is_quarantined_alone_and_the_job_finishes(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    """Should validation ever let through what the store refuses, only that row is lost to it."""
    refused_no = "(2024)京0105执7号"
    with factory.begin() as session:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            session.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON records FOR EACH ROW "
                    f"WHEN (NEW.document_no = '{refused_no}') EXECUTE FUNCTION refuse()"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON records "
                    f"WHEN NEW.document_no = '{refused_no}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    rows = [samples.defaulter_listing(samples.person(i), i) for i in range(1, 11)]
    path = write_jsonl(tmp_path / "ten.jsonl", rows)
    summary = ingest(factory, national, path, tmp_path, batch_size=10)
    assert (summary.rows, summary.accepted, summary.rejected, summary.accounted) == (
        10,
        9,
        1,
        True,
    )
    with factory() as session:
        quarantined = session.execute(select(QuarantinedRow.row_no, QuarantinedRow.reason)).one()
        stored = set(session.scalars(select(Record.document_no)))
    assert quarantined[0] == 7 and quarantined[1].startswith("the store refused this row")
    assert len(stored) == 9 and refused_no not in stored


def test_a_broken_json_array_stores_nothing(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    rows = [orjson.dumps(samples.defaulter_listing(samples.person(i), i)) for i in (1, 2)]
    path = tmp_path / "broken.json"
    path.write_bytes(b"[" + rows[0] + b" " + rows[1] + b",,]")
    with pytest.raises(UnreadableFile, match="not valid JSON"):
        ingest(factory, national, path, tmp_path)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
