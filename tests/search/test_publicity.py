"""The publicity rule as a SQL condition (``public_clause``) selects exactly the rows
``is_public`` accepts, on SQLite and PostgreSQL: every type (public or not), every grade,
decision days on both sides of each publicity period's end, month ends included."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.policy import load_shipped
from xinyong.policy.catalogue import Severity
from xinyong.records.facts import add_months
from xinyong.search.publicity import STANDING, first_public_day, is_public, public_clause

NATIONAL = load_shipped("national")
ROWS = Table(
    "publicity_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("record_type", String(80)),
    Column("severity", String(10)),
    Column("decided_on", Date),
    Column("status", String(10)),
)
PERIODS = sorted(
    {
        period.max_months
        for kind in NATIONAL.record_types.values()
        for period in kind.severities.values()
        if period.max_months is not None
    }
)
DAYS = st.dates(date(2019, 1, 1), date(2031, 12, 31))


@st.composite
def rows(draw: st.DrawFn, day: date) -> tuple[str, str, date, str]:
    """A record version decided near where its grade's publicity period ends on ``day`` (or
    near where another period would end), mostly at a grade its type has."""
    record_type = draw(st.sampled_from(sorted(NATIONAL.record_types)))
    grades = NATIONAL.record_types[record_type].severities
    severity = draw(st.sampled_from(sorted(grades)) | st.sampled_from(list(Severity)))
    own = grades.get(severity)
    months = own.max_months if own and own.max_months and draw(st.booleans()) else None
    edge = add_months(day, -(months or draw(st.sampled_from(PERIODS))))
    decided_on = edge + timedelta(days=draw(st.integers(-2, 2)))
    status = draw(st.sampled_from([STANDING, STANDING, "withdrawn"]))
    return record_type, str(severity), decided_on, status


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), day=DAYS)
def test_the_sql_condition_is_the_rule(
    factory: sessionmaker[Session], data: st.DataObject, day: date
) -> None:
    drawn = data.draw(st.lists(rows(day), min_size=1, max_size=40))
    with factory.begin() as session:
        ROWS.create(session.connection(), checkfirst=True)
        session.execute(delete(ROWS))
        session.execute(
            insert(ROWS),
            [
                dict(
                    zip(
                        ("id", "record_type", "severity", "decided_on", "status"),
                        (n, *row),
                        strict=True,
                    )
                )
                for n, row in enumerate(drawn)
            ],
        )
        clause = public_clause(
            NATIONAL, day, ROWS.c.record_type, ROWS.c.severity, ROWS.c.decided_on, ROWS.c.status
        )
        selected = set(session.scalars(select(ROWS.c.id).where(clause)))
    expected = {n for n, row in enumerate(drawn) if is_public(NATIONAL, *row, day)}
    assert selected == expected


@given(months=st.integers(1, 120), day=DAYS)
def test_the_first_public_day_is_the_earliest_decision_still_shown(months: int, day: date) -> None:
    first = first_public_day(months, day)
    assert add_months(first, months) > day
    assert add_months(first - timedelta(days=1), months) <= day
