"""Validation in worker processes stores exactly what validation in the job's own process does,
in files of every kind of row, replayed and corrected; a worker that dies stops the job with a
clear error, and the batches committed before it stay for a rerun to complete exactly once.

Workers also seal each new version's content members for the ledger: the leaf the store
finishes from a seal is the leaf of the whole event, and a seal made for what the store does not
hold is never used."""

import csv
import multiprocessing
import os
import re
import signal
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.models import LegacyLink, QuarantinedRow, Submission
from xinyong.ingest.pool import BatchCheck, ValidationFailed, ValidationPool, seal_versions
from xinyong.ingest.readers import parsed_row, read_rows
from xinyong.ingest.rows import ValidRow
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.ingest.writer import BatchWriter, Source, record_content
from xinyong.ledger.checkpoint import SigningKey
from xinyong.ledger.commitment import leaf_of, leaf_of_sealed, sealed_salt
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.verification import verify
from xinyong.policy import Pack
from xinyong.records.history import event_member, event_members
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite, snapshot

TODAY = date(2026, 11, 1)
PENALTY = "double_publicity.penalty"
ORG_COLUMN = "行政相对人代码_3(组织机构代码)"
USCC_COLUMN = "行政相对人代码_1(统一社会信用代码)"
LAYOUT_COLUMNS = (
    "行政相对人名称",
    USCC_COLUMN,
    ORG_COLUMN,
    "行政处罚决定书文号",
    "违法事实",
    "处罚类别",
    "处罚决定日期",
    "公示截止期",
    "处罚机关",
)
KNOWN = samples.organisation(5)


def kinds_of_row(number: int, kind: str) -> bytes:
    """One line of a JSON Lines file, of a kind that takes a path of its own through ingest."""
    subject = samples.person(number % 40 + 1)
    if kind == "broken":
        return b'{"record_type": '
    if kind == "array":
        return b"[1, 2]"
    if kind == "bad_identifier":
        row = samples.defaulter_listing(samples.with_wrong_check(subject), number)
    elif kind == "unknown_type":
        row = samples.defaulter_listing(subject, number, record_type="court.unknown")
    elif kind == "correct":
        row = samples.defaulter_listing(subject, number % 7, op="correct", amount=float(number))
    elif kind == "withdraw":
        row = samples.defaulter_listing(subject, number % 7, op="withdraw")
    elif kind == "again":
        row = samples.defaulter_listing(subject, number % 7)
    else:
        row = samples.defaulter_listing(subject, number)
    return orjson.dumps(row)


KINDS = ("submit", "again", "correct", "withdraw", "bad_identifier", "unknown_type", "broken")
files = st.lists(st.sampled_from((*KINDS, "array")), min_size=1, max_size=60)


line_texts = st.one_of(
    st.sampled_from(['{"a": 1}', "[1]", '{"a": ', "  ", '"text"', '{"deep": ' + "[" * 600]),
    st.dictionaries(st.text(max_size=5), st.text(max_size=3000), max_size=3).map(
        lambda row: orjson.dumps(row).decode()
    ),
    st.text(max_size=50).filter(lambda text: "\n" not in text and "\r" not in text),
)


