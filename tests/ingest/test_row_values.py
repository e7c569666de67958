"""Each field takes only what its type means, with a reason naming the field, on both backends."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.models import QuarantinedRow
from xinyong.ingest.rows import Rejection, ValidRow
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ingest.validate import RowValidator
from xinyong.ingest.values import MAX_DEPTH, SHOWN_CHARS
from xinyong.policy import Pack
from xinyong.records.history import event_payload
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.testing import samples

TODAY = date(2026, 11, 1)
PERSON = samples.person(1)


def listing(**overrides: Any) -> dict[str, Any]:
    return samples.defaulter_listing(PERSON, 1, **overrides)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


# (row, field, fragment of the reason)
REFUSED = [
    (listing(subject_name="张\x00三"), "subject_name", "NUL"),
    (listing(document_no="(2024)京0105执\x001号"), "document_no", "NUL"),
    (listing(fields={"case_no": "a\x00", "ground": "able_but_refuses"}), "fields.case_no", "NUL"),
    (listing(subject_name="张\ud800三"), "subject_name", "lone surrogate"),
    (listing(subject_name="张\ufdd0三"), "subject_name", "not valid text"),
    (listing(subject_name="张\ufffe三"), "subject_name", "U+FFFE"),
    (listing(subject_name="张\u202e三"), "subject_name", "U+202E"),
    (listing(subject_name="张\x07三"), "subject_name", "U+0007"),
    (listing(subject_name="张\t三"), "subject_name", "line"),
    (listing(document_no="(2024)京\u200b0105执1号"), "document_no", "U+200B"),
    (listing(subject_id=PERSON[:5] + "²" + PERSON[6:]), "subject_id", "U+00B2"),
    (listing(subject_id="١" + PERSON[1:]), "subject_id", "U+0661"),
    (listing(subject_id=int(PERSON[:17])), "subject_id", "text"),
    (listing(subject_id=PERSON * 4), "subject_id", "longer than 64"),
    (listing(document_no="号" * 101), "document_no", "longer than 100"),
    (listing(op="replace"), "op", "one of submit"),
    (listing(op="x" * 1000), "op", "x" * SHOWN_CHARS + "…'"),
    (listing(amount=10**30), "amount", "64 bits"),
    (listing(amount="１２０"), "amount", "number such as"),
    (listing(amount="1e5"), "amount", "number such as"),
    (listing(amount="NaN"), "amount", "number such as"),
    (listing(amount=-1), "amount", "out of range"),
    (listing(amount=10**13), "amount", "out of range"),
    (listing(amount=0.001), "amount", "fen"),
    (listing(amount=True), "amount", "number such as"),
    (listing(decided_on="2024-W09-5"), "decided_on", "YYYY-MM-DD"),
    (listing(decided_on="２０２４-０３-０１"), "decided_on", "YYYY-MM-DD"),
    (listing(decided_on="20240301"), "decided_on", "YYYY-MM-DD"),
    (listing(decided_on="1899-12-31", effective_on="1900-01-01"), "decided_on", "before 1900"),
    (listing(fields={"case_no": "x", "ground": "able_but_refuses", "n": 2**64}), "fields.n", "64"),
    (
        listing(fields={"case_no": "x", "ground": "able_but_refuses", "d": nested(MAX_DEPTH)}),
        None,
        "",
    ),
    (
        listing(fields='{"case_no": "x", "ground": "able_but_refuses", "n": ' + "9" * 25 + "}"),
        "fields.n",
        "out of range",
    ),
    (listing(fields={"case_no": "x", "ground": "able_but_refuses", "n": 1e19}), "fields.n", "2^63"),
    (listing(amount=float("nan")), "amount", "out of range"),
    (
        listing(fields='{"case_no": "x", "ground": "able_' + "\\u0000" + 'but"}'),
        "fields.ground",
        "NUL",
    ),
    (listing(fields={"case_no": "x", "ground": "able_but_refuses", "a\x00": 1}), "fields", "NUL"),
]


@pytest.mark.parametrize(("row", "field", "fragment"), REFUSED)
def test_a_value_outside_its_type_refuses_its_row_naming_the_field(
    national: Pack, row: dict[str, Any], field: str | None, fragment: str
) -> None:
    outcome = RowValidator(national, TODAY).validate(1, row, "")
    assert isinstance(outcome, Rejection), row
    if field is None:  # too deep: the path is the place it got too deep
        assert f"deeper than {MAX_DEPTH}" in outcome.reason
        return
    assert (outcome.field, fragment in outcome.reason) == (field, True), outcome.reason


def test_what_a_clerk_types_for_a_digit_or_a_space_in_an_identifier_is_read(
    national: Pack,
) -> None:
    full_width = PERSON.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    for written in (full_width, f" {PERSON[:6]}-{PERSON[6:]} ", PERSON[:6] + "\u3000" + PERSON[6:]):
        outcome = RowValidator(national, TODAY).validate(1, listing(subject_id=written), "")
        assert isinstance(outcome, ValidRow), outcome
        assert outcome.subject.identifier == PERSON


@pytest.mark.parametrize(
    ("written", "stored"),
    [("-0", "0.00"), (-0.0, "0.00"), ("-0.00", "0.00"), ("120000.50", "120000.50"), (7, "7.00")],
)
def test_amounts_are_read_exactly_and_minus_zero_is_zero(
    national: Pack, written: Any, stored: str
) -> None:
    outcome = RowValidator(national, TODAY).validate(1, listing(amount=written), "")
    assert isinstance(outcome, ValidRow), outcome
    assert outcome.amount is not None and str(outcome.amount) == stored


def test_free_text_may_hold_line_breaks_names_may_not(national: Pack) -> None:
    judgment = {
        "record_type": "court.judgment",
        "subject_id": PERSON,
        "subject_name": "张三",
        "authority": "court.110105",
        "document_no": "(2024)京0105民初1号",
        "decided_on": "2024-03-01",
        "effective_on": "2024-03-01",
        "fields": {"case_no": "(2024)京0105民初1号", "cause": "第一行\n第二行"},
    }
    assert isinstance(RowValidator(national, TODAY).validate(1, judgment, ""), ValidRow)


def test_hostile_values_are_quarantined_and_kept_readable_on_every_backend(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    """PostgreSQL refuses NUL in text and in JSON: such rows must be quarantined, not lost."""
    lines = [_json_line(row) for row, _, _ in REFUSED] + [_json_line(listing(amount="-0"))]
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(line + "\n" for line in lines if line))
    written = sum(1 for line in lines if line)
    digest, _ = scan_file(path)
    summary = IngestJob(factory, national, today=TODAY).run_file(
        path, digest=digest, report_dir=tmp_path
    )
    assert (summary.rows, summary.accepted, summary.rejected) == (written, 1, written - 1)
    with factory() as session:
        raws = session.scalars(select(QuarantinedRow.raw)).all()
        amount = session.scalars(select(Record.amount)).one()
        record = session.execute(
            select(Record, Subject.identifier).join(Subject, Subject.id == Record.subject_id)
        ).one()
        event = session.scalars(select(RecordEvent)).one()
    assert len(raws) == written - 1
    assert not [raw for raw in raws if "\x00" in raw]  # kept, with NUL written as \u0000
    assert amount == Decimal("0.00") and str(amount) == "0.00"
    stored = {**_columns(record[0]), "subject": record[1]}
    payload = orjson.loads(event_payload(_columns(event), stored, "person"))
    assert payload["decision"]["amount"] == "0.00"


def _json_line(row: dict[str, Any]) -> str:
    """The row as a JSON line, integers exact and surrogates escaped; "" for what JSON cannot
    say (NaN)."""
    try:
        return json.dumps(row, allow_nan=False)
    except ValueError:
        return ""


def _columns(row: Any) -> dict[str, Any]:
    return {column.name: getattr(row, column.key) for column in row.__table__.columns}


DAYS = st.one_of(
    st.dates(min_value=date(1899, 12, 25), max_value=date(2026, 11, 8)).map(date.isoformat),
    st.sampled_from(["2024-02-30", "2024-13-01", "24-01-01", ""]),
)


@settings(max_examples=60, deadline=None)
@given(days=st.lists(st.tuples(DAYS, DAYS), min_size=1, max_size=8))
def test_a_validator_decides_a_day_seen_before_as_it_did_the_first_time(
    national: Pack, days: list[tuple[str, str]]
) -> None:
    """One validator remembers the days it has read (so that a batch's verdicts share one object
    a day, which pickle writes once): every row gets the verdict a fresh validator gives it, a
    day refused stays refused, and equal days are one object."""
    rows = [listing(decided_on=decided, effective_on=effective) for decided, effective in days]
    remembering = RowValidator(national, TODAY)
    verdicts = [remembering.validate(n, dict(row), "") for n, row in enumerate(rows * 2)]
    fresh = [
        RowValidator(national, TODAY).validate(n, dict(row), "") for n, row in enumerate(rows * 2)
    ]
    assert verdicts == fresh
    valid = [verdict for verdict in verdicts if isinstance(verdict, ValidRow)]
    by_day: dict[date, date] = {}
    for row in valid:
        for day in (row.decided_on, row.effective_on, row.subject.birth_date):
            assert day is not None
            assert by_day.setdefault(day, day) is day
