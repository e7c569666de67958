"""One person's score reads the person's records, not the store's financial records.

On SQLite, every statement of ``subject_features`` (``xinyong scorecard score``) must reach the
store's tables by a key, in a city with records of many types (``xinyong.testing.plans``);
the whole population's read (``store_population``) reads the financial types by design.
"""

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.records.models import Record, Subject
from xinyong.scorecard.population import financial_types, subject_features
from xinyong.synth import MANIFEST, generate
from xinyong.testing.plans import statement_plans

from .test_population import AS_OF

# The plans are SQLite's: the shared store fixture on SQLite only.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_a_persons_features_read_no_table_or_record_type_whole(
    factory: sessionmaker[Session], national: Pack, financial: Pack, tmp_path: Path
) -> None:
    city = tmp_path / "city"
    generate(city, 120, 10, 11, "jsonl", AS_OF)
    job = IngestJob(factory, national, today=AS_OF)
    for name in orjson.loads((city / MANIFEST).read_bytes())["ingest_order"]:
        job.run_file(city / name, digest=scan_file(city / name)[0], report_dir=tmp_path)
    with factory() as session:
        borrower = session.scalars(
            select(Subject.identifier)
            .join(Record, Record.subject_id == Subject.id)
            .where(Record.record_type.in_(financial_types(financial)))
            .limit(1)
        ).one()
        types = set(session.scalars(select(Record.record_type).distinct()))

    with statement_plans(factory.kw["bind"]) as plans:
        features = subject_features(factory, financial, borrower, AS_OF)

    assert len(types) > 5 and features is not None
    assert plans.steps and plans.whole_store_reads() == {}