@given(lines=st.lists(line_texts, max_size=12))
def test_rows_handed_over_as_text_parse_to_the_rows_read(
    tmp_path_factory: Any, lines: list[str]
) -> None:
    path = tmp_path_factory.mktemp("lines") / "rows.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    if path.read_text(encoding="utf-8").lstrip().startswith("["):
        return  # a JSON array, read whole
    read = list(read_rows(path))
    handed = list(read_rows(path, parsed=False))
    assert [(row_no, raw, parsed_row(item)) for row_no, raw, item in handed] == read
    assert all(isinstance(item, tuple) for _, _, item in handed)


def ingest(
    url: str, pack: Pack, path: Path, workers: int, **job: Any
) -> tuple[IngestSummary, dict[str, Any]]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    digest, _ = scan_file(path)
    summary = IngestJob(factory, pack, today=TODAY, workers=workers, **job).run_file(
        path, digest=digest, report_dir=path.parent
    )
    state = stored(factory)
    engine.dispose()
    return summary, state


def stored(factory: sessionmaker[Session]) -> dict[str, Any]:
    """What a store holds, less what depends on the ledger's random salts; and whether the
    ledger verifies."""
    with factory() as session:
        report = verify(session, SigningKey.generate().verifier)
        assert report.ok, report.divergences
        return {
            **snapshot(factory),
            "record_rows": sorted(
                session.execute(
                    select(Record.id, Record.document_key, Record.version, Record.row_no)
                ).all()
            ),
            "event_rows": sorted(
                session.execute(
                    select(RecordEvent.id, RecordEvent.record_id, RecordEvent.kind)
                ).all()
            ),
            "quarantine_raw": sorted(
                session.execute(
                    select(QuarantinedRow.row_no, QuarantinedRow.authority, QuarantinedRow.raw)
                ).all()
            ),
            "links": sorted(
                session.execute(
                    select(LegacyLink.record_id, LegacyLink.code, LegacyLink.column_name)
                ).all()
            ),
            "leaves": session.scalar(select(func.count()).select_from(LedgerLeaf)),
            "tree": report.tree_size,
        }


def counts(summary: IngestSummary) -> dict[str, Any]:
    data = summary.to_dict()
    for varying in ("submission_id", "source", "seconds", "rejection_report"):
        del data[varying]
    return data


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=files, batch_size=st.integers(1, 9), first=st.integers(1, 9), workers=st.integers(1, 2)
)
def test_workers_store_what_the_jobs_own_process_stores(
    tmp_path_factory: pytest.TempPathFactory,
    national: Pack,
    kinds: list[str],
    batch_size: int,
    first: int,
    workers: int,
) -> None:
    folder = tmp_path_factory.mktemp("workers")
    path = folder / "court.jsonl"
    # The first row is a record: a file that starts with "[" is read as one JSON array.
    path.write_bytes(
        b"".join(
            kinds_of_row(number, kind) + b"\n" for number, kind in enumerate(["submit", *kinds], 1)
        )
    )
    here = ingest(migrated_sqlite(folder / "here.db"), national, path, 0, batch_size=batch_size)
    pooled = ingest(
        migrated_sqlite(folder / "pool.db"),
        national,
        path,
        workers,
        batch_size=batch_size,
        first_batch_size=first,
    )
    assert here[1] == pooled[1]
    assert counts(here[0]) == counts(pooled[0])
    assert here[0].accounted and here[0].rows == len(kinds) + 1


@pytest.mark.parametrize(("workers", "sizes"), [(1, [1, 2, 4, 8, 8, 8, 8, 1]), (0, [8] * 5)])
def test_with_workers_the_first_batches_grow_to_the_batch_size(
    tmp_path: Path, national: Pack, workers: int, sizes: list[int]
) -> None:
    """The job's process writes nothing until a worker has checked a batch: with workers the
    first batch is small and each next one twice the last, up to the batch size; in the job's
    own process every batch has the batch size."""
    path = tmp_path / "court.jsonl"
    path.write_bytes(b"".join(kinds_of_row(number, "submit") + b"\n" for number in range(1, 41)))
    committed: list[int] = []
    factory = make_sessionmaker(make_engine(migrated_sqlite(tmp_path / "store.db")))
    job = IngestJob(
        factory, national, today=TODAY, workers=workers, batch_size=8, first_batch_size=1
    )
    summary = job.run_file(
        path, digest=scan_file(path)[0], report_dir=tmp_path, progress=committed.append
    )
    assert committed == sizes
    assert summary.accepted == 40


