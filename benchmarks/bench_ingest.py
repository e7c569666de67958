"""ingest.sqlite, ingest.postgres and ingest.xlsx: records through the full pipeline, beside floors.

The pipeline reads a JSON Lines file, validates every row against the catalogue, resolves
subjects and documents, writes records, events, the ledger and the quarantine in batches. Two
floors are measured in the same run:

- the stored floor writes exactly the rows the pipeline wrote, into the same tables of a fresh
  store, with no validation: ``executemany`` on SQLite, ``COPY`` on PostgreSQL;
- the physical floor writes one row per record (its document key, subject and content) into
  one table with a unique and a plain index, with the bare driver: what any design must pay.

``ingest.xlsx`` reads a workbook of administrative penalties in the double-publicity layout
(written once by the synth layout writer and kept under ``var/bench``) through the national
profile; its floor is python-calamine reading the same workbook. ``ingest.sqlite.10m`` ingests
10^7 records in a child process whose resident memory is sampled during the run: flat memory
is each quarter of the run peaking where the first did. The environment variable
``XINYONG_BENCH_INGEST_LARGE`` sets its size (default 10^7 in a full run, skipped in a quick
one; 0 skips it).
"""

import itertools
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
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
from xinyong.synth.double_publicity import PROFILES, DoublePublicityFiles, layout_file_names
from xinyong.synth.records import CityRecords
from xinyong.testing.postgres import create_database, postgres_server

AS_OF = date(2026, 11, 1)
WORK = Path("var/bench")
PENALTY = "admin.penalty"
LARGE = "XINYONG_BENCH_INGEST_LARGE"
"""Records of the flat-memory run (default 10^7 in a full run, none in a quick one; 0: none)."""
SAMPLE_SECONDS = 0.5  # how often the flat-memory run's resident memory is read


