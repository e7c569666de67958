"""Property: whatever a file or a request holds, ingest finishes, and every row read ends stored
(accepted, corrected, withdrawn), a duplicate or quarantined, on SQLite and PostgreSQL alike.

The rows are hostile on purpose: arbitrary JSON values in any column, text with NUL, lone
surrogates, noncharacters and controls, integers far beyond 64 bits, numbers JSON cannot hold,
nesting thousands deep, bytes that are not text in the file's encoding, corrections that would
move a document to another subject, in JSON Lines, JSON arrays and CSV, in UTF-8 (with or
without a BOM) and declared GB18030.
"""

import codecs
import csv
import io
import itertools
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.ingest.models import QuarantinedRow, Submission
from xinyong.ingest.readers import UnreadableFile, read_body
from xinyong.ingest.rows import RECORD_COLUMNS, Rejection, ValidRow
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ingest.validate import RowValidator
from xinyong.keys.service import create_key
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples

TODAY = date(2026, 11, 1)
STORE_REFUSED = "the store refused"  # the safety net's reason: validation must leave it idle
_files = itertools.count()

# Every code point, surrogates, NUL, controls and noncharacters included.
any_char = st.characters(exclude_categories=())
hostile_text = st.one_of(
    st.text(any_char, max_size=10),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\ud800",
            "²",
            "١٢٣",
            "１２３",
            "-0",
            "1e5",
            "NaN",
            "\ufdd0",
            "\ufffe",
            "张\u202e三",
            "a\tb",
            "\u2028",
            " ",
            "2026-11-02",
            "2024-W09-5",
        ]
    ),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)
columns = st.sampled_from([*RECORD_COLUMNS, "fields.case_no", "fields.ground", "extra"])


def good(index: int) -> dict[str, Any]:
    return samples.defaulter_listing(samples.person(index), index)


# A row as (kind, payload); ``render`` writes it in a file's format.
rows = st.one_of(
    st.tuples(st.just("good"), st.integers(1, 6)),
    st.tuples(
        st.just("edited"),
        st.tuples(st.integers(1, 6), st.lists(st.tuples(columns, json_values), max_size=3)),
    ),
    st.tuples(st.just("value"), json_values),
    st.tuples(st.just("deep"), st.integers(1, 3000)),
    st.tuples(st.just("bytes"), st.binary(min_size=1, max_size=12)),
    st.tuples(
        st.just("number"),
        st.sampled_from(["1e400", "-0", "-0.0", "1" * 30, "1.5e-400", "-1e999", "0.001"]),
    ),
    st.tuples(st.just("move"), st.integers(1, 6)),
)


def row_value(kind: str, payload: Any) -> Any:
    """The row as a Python value (bytes, deep nesting and raw numbers are spliced in later)."""
    if kind == "good":
        return good(payload)
    if kind == "edited":
        index, edits = payload
        row = good(index)
        for column, value in edits:
            if column.startswith("fields."):
                if isinstance(row["fields"], dict):
                    row["fields"][column.removeprefix("fields.")] = value
            else:
                row[column] = value
        return row
    if kind == "move":  # the same document, corrected to another subject
        return samples.defaulter_listing(samples.person(payload + 100), payload, op="correct")
    if kind in ("deep", "bytes", "number"):
        return good(1) | {"document_no": f"{kind}-marker"}
    return payload


def splice(kind: str, payload: Any, text: str) -> str:
    """Put what JSON cannot say as a value into the row's text."""
    if kind == "deep":
        nested = "[" * payload + "]" * payload
        return text.replace('"deep-marker"', f'"deep", "fields": {nested}', 1)
    if kind == "bytes":
        raw = bytes(b for b in payload if b >= 0x20 and b not in b'"\\')
        return text.replace('"bytes-marker"', '"' + raw.decode("utf-8", "surrogateescape") + '"', 1)
    if kind == "number":
        return text.replace('"number-marker"', f'"n", "amount": {payload}', 1)
    return text


def json_text(kind: str, payload: Any, ascii_only: bool) -> str:
    return splice(kind, payload, json.dumps(row_value(kind, payload), ensure_ascii=ascii_only))


def csv_cells(kind: str, payload: Any) -> list[str]:
    value = row_value(kind, payload)
    if not isinstance(value, dict):
        value = {"record_type": value}
    cells = []
    for column in RECORD_COLUMNS:
        cell = value.get(column, "")
        if kind == "deep" and column == "fields":
            cell = "[" * payload + "]" * payload
        elif kind == "bytes" and column == "subject_name":
            cell = payload.decode("utf-8", "surrogateescape")
        elif kind == "number" and column == "amount":
            cell = payload
        cells.append(cell if isinstance(cell, str) else json.dumps(cell))
    return cells


def _as_bytes(error: UnicodeError) -> tuple[bytes, int]:
    """Encode the test's stand-ins for raw bytes back to bytes, and lone surrogates as CESU."""
    assert isinstance(error, UnicodeEncodeError)
    out = bytearray()
    for char in error.object[error.start : error.end]:
        point = ord(char)
        out += bytes([point - 0xDC00]) if 0xDC80 <= point <= 0xDCFF else b"\xed\xa0\x80"
    return bytes(out), error.end


codecs.register_error("test-raw-bytes", _as_bytes)