def layout_file(path: Path, rows: int) -> Path:
    """Penalties in the double-publicity layout: most name their subject by its USCC, some by
    an organisation code (linked through the store), some by a code no subject has; every
    seventh row is the one before it again."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(LAYOUT_COLUMNS)
        line: list[str] = []
        for number in range(1, rows + 1):
            if number % 7 == 0:
                out.writerow(line)
                continue
            code = {USCC_COLUMN: samples.organisation(number % 30 + 10)}
            if number % 5 == 0:
                code = {ORG_COLUMN: KNOWN[8:17]}
            elif number % 11 == 0:
                code = {ORG_COLUMN: "MA0000093"}
            row = {
                "行政相对人名称": "北京示例科技有限公司",
                "行政处罚决定书文号": f"京朝市监罚〔2025〕{number}号",
                "违法事实": "销售不合格产品",
                "处罚类别": "警告" if number % 13 else "没收",
                "处罚决定日期": "2025-03-10" if number % 17 else "2025-13-10",
                "公示截止期": "2025-06-10",
                "处罚机关": "北京市朝阳区市场监督管理局",
                **code,
            }
            line = [row.get(column, "") for column in LAYOUT_COLUMNS]
            out.writerow(line)
    return path


def test_layout_rows_and_legacy_codes_come_out_the_same_from_workers(
    tmp_path: Path, national: Pack
) -> None:
    registration = tmp_path / "registration.jsonl"
    registration.write_bytes(
        orjson.dumps(samples.registration(KNOWN, samples.person(1), 1)) + b"\n"
    )
    path = layout_file(tmp_path / "penalties.csv", 300)
    results = []
    for workers in (0, 2):
        url = migrated_sqlite(tmp_path / f"w{workers}.db")
        ingest(url, national, registration, workers)
        results.append(ingest(url, national, path, workers, batch_size=40, profile=PENALTY))
    (here, here_state), (pooled, pooled_state) = results
    assert here_state == pooled_state
    assert counts(here) == counts(pooled)
    assert here.accounted and here.rows == 300
    assert 0 < here.rejected < here.accepted and here.duplicates > 0
    assert here_state["links"]


def children() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def test_a_worker_that_dies_stops_the_job_and_a_rerun_completes_it(
    tmp_path: Path, national: Pack
) -> None:
    path = tmp_path / "court.jsonl"
    path.write_bytes(
        b"".join(
            kinds_of_row(number, KINDS[number % len(KINDS)]) + b"\n" for number in range(1, 401)
        )
    )
    calm_url = migrated_sqlite(tmp_path / "calm.db")
    _, calm = ingest(calm_url, national, path, 0, batch_size=10)

    url = migrated_sqlite(tmp_path / "killed.db")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    digest, _ = scan_file(path)
    killed: list[int] = []
    others = children()  # this process's other children (a test run's own) are left alone

    def kill_the_workers(rows: int) -> None:
        # After the first batch is stored, while the workers check the next ones.
        if not killed:
            killed.extend(children() - others)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    job = IngestJob(factory, national, today=TODAY, batch_size=10, workers=2)
    with pytest.raises(ValidationFailed, match=r"worker process ended abruptly.*resumes") as error:
        job.run_file(path, digest=digest, report_dir=tmp_path, progress=kill_the_workers)
    named = re.search(r"checking rows ([0-9,]+) to", str(error.value))
    assert named is not None
    assert len(killed) == 2
    assert children() == others  # the broken pool's processes are gone
    with factory() as session:
        interrupted = session.scalars(select(Submission)).one()
    assert interrupted.status == "running" and 0 < interrupted.rows_done < 400
    # Every batch before the one the error names is stored, and none after it.
    assert interrupted.rows_done == int(named[1].replace(",", "")) - 1

    rerun = IngestJob(factory, national, today=TODAY, batch_size=10, workers=2).run_file(
        path, digest=digest, report_dir=tmp_path
    )
    assert rerun.resumed_after == interrupted.rows_done and rerun.rows == 400
    assert rerun.accounted
    assert stored(factory) == calm
    engine.dispose()


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def test_a_file_replayed_and_corrected_through_workers_stores_what_the_jobs_process_stores(
    tmp_path: Path, national: Pack
) -> None:
    """A second file that repeats the first (duplicates), corrects some of its documents (new
    versions of records the store holds), renames a subject and withdraws one document: through
    workers, the same records, events and quarantine as validated here, and ledgers that
    verify."""
    first = [samples.defaulter_listing(samples.person(n % 9 + 1), n) for n in range(1, 41)]
    second = [
        *first[:20],
        *(
            samples.defaulter_listing(
                samples.person(n % 9 + 1), n, op="correct", amount=float(n) + 0.5
            )
            for n in range(21, 31)
        ),
        samples.defaulter_listing(samples.person(5), 31, op="correct", subject_name="李四"),
        samples.defaulter_listing(samples.person(6), 32, op="withdraw"),
        samples.defaulter_listing(samples.person(7), 33, op="correct", amount="12.50"),
    ]
    files = (jsonl(tmp_path / "first.jsonl", first), jsonl(tmp_path / "second.jsonl", second))
    results = []
    for workers in (0, 1):
        url = migrated_sqlite(tmp_path / f"w{workers}.db")
        ingest(url, national, files[0], workers, batch_size=7)
        results.append(ingest(url, national, files[1], workers, batch_size=7))
    (here, here_state), (pooled, pooled_state) = results
    assert here_state == pooled_state
    assert counts(here) == counts(pooled)
    assert (here.duplicates, here.corrected, here.withdrawn) == (20, 12, 1)


def checked_rows(rows: list[dict[str, Any]], path: Path, national: Pack) -> list[ValidRow]:
    """The rows as a worker hands them back: validated and sealed in a worker process."""
    batch = list(read_rows(jsonl(path, rows), parsed=False))
    with ValidationPool(1, national, TODAY, None, None) as pool:
        ((_, verdicts),) = list(pool.checked([batch]))
    assert all(isinstance(verdict, ValidRow) for verdict in verdicts)
    return verdicts  # type: ignore[return-value]


def test_a_workers_seal_finishes_into_the_leaf_of_the_whole_record_event(
    tmp_path: Path, national: Pack
) -> None:
    """What a worker hashes of a new version is what the ledger commits to for it, whatever
    event stores it; a withdrawal, which concerns a stored version, is sealed by nobody."""
    rows = [
        samples.defaulter_listing(samples.person(1), 1),
        samples.defaulter_listing(samples.person(2), 2, amount="0", subject_name="王五"),
        samples.defaulter_listing(samples.person(3), 3, op="correct", amount=1.5),
        samples.registration(KNOWN, samples.person(1), 4),
        samples.defaulter_listing(samples.person(1), 1, op="withdraw"),
    ]
    verdicts = checked_rows(rows, tmp_path / "rows.jsonl", national)
    *versions, withdrawal = verdicts
    assert withdrawal.sealed is None
    salts = set()
    for number, row in enumerate(versions, 1):
        assert row.sealed is not None
        salts.add(sealed_salt(row.sealed))
        record = {
            **record_content(row),
            "id": 10 + number,
            "version": number,
            "subject_id": 1,
            "content_hash": row.content_hash,
            "submission_id": 3,
            "row_no": row.row_no,
            "received_at": datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        }
        event = {
            "id": 20 + number,
            "kind": "submitted",
            "occurred_at": record["received_at"],
            "submission_id": 3,
            "row_no": row.row_no,
        }
        whole = event_members(event, record, row.subject.kind)
        finished = leaf_of_sealed(
            row.sealed, "record.submitted", str(event["id"]), {"event": event_member(event, record)}
        )
        assert finished == leaf_of(
            sealed_salt(row.sealed), "record.submitted", str(event["id"]), whole
        )
    assert len(salts) == len(versions)  # a salt of its own for every event
    in_process = BatchCheck(national, TODAY, None, None).verdicts(
        list(read_rows(tmp_path / "rows.jsonl"))
    )
    assert [verdict.sealed for verdict in in_process] == [None] * len(rows)  # type: ignore[union-attr]


def test_the_writer_logs_a_seal_it_can_use_and_hashes_the_whole_event_elsewhere(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    """A version sealed for the subject the store holds is logged under the seal's salt; one
    sealed for a subject the store holds as another kind (the masked identifier differs) and a
    withdrawal are hashed whole, under fresh salts. The ledger verifies either way."""
    stale = samples.person(2)  # held as an organisation: not masked as a person's number is
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with factory.begin() as session:
        session.add(
            Subject(
                identifier=stale,
                kind="organisation",
                name="王五",
                confirmed=True,
                suspect_identifier=False,
                created_at=now,
            )
        )
        submission = Submission(
            channel="file",
            source="sealed.jsonl",
            source_digest="d" * 64,
            status="running",
            started_at=now,
            rows_done=0,
            accepted=0,
            duplicates=0,
            corrected=0,
            withdrawn=0,
            rejected=0,
        )
        session.add(submission)
        session.flush()
        source = Source(submission.id, "sealed.jsonl", "d" * 64)
    rows = [
        samples.defaulter_listing(samples.person(1), 1),
        samples.defaulter_listing(stale, 2),
        samples.defaulter_listing(samples.person(1), 1, op="withdraw"),
    ]
    verdicts = BatchCheck(national, TODAY, None, None).verdicts(
        list(read_rows(jsonl(tmp_path / "sealed.jsonl", rows)))
    )
    seal_versions(verdicts)
    valid = [verdict for verdict in verdicts if isinstance(verdict, ValidRow)]
    assert len(valid) == 3 and valid[0].sealed is not None and valid[1].sealed is not None
    with factory.begin() as session:
        result = BatchWriter(session, source).apply(valid, [], now)
    assert [event["kind"] for event, _ in result.events] == ["submitted", "submitted", "withdrawn"]
    with factory() as session:
        logged = [
            session.get_one(LedgerLeaf, event["ledger_leaf"]).salt for event, _ in result.events
        ]
        report = verify(session, SigningKey.generate().verifier)
    assert report.ok, report.divergences
    assert logged[0] == sealed_salt(valid[0].sealed)
    assert logged[1] != sealed_salt(valid[1].sealed)
    assert len(set(logged)) == 3
