"""Today's store population: each person's features from their own stored records only."""

import math
from datetime import date
from pathlib import Path

import orjson
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.scorecard.population import store_population, synthetic_population
from xinyong.synth import MANIFEST, generate

AS_OF = date(2026, 11, 1)


def comparable(rows: list[dict[str, float]]) -> list[tuple[float, ...]]:
    return sorted(
        tuple(-1.0 if math.isnan(value) else value for value in row.values()) for row in rows
    )


def test_the_store_population_matches_the_generated_borrowers(
    factory: sessionmaker[Session], national: Pack, financial: Pack, tmp_path: Path
) -> None:
    city = tmp_path / "city"
    generate(city, 300, 20, 11, "jsonl", AS_OF)
    manifest = orjson.loads((city / MANIFEST).read_bytes())
    job = IngestJob(factory, national, today=AS_OF)
    for name in manifest["ingest_order"]:
        digest, _ = scan_file(city / name)
        job.run_file(city / name, digest=digest, report_dir=tmp_path / "reports")
    stored = list(store_population(factory, financial, AS_OF))
    generated = synthetic_population(financial, 300, 11, AS_OF)
    with_records = [
        row
        for row in generated.features
        if row["credit_accounts"]
        or row["on_time_repayments"]
        or row["overdue_events"]
        or not math.isnan(row["card_utilisation"])
    ]
    assert len(stored) > 50
    assert comparable(stored) == comparable(with_records)
    assert list(store_population(factory, financial, date(2019, 1, 1))) == []
