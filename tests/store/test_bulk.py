"""Driver-level bulk writes and set lookups read back exactly as the ORM would have written them."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.records.models import Subject
from xinyong.store.bulk import BulkTable, allocate_ids, among
from xinyong.store.db import make_engine

SUBJECTS: Table = Subject.__table__  # type: ignore[assignment]
NOW = datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=UTC)


def subject(subject_id: int, identifier: str, **values: object) -> dict[str, object]:
    return {
        "id": subject_id,
        "identifier": identifier,
        "kind": "person",
        "name": f"name {identifier}",
        "confirmed": True,
        "suspect_identifier": False,
        "created_at": NOW,
        **values,
    }


def test_bulk_rows_read_back_through_the_orm(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        connection = session.connection()
        first, second, third = allocate_ids(connection, SUBJECTS, 3)
        BulkTable(connection, SUBJECTS).insert(
            [
                subject(first, "A1", region="110105", birth_date=date(1990, 1, 2), sex="female"),
                subject(second, "A2"),  # leaves out the nullable columns: they are NULL
                subject(third, "A3", birth_date=date(1990, 1, 2), created_by_submission=7),
            ]
        )
    with factory() as session:
        stored = {row.identifier: row for row in session.scalars(select(Subject))}
    assert (stored["A1"].region, stored["A1"].birth_date, stored["A1"].sex) == (
        "110105",
        date(1990, 1, 2),
        "female",
    )
    assert (stored["A2"].region, stored["A2"].birth_date, stored["A2"].org_type) == (None,) * 3
    assert stored["A3"].created_by_submission == 7
    assert stored["A3"].created_at.replace(tzinfo=UTC) == NOW


def test_allocated_ids_are_fresh_ascending_and_never_handed_out_again(
    factory: sessionmaker[Session],
) -> None:
    """Blocks of keys, each drawn after the transaction's last write (as the writers draw them),
    follow each other in order, and a row the ORM adds afterwards takes none of them."""
    with factory.begin() as session:
        connection = session.connection()
        bulk = BulkTable(connection, SUBJECTS)
        first = list(allocate_ids(connection, SUBJECTS, 5))
        bulk.insert(subject(subject_id, f"B{subject_id}") for subject_id in first)
        second = list(allocate_ids(connection, SUBJECTS, 4))
        bulk.insert(subject(subject_id, f"B{subject_id}") for subject_id in second)
        session.add(Subject(**subject(None, "ORM")))  # type: ignore[arg-type]
    with factory() as session:
        orm_id = session.scalars(select(Subject.id).where(Subject.identifier == "ORM")).one()
    assert first == sorted(first) and second == sorted(second)
    assert len(set(first + second)) == 9 and max(first) < min(second)
    assert orm_id not in first + second


def test_among_finds_exactly_the_given_values(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        connection = session.connection()
        ids = allocate_ids(connection, SUBJECTS, 3000)
        BulkTable(connection, SUBJECTS).insert(
            subject(subject_id, f"S{subject_id}") for subject_id in ids
        )
    wanted = [f"S{subject_id}" for subject_id in ids[::7]] + ["nobody", "S'; --"]
    with factory() as session:
        connection = session.connection()
        by_identifier = set(
            session.scalars(
                select(Subject.identifier).where(among(connection, Subject.identifier, wanted))
            )
        )
        by_id = set(
            session.scalars(select(Subject.id).where(among(connection, Subject.id, list(ids[:5]))))
        )
    assert by_identifier == set(wanted[:-2])
    assert by_id == set(ids[:5])


texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), texts), min_size=1, max_size=30),
    texts | st.none(),
)
def test_rows_written_as_they_are_read_back_unchanged(
    store_url: str, rows: list[tuple[int, str]], note: str | None
) -> None:
    """``insert_values`` (one prepared statement on SQLite, COPY on PostgreSQL), as the check
    log writes its groups, keeps every int, text and NULL exactly."""
    engine = make_engine(store_url)
    table = Table(
        "bulk_samples",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("key", BigInteger),
        Column("label", String),
        Column("note", String, nullable=True),
    )
    table.create(engine, checkfirst=True)
    with engine.begin() as connection:
        connection.execute(table.delete())
        bulk = BulkTable(connection, table, columns=("key", "label", "note"))
        bulk.insert_values([(key, label, note) for key, label in rows])
    with engine.connect() as connection:
        stored = connection.execute(
            select(table.c.key, table.c.label, table.c.note).order_by(table.c.id)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in stored] == [(key, label, note) for key, label in rows]


# A subject identifier holds at most 18 characters.
identifiers = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=18
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(identifiers | st.just("None"), min_size=1, max_size=12, unique=True), st.data())
def test_among_matches_text_exactly_whatever_its_characters(
    factory: sessionmaker[Session], stored: list[str], data: st.DataObject
) -> None:
    """The values travel as one text (a JSON array on SQLite, values joined by a separator on
    PostgreSQL): quotes, backslashes, braces, commas and any other character (what an array
    literal or JSON escapes) still match only themselves, and a value longer than the column
    holds is not cut to its length (it matches nothing)."""
    longer = st.tuples(st.sampled_from(stored), texts.filter(bool)).map("".join)
    # A missing value (None) matches nothing; it must not match a stored text "None".
    wanted = data.draw(
        st.lists(st.sampled_from(stored) | identifiers | longer | st.none(), max_size=12)
    )
    assert found_among(factory, stored, wanted) == set(stored) & set(wanted)


@pytest.mark.parametrize(
    "wanted",
    [[], [""], ["", ""], ["a\x1fb"], ["a", "b"], ["a\x1fb", "a"], ["", "a"], [None], ["a", None]],
    ids=repr,
)
def test_among_matches_empty_text_and_the_separator_exactly(
    factory: sessionmaker[Session], wanted: list[str | None]
) -> None:
    """The values PostgreSQL's lookup cannot join and split (none, one empty text, a text that
    holds the separator, a missing value) go another way, with the same answer: a missing value
    matches nothing, not the text "None"."""
    stored = ["", "a", "b", "a\x1fb", "None"]
    assert found_among(factory, stored, wanted) == set(wanted) - {None}


def found_among(
    factory: sessionmaker[Session], stored: list[str], wanted: list[str | None]
) -> set[str]:
    """The identifiers ``among`` finds of ``wanted`` in a store holding subjects ``stored``."""
    with factory.begin() as session:
        connection = session.connection()
        connection.execute(SUBJECTS.delete())
        ids = allocate_ids(connection, SUBJECTS, len(stored))
        BulkTable(connection, SUBJECTS).insert(
            subject(subject_id, identifier)
            for subject_id, identifier in zip(ids, stored, strict=True)
        )
        return set(
            session.scalars(
                select(Subject.identifier).where(among(connection, Subject.identifier, wanted))
            )
        )
