"""The verification's per-range checks read their range, not the store.

``xinyong integrity verify`` reads some things once for the whole store (every appointment of a
representative, every event) and then checks the subjects a range at a time: a statement it
runs for each range must reach the store by a key on SQLite, or the whole verification costs
the square of the store's size (``xinyong.testing.plans``).
"""

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.integrity.conftest import Town

from xinyong.integrity import verify_derived
from xinyong.policy import Pack
from xinyong.testing.plans import statement_plans

# The plans are SQLite's: the shared store fixture on SQLite only.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_no_statement_run_for_each_range_reads_a_table_or_a_whole_record_type(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    engine = factory.kw["bind"]
    with statement_plans(engine) as plans, factory() as session:
        report = verify_derived(session, national, chunk=2)

    assert report.differences == []
    assert max(plans.runs.values()) > 2
    assert plans.whole_store_reads(repeated=True) == {}
