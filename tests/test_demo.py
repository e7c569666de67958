"""``xinyong demo --no-serve`` on a small city: every planted bad row is quarantined, every other
row is stored, the ledger holds one leaf per event and verifies, and a rerun changes nothing.
The city is the suite's ``demo_city`` (tests/conftest.py), which tests/integrity verifies too."""

import subprocess
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from xinyong.ingest.models import QuarantinedRow
from xinyong.ledger import verify
from xinyong.ledger.checkpoint import read_signing_key
from xinyong.ledger.models import LedgerLeaf
from xinyong.records.models import RecordEvent
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.demo import build_demo
from xinyong.testing.store import snapshot


@pytest.mark.slow  # a whole demo city: `make test` runs it, the quick loop does not
def test_demo_builds_a_consistent_city_and_a_rerun_changes_nothing(
    demo_city: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp_path, first = demo_city
    assert first.returncode == 0, first.stderr
    assert "API key (relying_party)" in first.stdout
    manifest = orjson.loads(next(tmp_path.glob("demo/city-*/manifest.json")).read_bytes())
    factory = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'xinyong.db'}"))
    with factory() as session:
        quarantined = session.scalar(select(func.count()).select_from(QuarantinedRow))
        events = session.scalar(select(func.count()).select_from(RecordEvent))
        leaves = session.scalar(
            select(func.count())
            .select_from(LedgerLeaf)
            .where(LedgerLeaf.kind.startswith("record."))
        )
        report = verify(session, read_signing_key(tmp_path / "ledger" / "signing.key").verifier)
    assert quarantined == manifest["malformed"]["total"]
    assert leaves == events
    assert report.ok and report.checkpoints >= 1
    before = snapshot(factory)

    second = build_demo(tmp_path, persons=3000, orgs=300)
    assert second.returncode == 0, second.stderr
    files = len(manifest["ingest_order"]) + len(manifest["layout_files"])
    assert manifest["layout_files"] and f"0 of {files}" in second.stdout
    assert snapshot(factory) == before
