"""Whatever staff read, each subject's whole file lists exactly the reads of that subject: none
lost, none of another subject's, with who, role and purpose as stated."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.deps import Person
from xinyong.accounts.service import create_account
from xinyong.audit.service import record_access
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack, load_shipped
from xinyong.records.models import Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.subjects.service import whole_file
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

STAFF = (
    ("op", "operator", None),
    ("rev", "reviewer", None),
    ("clerk", "authority", "court.110105"),
)


LOGGED: defaultdict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[sessionmaker[Session], list[Person], dict[int, str]]]:
    folder = tmp_path_factory.mktemp("whole")
    url = migrated_sqlite(folder / "store.db")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    path = folder / "rows.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps(samples.defaulter_listing(samples.person(i), i)) + b"\n" for i in range(3)
        )
    )
    digest, _ = scan_file(path)
    IngestJob(factory, load_shipped("national"), today=date(2026, 11, 1)).run_file(
        path, digest=digest, report_dir=folder
    )
    with factory.begin() as session:
        staff = [
            Person(
                create_account(
                    session,
                    username=name,
                    password="a long password",
                    role=role,
                    authority_code=authority,
                ),
                name,
                role,
                None,
                None,
                authority,
            )
            for name, role, authority in STAFF
        ]
        subjects = {
            key: code for key, code in session.execute(select(Subject.id, Subject.identifier))
        }
    yield factory, staff, subjects
    engine.dispose()


def accesses(
    factory: sessionmaker[Session], pack: Pack, identifier: str
) -> Counter[tuple[str, str, str]]:
    with factory() as session:
        file = whole_file(session, identifier, pack, date(2026, 11, 2))
    return Counter((a["who"], a["role"], a["purpose"]) for a in file["accesses"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reads=st.lists(
        st.tuples(
            st.integers(0, len(STAFF) - 1),
            st.integers(0, 2),
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                min_size=1,
                max_size=40,
            ).filter(str.strip),
        ),
        max_size=8,
    )
)
def test_each_file_lists_exactly_its_own_reads(
    store: tuple[sessionmaker[Session], list[Person], dict[int, str]],
    national: Pack,
    reads: list[tuple[int, int, str]],
) -> None:
    factory, staff, subjects = store
    ids = sorted(subjects)
    added: defaultdict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
    with factory.begin() as session:
        for who, subject, purpose in reads:
            person = staff[who]
            record_access(
                session, person=person, subject_id=ids[subject], purpose=purpose, what="file"
            )
            added[subjects[ids[subject]]][(person.username, person.role, purpose.strip())] += 1
    # The store outlives each example: it must hold everything read so far.
    for identifier, counts in added.items():
        LOGGED[identifier] += counts
    for identifier in subjects.values():
        assert accesses(factory, national, identifier) == LOGGED[identifier]
