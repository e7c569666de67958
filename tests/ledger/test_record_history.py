"""Record events on the ledger: what the store hands back commits to the very leaf that was
logged, for every amount ingest accepts (a signed zero included); and an edit of any column a
record event rests on is found by `verify`. On SQLite and PostgreSQL."""

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ledger import SigningKey, checkpoint, verify
from xinyong.ledger.commitment import SALT_SIZE, leaf_of
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import subtree_hashes
from xinyong.policy import Pack
from xinyong.records.history import (
    canonical_amount,
    event_members,
    event_payload,
    rebuild_record_events,
)
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.store.base import Base
from xinyong.testing import samples
from xinyong.testing.ingest import ingest

CENTS = st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2)
# Ingest takes plain decimals in whole fen (docs/ingest.md): these are the zeros it accepts.
SIGNED_ZEROS = ["-0", "-0.00", -0.0, "-0.000", "0.000", -0]
AMOUNTS = st.one_of(
    CENTS.map(str),
    CENTS.map(float),
    st.integers(min_value=0, max_value=10**13 - 1),
    st.sampled_from(SIGNED_ZEROS),
    st.sampled_from(["0.10", "0.5", "9999999999999.99", "120000.0", "120000.50"]),
)


def _last_record_event(session: Session) -> tuple[LedgerLeaf, bytes]:
    index = session.scalar(
        select(func.max(LedgerLeaf.leaf_index)).where(LedgerLeaf.kind.startswith("record."))
    )
    assert index is not None
    leaf = session.get_one(LedgerLeaf, index)
    logged = subtree_hashes(session, [(0, index)])[(0, index)]
    return leaf, logged


def test_every_accepted_amount_rebuilds_the_leaf_it_was_logged_as(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    subject = samples.person(3)
    numbers = itertools.count(1)

    @settings(max_examples=40, deadline=None, database=None)
    @given(amount=AMOUNTS)
    def logged_as_stored(amount: object) -> None:
        row = samples.defaulter_listing(subject, next(numbers), amount=amount)
        assert ingest(factory, national, tmp_path, [row]).accepted == 1
        with factory() as session:
            leaf, logged = _last_record_event(session)
            rebuilt = rebuild_record_events(session, [leaf.ref])[leaf.ref]
        assert leaf.salt is not None
        assert leaf_of(leaf.salt, leaf.kind, leaf.ref, rebuilt) == logged
        shown = orjson.loads(rebuilt)["decision"]["amount"]
        assert shown == canonical_amount(Decimal(str(amount)).quantize(Decimal("0.01")))
        assert not shown.startswith("-")

    logged_as_stored()


INSTANTS = st.datetimes(timezones=st.none() | st.just(UTC))
TEXT = st.text(max_size=30)
FIELD_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | TEXT | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@settings(deadline=None)
@given(
    salt=st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE),
    numbers=st.lists(st.integers(0, 2**62), min_size=7, max_size=7),
    instants=st.tuples(INSTANTS, INSTANTS),
    texts=st.lists(TEXT, min_size=8, max_size=8),
    days=st.tuples(st.none() | st.dates(), st.none() | st.dates()),
    amount=st.none() | AMOUNTS,
    fields=st.dictionaries(TEXT, FIELD_VALUES, max_size=25),
    subject_kind=st.sampled_from(["person", "organisation"]),
)
def test_a_record_event_handed_over_as_members_is_the_leaf_of_its_bytes(
    salt: bytes,
    numbers: list[int],
    instants: tuple[datetime, datetime],
    texts: list[str],
    days: tuple[date | None, date | None],
    amount: object,
    fields: dict[str, object],
    subject_kind: str,
) -> None:
    """What ingest logs (the members) is the leaf that verification rebuilds (the bytes)."""
    event = dict(zip(["id", "submission_id", "row_no"], numbers, strict=False))
    event.update(kind=texts[0].replace("\n", " "), occurred_at=instants[0])
    record = {
        **dict(zip(["id", "version", "submission_id", "row_no"], numbers[3:], strict=True)),
        **dict(
            zip(
                ["content_hash", "document_key", "record_type", "authority", "document_no"],
                texts[1:6],
                strict=True,
            )
        ),
        "received_at": instants[1],
        "decided_on": days[0],
        "effective_on": days[1],
        "severity": texts[6],
        "amount": amount,
        "subject": "110105194912310029" if subject_kind == "person" else texts[7],
        "subject_name": texts[7],
        "fields": fields,
    }
    members = event_members(event, record, subject_kind)
    payload = event_payload(event, record, subject_kind)
    assert orjson.dumps(members, option=orjson.OPT_SORT_KEYS) == payload
    kind, ref = f"record.{event['kind']}", str(event["id"])
    assert leaf_of(salt, kind, ref, members) == leaf_of(salt, kind, ref, payload)


