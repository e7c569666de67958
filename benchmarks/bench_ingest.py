"""ingest.sqlite and ingest.postgres: synthetic records through the full pipeline, beside a floor.

The pipeline reads a JSON Lines file, validates every row against the catalogue, resolves
subjects and documents, writes records, events, the ledger and the quarantine in batches. The
floor writes exactly the rows the pipeline wrote, into the same tables of a fresh store, with
no validation: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.
"""

import itertools
import sqlite3
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import load_shipped
from xinyong.store.base import Base
from xinyong.store.db import make_engine, make_sessionmaker, migrate
from xinyong.synth import iter_records
from xinyong.testing.postgres import create_database, postgres_server

AS_OF = date(2026, 11, 1)
WORK = Path("var/bench")


def data_file(rows: int) -> Path:
    path = WORK / f"ingest-{rows}.jsonl"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        persons = max(rows * 13 // 10, 1000)  # the city yields about 0.85 rows a person
        with path.open("wb") as out:
            for record in itertools.islice(iter_records(persons, persons // 10, 7, AS_OF), rows):
                out.write(orjson.dumps(record) + b"\n")
    return path


def pipeline(url: str, path: Path) -> tuple[float, int]:
    migrate(url)
    engine = make_engine(url)
    job = IngestJob(
        make_sessionmaker(engine), load_shipped("national"), today=AS_OF, batch_size=5000
    )
    digest, _ = scan_file(path)
    started = time.perf_counter()
    summary = job.run_file(path, digest=digest, report_dir=WORK / "reports")
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, summary.rows


def plain(value: Any) -> Any:
    """A value as the bare driver takes it (what the pipeline's column types do for it)."""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return value


def stored_rows(engine: Engine) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row the pipeline wrote, table by table in dependency order."""
    out = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = [tuple(row) for row in connection.execute(select(table))]
            if rows:
                out[table.name] = ([column.name for column in table.columns], rows)
    return out


def sqlite_floor(source_url: str, target: Path) -> float:
    engine = make_engine(source_url)
    rows = {
        name: (columns, [tuple(plain(v) for v in row) for row in values])
        for name, (columns, values) in stored_rows(engine).items()
    }
    engine.dispose()
    migrate(f"sqlite:///{target}")
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for name, (columns, values) in rows.items():
        placeholders = ",".join("?" for _ in columns)
        connection.executemany(
            f"INSERT INTO {name} ({','.join(columns)}) VALUES ({placeholders})", values
        )
    connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def postgres_floor(source_url: str, target_url: str) -> float:
    import psycopg

    engine = make_engine(source_url)
    rows = {
        name: (
            columns,
            [tuple(plain(v) if isinstance(v, dict | list) else v for v in row) for row in values],
        )
        for name, (columns, values) in stored_rows(engine).items()
    }
    engine.dispose()
    migrate(target_url)
    with psycopg.connect(
        target_url.replace("postgresql+psycopg://", "postgresql://")
    ) as connection:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for name, (columns, values) in rows.items():
                with cursor.copy(f"COPY {name} ({','.join(columns)}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(
                            tuple(
                                orjson.dumps(v).decode() if isinstance(v, dict) else v for v in row
                            )
                        )
        connection.commit()
        return time.perf_counter() - started


def result(
    name: str, rows: int, seconds: float, floor_seconds: float, target: str, notes: str
) -> dict[str, Any]:
    value, floor = rows / seconds, rows / floor_seconds
    return {
        "name": name,
        "value": round(value),
        "unit": "records/s",
        "floor": round(floor),
        "ratio": round(value / floor, 3),
        "target": target,
        "notes": notes,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    rows = 20_000 if quick else 1_000_000
    path = data_file(rows)
    results = []
    sqlite_db = WORK / "ingest.db"
    for leftover in WORK.glob("ingest.db*"):
        leftover.unlink()
    seconds, count = pipeline(f"sqlite:///{sqlite_db}", path)
    floor_db = WORK / "floor.db"
    for leftover in WORK.glob("floor.db*"):
        leftover.unlink()
    floor = sqlite_floor(f"sqlite:///{sqlite_db}", floor_db)
    notes = (
        f"{count:,} rows, full validation, ledger included; floor: executemany of the stored rows"
    )
    results.append(
        result(
            "ingest.sqlite", count, seconds, floor, ">= 100,000 records/s and ratio >= 0.3", notes
        )
    )
    with postgres_server() as admin:
        ours = create_database(admin, "ingest")
        seconds, count = pipeline(ours, path)
        floor = postgres_floor(ours, create_database(admin, "floor"))
    notes = f"{count:,} rows, full validation, ledger included; floor: COPY of the stored rows"
    results.append(result("ingest.postgres", count, seconds, floor, "ratio >= 0.3", notes))
    return results
