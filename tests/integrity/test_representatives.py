"""The replay of legal representatives and registered names agrees with what ingest's writer
stores, for any sequence of registrations, changes and corrections, in any split into files and
batches."""

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.integrity import verify_derived
from xinyong.integrity.subjects import Appointment, Period, representation_periods
from xinyong.policy import Pack
from xinyong.testing import samples

PEOPLE = [samples.person(200 + number) for number in range(4)]
DAY = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 10, 31))
NAMES = st.sampled_from(["北京甲科技有限公司", "北京乙贸易有限公司", "丙", "丁丁"])
_organisations = itertools.count(100)
_files = itertools.count()


def appointment(record_id: int, batch: int, on: date, row_no: int, person: str) -> Appointment:
    stamp = datetime(2026, 1, 1, tzinfo=UTC).replace(microsecond=batch)
    return Appointment(record_id, 1, (1, stamp), on, row_no, person, "")


def test_naming_the_representative_in_office_changes_nothing() -> None:
    ids = {"a": 10, "b": 11}
    periods = representation_periods(
        [
            appointment(1, 0, date(2020, 1, 1), 1, "a"),
            appointment(2, 1, date(2021, 1, 1), 1, "a"),
            appointment(3, 2, date(2022, 1, 1), 1, "b"),
        ],
        ids,
    )
    assert periods[1] == [
        Period(10, date(2020, 1, 1), date(2022, 1, 1), 1),
        Period(11, date(2022, 1, 1), None, 3),
    ]


def test_a_batch_applies_by_effective_day_whatever_its_row_order() -> None:
    ids = {"a": 10, "b": 11, "c": 12}
    periods = representation_periods(
        [
            appointment(1, 0, date(2020, 1, 1), 1, "a"),
            appointment(2, 1, date(2023, 1, 1), 1, "c"),
            appointment(3, 1, date(2022, 1, 1), 2, "b"),
        ],
        ids,
    )
    assert periods[1] == [
        Period(10, date(2020, 1, 1), date(2022, 1, 1), 1),
        Period(11, date(2022, 1, 1), date(2023, 1, 1), 3),
        Period(12, date(2023, 1, 1), None, 2),
    ]


def change(organisation: str, number: int, person: str, on: date, op: str) -> dict[str, Any]:
    return {
        "record_type": "market.registration_change",
        "subject_id": organisation,
        "subject_name": "北京示例科技有限公司",
        "authority": "market.110105",
        "document_no": f"京朝市监变〔2026〕{number}号",
        "decided_on": on.isoformat(),
        "effective_on": on.isoformat(),
        "fields": {"legal_representative_id": person},
        "op": op,
    }


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], list[int]]:
    """An organisation's registration, then changes and corrections of changes, cut into files
    (each with its own batch size)."""
    organisation = samples.organisation(next(_organisations))
    registered, document = draw(DAY), next(_organisations)

    def registration(op: str) -> dict[str, Any]:
        row = samples.registration(
            organisation,
            draw(st.sampled_from(PEOPLE)),
            document,
            subject_name=draw(NAMES),
            decided_on=registered.isoformat(),
            effective_on=registered.isoformat(),
            op=op,
        )
        row["fields"] = {
            **row["fields"],
            "name": draw(NAMES),
            "legal_representative_name": draw(NAMES),
        }
        return row

    rows: list[dict[str, Any]] = [registration("submit")]
    sent: list[int] = []
    for _ in range(draw(st.integers(1, 7))):
        person, on = draw(st.sampled_from(PEOPLE)), draw(DAY)
        if draw(st.integers(0, 4)) == 0:
            rows.append(registration("correct"))  # renames the organisation
        elif sent and draw(st.booleans()):
            number = draw(st.sampled_from(sent))
            rows.append(change(organisation, number, person, on, "correct"))
        else:
            number = next(_organisations)
            sent.append(number)
            rows.append(change(organisation, number, person, on, "submit"))
    cuts = sorted(draw(st.sets(st.integers(1, len(rows) - 1), max_size=3)))
    files = [rows[start:end] for start, end in itertools.pairwise([0, *cuts, len(rows)])]
    sizes = [draw(st.integers(1, 4)) for _ in files]
    return files, sizes


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_the_replay_agrees_with_ingest(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path, history: Any
) -> None:
    files, sizes = history
    for rows, size in zip(files, sizes, strict=True):
        path = tmp_path / f"rows-{next(_files)}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
        digest, _ = scan_file(path)
        job = IngestJob(factory, national, today=date(2026, 11, 1), batch_size=size)
        summary = job.run_file(path, digest=digest, report_dir=tmp_path / "reports")
        assert summary.rejected == 0
    with factory() as session:
        report = verify_derived(session, national)
    assert report.ok, [item.describe() for item in report.differences]
    assert report.checked["legal_representatives"] > 0