def data_file(rows: int) -> Path:
    path = WORK / f"ingest-{rows}.jsonl"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        persons = max(rows * 13 // 10, 1000)  # the city yields about 0.85 rows a person
        with path.open("wb") as out:
            for record in itertools.islice(iter_records(persons, persons // 10, 7, AS_OF), rows):
                out.write(orjson.dumps(record) + b"\n")
    return path


def pipeline(
    url: str,
    path: Path,
    profile: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[float, int]:
    migrate(url)
    engine = make_engine(url)
    job = IngestJob(
        make_sessionmaker(engine),
        load_shipped("national"),
        today=AS_OF,
        profile=profile,
    )
    digest, _ = scan_file(path)
    started = time.perf_counter()
    summary = job.run_file(path, digest=digest, report_dir=WORK / "reports", progress=progress)
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


PHYSICAL_TABLE = (
    "CREATE TABLE physical (id INTEGER PRIMARY KEY, document_key TEXT NOT NULL UNIQUE, "
    "subject TEXT NOT NULL, content TEXT NOT NULL)"
)


def physical_rows(path: Path) -> list[tuple[int, str, str, str]]:
    """One row per record of the file: what storing a record costs at the very least."""
    rows = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            record = orjson.loads(line)
            key = (
                f"{record.get('authority')}|{record.get('record_type')}|{record.get('document_no')}"
            )
            rows.append((number, f"{key}|{number}", str(record.get("subject_id")), line.decode()))
    return rows


def physical_sqlite(path: Path, target: Path) -> float:
    rows = physical_rows(path)
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(PHYSICAL_TABLE)
    connection.execute("CREATE INDEX physical_subject ON physical (subject)")
    started = time.perf_counter()
    connection.executemany("INSERT INTO physical VALUES (?, ?, ?, ?)", rows)
    connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def physical_postgres(path: Path, target_url: str) -> float:
    import psycopg

    rows = physical_rows(path)
    with psycopg.connect(
        target_url.replace("postgresql+psycopg://", "postgresql://")
    ) as connection:
        connection.execute(PHYSICAL_TABLE.replace("INTEGER", "BIGINT"))
        connection.execute("CREATE INDEX physical_subject ON physical (subject)")
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy("COPY physical FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


def workbook_file(rows: int) -> Path:
    """A workbook of ``rows`` penalties in the double-publicity layout, written once by the
    synth layout writer (``synth --layout double-publicity``) and kept under ``WORK``.

    The writer sends every other penalty to the workbook (the rest to a GBK CSV), as a city's
    offices do; a synthetic city yields about one penalty per 70 rows, so the city's own
    penalties are cycled, each round with its own document numbers, until the workbook holds
    ``rows``.
    """
    folder = WORK / f"layout-{rows}"
    path = folder / layout_file_names(PENALTY)[0]
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    pack = load_shipped("national")
    city = CityRecords(pack, 20_000, 2_000, 7, AS_OF)
    penalties = [
        row.record
        for row in city.rows()
        if row.defect is None and row.record.get("record_type") == PENALTY
    ]
    files = DoublePublicityFiles(folder, pack)
    try:
        for number, record in enumerate(itertools.cycle(penalties)):
            if files.rows.get(PENALTY, 0) >= 2 * rows:
                break
            if not files.takes(record):
                continue
            round_no = number // len(penalties)
            files.write({**record, "document_no": f"{record['document_no']}-{round_no}"})
    finally:
        files.close()
    return path


def calamine_seconds(path: Path) -> float:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return time.perf_counter() - started


def resident_megabytes(pid: int) -> float | None:
    """The resident memory of process ``pid`` now (Linux), or None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def peak_memory(rows: int) -> tuple[float, int, list[float], list[float]]:
    """Seconds, rows and the resident megabytes of a SQLite ingest of ``rows`` records read
    every ``SAMPLE_SECONDS``, run in a child process so that nothing else counts, and the
    records/s of each tenth of the run (flat when a batch costs the same in a larger store)."""
    path = data_file(rows)
    target = WORK / f"peak-{rows}.db"
    for leftover in WORK.glob(f"peak-{rows}.db*"):
        leftover.unlink()
    child = subprocess.Popen(
        [sys.executable, __file__, "--peak", f"sqlite:///{target}", str(path), str(rows)],
        stdout=subprocess.PIPE,
        text=True,
    )
    samples: list[float] = []
    while child.poll() is None:
        sample = resident_megabytes(child.pid)
        if sample is not None:
            samples.append(sample)
        time.sleep(SAMPLE_SECONDS)
    output, _ = child.communicate()
    if child.returncode:
        raise RuntimeError(f"the {rows:,}-record ingest failed (exit {child.returncode})")
    *tenths, last = output.splitlines()
    seconds, count = last.split()
    return float(seconds), int(count), samples, [float(rate) for rate in tenths]


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
    results = measure(rows)
    results.append(workbook(rows))
    large = int(os.environ.get(LARGE, "0" if quick else "10000000"))
    if large:
        results.append(flat_memory(large))
    return results


def workbook(rows: int) -> dict[str, Any]:
    path = workbook_file(rows)
    target = WORK / "xlsx.db"
    for leftover in WORK.glob("xlsx.db*"):
        leftover.unlink()
    seconds, count = pipeline(f"sqlite:///{target}", path, profile=PROFILES[PENALTY])
    floor = calamine_seconds(path)
    notes = (
        f"{count:,} penalties in one sheet (written by synth --layout double-publicity) "
        f"through the {PROFILES[PENALTY]} profile into SQLite, validation and ledger "
        "included; floor: python-calamine reading the workbook"
    )
    return result("ingest.xlsx", count, seconds, floor, ">= 50,000 records/s", notes)


def flat_memory(rows: int) -> dict[str, Any]:
    seconds, count, samples, tenths = peak_memory(rows)
    # The job's first tenth holds the imports, the pack and the first batches; past it, flat
    # memory means each later quarter peaks where the first did.
    steady = samples[len(samples) // 10 :] or samples
    quarter = max(len(steady) // 4, 1)
    peaks = [max(steady[start : start + quarter]) for start in range(0, len(steady), quarter)]
    return {
        "name": f"ingest.sqlite.{rows // 1_000_000}m" if rows >= 1_000_000 else "ingest.sqlite.rss",
        "value": round(count / seconds),
        "unit": "records/s",
        "floor": None,
        "ratio": None,
        "target": "peak memory flat",
        "notes": f"{count:,} rows end to end into SQLite; peak RSS {max(samples):,.0f} MB, "
        f"sampled every {SAMPLE_SECONDS} s in a child process; peak of each quarter after the "
        f"first tenth: {', '.join(f'{peak:,.0f}' for peak in peaks[:4])} MB; records/s of "
        f"each tenth of the run: {', '.join(f'{rate:,.0f}' for rate in tenths)} "
        f"({LARGE} sets the size, 0 skips)",
    }


def measure(rows: int) -> list[dict[str, Any]]:
    """ingest.sqlite and ingest.postgres on ``rows`` records, beside both floors."""
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
    for leftover in WORK.glob("physical.db*"):
        leftover.unlink()
    physical = physical_sqlite(path, WORK / "physical.db")
    results.append(
        result(
            "ingest.sqlite",
            count,
            seconds,
            floor,
            ">= 50,000 records/s",
            f"{count:,} rows, full validation, ledger included; floor: executemany of the "
            f"stored rows; physical floor (one indexed row per record): "
            f"{count / physical:,.0f} records/s, ratio {physical / seconds:.3f}",
        )
    )
    with postgres_server() as admin:
        ours = create_database(admin, "ingest")
        seconds, count = pipeline(ours, path)
        floor = postgres_floor(ours, create_database(admin, "floor"))
        physical = physical_postgres(path, create_database(admin, "physical"))
    results.append(
        result(
            "ingest.postgres",
            count,
            seconds,
            floor,
            ">= 50,000 records/s",
            f"{count:,} rows, full validation, ledger included; floor: COPY of the stored "
            f"rows; physical floor (one indexed row per record): "
            f"{count / physical:,.0f} records/s, ratio {physical / seconds:.3f}",
        )
    )
    return results


if __name__ == "__main__" and sys.argv[1:2] == ["--peak"]:
    # The child of ``peak_memory``: seconds and rows, with the listeners the service runs
    # with, as ``run.py`` connects them.
    from xinyong.assembly import assemble

    assemble()
    source = Path(sys.argv[3])
    tenth = max(int(sys.argv[4]) // 10, 1)
    mark: list[float] = []  # rows since the mark, and when it was set

    def tell_rate(rows: int) -> None:
        # The clock starts at the first batch stored, so that reading the file's digest and
        # migrating the schema count in no tenth; the parent reads one rate per line.
        if not mark:
            mark[:] = [0, time.perf_counter()]
            return
        mark[0] += rows
        if mark[0] >= tenth:
            now = time.perf_counter()
            print(mark[0] / (now - mark[1]), flush=True)
            mark[:] = [0, now]

    took, done = pipeline(sys.argv[2], source, progress=tell_rate)
    print(took, done)