def test_a_signed_zero_is_written_as_zero() -> None:
    for zero in (Decimal("-0"), Decimal("-0.00"), -0.0, "-0.00", 0):
        assert canonical_amount(zero) == "0.00"
    assert canonical_amount(None) is None
    assert canonical_amount(Decimal("12.50")) == "12.50"


EDITS: list[tuple[str, str, object]] = [
    ("records", "document_key", "court.110105|court.defaulter_listing|(2024)京0105执999号"),
    ("records", "version", 7),
    ("records", "record_type", "court.consumption_restriction"),
    ("records", "authority", "court.110108"),
    ("records", "document_no", "(2024)京0105执999号"),
    ("records", "subject_id", "other subject"),
    ("records", "subject_name", "王五"),
    ("records", "decided_on", date(2024, 3, 2)),
    ("records", "effective_on", date(2024, 3, 6)),
    ("records", "severity", "general"),
    ("records", "amount", Decimal("120000.01")),
    ("records", "fields", {"case_no": "(2024)京0105执1号", "ground": "evading"}),
    ("records", "content_hash", "0" * 32),
    ("records", "submission_id", "other submission"),
    ("records", "row_no", 99),
    ("records", "received_at", datetime(2026, 11, 2, 8, tzinfo=UTC)),
    ("record_events", "kind", "corrected"),
    ("record_events", "occurred_at", datetime(2026, 11, 2, 8, tzinfo=UTC)),
    ("record_events", "submission_id", "other submission"),
    ("record_events", "row_no", 99),
    ("record_events", "record_id", "other record"),
    ("subjects", "identifier", samples.person(77)),
    ("subjects", "kind", "organisation"),
]


@pytest.mark.parametrize(("table", "column", "value"), EDITS, ids=[f"{t}.{c}" for t, c, _ in EDITS])
def test_verify_finds_an_edit_of_any_column_a_record_event_rests_on(
    factory: sessionmaker[Session],
    national: Pack,
    tmp_path: Path,
    table: str,
    column: str,
    value: object,
) -> None:
    subject, other = samples.person(1), samples.person(2)
    ingest(factory, national, tmp_path, [samples.defaulter_listing(subject, 1)])
    ingest(factory, national, tmp_path, [samples.defaulter_listing(other, 2)])
    key = SigningKey.generate()
    with factory.begin() as session:
        checkpoint(session, key)
    rows = Base.metadata.tables
    with factory() as session:
        assert verify(session, key.verifier).ok
        mine = session.execute(
            select(Record.id, Record.subject_id, Record.submission_id, RecordEvent.id)
            .join(RecordEvent, RecordEvent.record_id == Record.id)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.identifier == subject)
        ).one()
        theirs = session.execute(
            select(Record.id, Record.subject_id, Record.submission_id)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.identifier == other)
        ).one()
        replacement = (
            {
                "other subject": theirs.subject_id,
                "other submission": theirs.submission_id,
                "other record": theirs.id,
            }.get(value, value)
            if isinstance(value, str)
            else value
        )
        key_of = {"records": mine[0], "record_events": mine[3], "subjects": mine[1]}[table]
        target = rows[table]
        session.execute(update(target).where(target.c.id == key_of).values({column: replacement}))
        report = verify(session, key.verifier)
        session.rollback()
    assert not report.ok, f"{table}.{column} edited and nothing noticed"
    assert report.first is not None and report.first.kind is not None
    assert report.first.kind.startswith("record.")