def render(fmt: str, encoding: str, items: list[tuple[str, Any]], ascii_only: bool) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(RECORD_COLUMNS)
        for kind, payload in items:
            writer.writerow(csv_cells(kind, payload))
        text = out.getvalue()
    elif fmt == "jsonl":
        text = "".join(json_text(kind, payload, ascii_only) + "\n" for kind, payload in items)
    else:
        text = "[" + ",\n".join(json_text(k, p, ascii_only) for k, p in items) + "]"
    data = text.encode("utf-8" if encoding == "utf-8-sig" else encoding, "test-raw-bytes")
    return (codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + data


# Good rows first, as in real files: a file is refused as a whole for its encoding only when its
# first megabyte holds more undecodable bytes than characters that decode.
files = st.tuples(
    st.sampled_from(["jsonl", "json", "csv"]),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    st.lists(rows, min_size=1, max_size=16).map(
        lambda hostile: [("good", index) for index in (1, 2, 3)] + hostile
    ),
    st.booleans(),
)


def count(session: Session, statement: Any) -> int:
    return session.scalar(statement) or 0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(file=files)
def test_every_row_of_a_hostile_file_is_stored_or_quarantined_and_the_job_finishes(
    factory: sessionmaker[Session],
    national: Pack,
    tmp_path_factory: pytest.TempPathFactory,
    file: tuple[str, str, list[tuple[str, Any]], bool],
) -> None:
    fmt, encoding, items, ascii_only = file
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / f"rows-{next(_files)}.{fmt}"
    path.write_bytes(render(fmt, encoding, items, ascii_only))
    digest, _ = scan_file(path)
    job = IngestJob(factory, national, today=TODAY, batch_size=4)
    declared = "gb18030" if encoding == "gb18030" else None
    with factory() as session:
        submissions_before = count(session, select(func.count()).select_from(Submission))
    try:
        first = job.run_file(path, digest=digest, report_dir=folder, encoding=declared)
    except UnreadableFile as refused:
        # Only a whole file is refused, and then before anything of it is stored.
        event(f"refused whole: {str(refused).split(': ', 1)[1][:30]}")
        with factory() as session:
            assert count(session, select(func.count()).select_from(Submission)) == (
                submissions_before
            )
        return
    event(f"read {fmt}")
    event(f"{'some' if first.rejected else 'no'} rows quarantined")
    assert first.rows == len(items)
    assert first.accounted, first.to_dict()
    with factory() as session:
        quarantined = session.scalars(
            select(QuarantinedRow.reason).where(QuarantinedRow.source_digest == digest)
        ).all()
        stored_records = count(
            session,
            select(func.count()).where(Record.submission_id == first.submission_id),
        )
        stored_events = count(
            session,
            select(func.count()).where(RecordEvent.submission_id == first.submission_id),
        )
    assert len(quarantined) == first.rejected
    assert not [reason for reason in quarantined if reason.startswith(STORE_REFUSED)]
    assert stored_records == first.accepted + first.corrected
    assert stored_events == first.stored
    again = job.run_file(path, digest=digest, report_dir=folder, encoding=declared)
    assert (again.rows, again.stored, again.rejected) == (len(items), 0, first.rejected)
    assert again.accounted


@settings(max_examples=300, deadline=None)
@given(row=st.dictionaries(st.sampled_from([*RECORD_COLUMNS, "x"]), json_values, max_size=12))
def test_the_validator_answers_every_row_with_a_record_or_a_reason(
    national: Pack, row: dict[str, Any]
) -> None:
    validator = RowValidator(national, TODAY)
    outcome = validator.validate(1, row, "")
    assert isinstance(outcome, ValidRow | Rejection)
    if isinstance(outcome, Rejection):
        assert outcome.reason


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200) | st.builds(lambda v: json.dumps(v).encode(), json_values))
def test_a_body_is_read_row_by_row_or_refused_as_unreadable(body: bytes) -> None:
    for lines in (False, True):
        try:
            items = list(read_body(body, lines=lines))
        except UnreadableFile:
            continue
        assert [number for number, _, _ in items] == list(range(1, len(items) + 1))


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(Settings(database_url=store_url, var_dir=tmp_path))) as client:
        engine = make_engine(store_url)
        with make_sessionmaker(engine).begin() as session:
            token = create_key(session, role="authority", authority="court.110105", label="t")
        engine.dispose()
        yield client, {"Authorization": f"Bearer {token}"}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(rows, min_size=1, max_size=12), lines=st.booleans(), ascii_only=st.booleans())
def test_the_api_answers_every_hostile_row_in_its_place(
    api: tuple[TestClient, dict[str, str]],
    items: list[tuple[str, Any]],
    lines: bool,
    ascii_only: bool,
) -> None:
    client, key = api
    body = render("jsonl" if lines else "json", "utf-8", items, ascii_only)
    content_type = "application/x-ndjson" if lines else "application/json"
    response = client.post(
        "/v1/submissions", content=body, headers={**key, "Content-Type": content_type}
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        detail = response.json()["detail"]
        event(f"unreadable body: {detail[:30]}")
        assert "not valid JSON" in detail or "not UTF-8" in detail
        return
    answer = response.json()
    assert [row["row"] for row in answer["rows"]] == list(range(1, len(items) + 1))
    outcomes = ("accepted", "duplicates", "corrected", "withdrawn", "rejected")
    assert sum(answer[name] for name in outcomes) == len(items)
    assert not [row for row in answer["rows"] if (row["reason"] or "").startswith(STORE_REFUSED)]
