"""A visitor's search page and a subject's public file read the subjects shown, not the store.

On SQLite, every statement of ``rich_rows`` (what a page of search hits shows beside each
name) and of ``public_file`` must reach the store's tables by a key, beside records of several
types of other subjects (``xinyong.testing.plans``).
"""

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.policy import Pack
from xinyong.portal.public_file import public_file
from xinyong.portal.results import rich_rows
from xinyong.records.models import Subject
from xinyong.search.index import Hit
from xinyong.testing.plans import statement_plans
from xinyong.testing.samples import (
    blood_donation,
    consumption_restriction,
    defaulter_listing,
    organisation,
    person,
    registration,
)

from .test_public_rows import DAY, _ingest

# The plans are SQLite's: the shared store fixture on SQLite only.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_search_hits_and_a_public_file_read_no_table_or_record_type_whole(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    firm, boss = organisation(1), person(1)
    _ingest(
        factory,
        national,
        tmp_path / "rows.jsonl",
        registration(firm, boss, 1, fields={"name": "北京示例有限公司", "org_type": "enterprise",
                                             "legal_representative_id": boss,
                                             "established_on": "2010-05-01"}),
        registration(organisation(2), person(3), 2),
        defaulter_listing(firm, 3, decided_on="2026-06-01", effective_on="2026-06-01"),
        consumption_restriction(boss, 4),
        blood_donation(person(2), 5),
    )  # fmt: skip
    engine = factory.kw["bind"]
    with factory() as session:
        # A page of hits for every subject: more subjects than registration types, where
        # SQLite's planner turns to the shorter list of the two.
        hits = [
            Hit(str(id_) if kind == "person" else identifier, kind, name, "", "110105", 1.0)
            for id_, identifier, kind, name in session.execute(
                select(Subject.id, Subject.identifier, Subject.kind, Subject.name)
            )
        ]
        with statement_plans(engine) as plans:
            rows = rich_rows(session, national, hits, DAY)
            file = public_file(session, national, firm, DAY)

    assert len(hits) == 5
    [shown] = [row for row in rows if row["hit"].ref == firm]
    assert shown["established_on"] == "2010-05-01" and shown["lists"]
    assert file is not None
    assert plans.steps and plans.whole_store_reads() == {}


def test_a_public_file_names_the_current_representative_or_none(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    firm, boss, unregistered = organisation(1), person(1), organisation(2)
    _ingest(
        factory,
        national,
        tmp_path / "rows.jsonl",
        registration(firm, boss, 1),
        defaulter_listing(unregistered, 2, decided_on="2026-06-01", effective_on="2026-06-01"),
    )
    with factory() as session:
        registered = public_file(session, national, firm, DAY)
        listed = public_file(session, national, unregistered, DAY)
        name = session.scalar(select(Subject.name).where(Subject.identifier == boss))
    assert registered is not None and listed is not None
    assert registered["legal_representative"]["name"] == name
    assert listed["legal_representative"] is None
