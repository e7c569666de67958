"""ingest.sqlite, ingest.postgres and ingest.xlsx: records through the full pipeline, beside floors.

The pipeline reads a JSON Lines file, validates every row against the catalogue, resolves
subjects and documents, writes records, events, the ledger and the quarantine in batches. Two
floors are measured in the same run:

- the stored floor writes exactly the rows the pipeline wrote, into the same tables of a fresh
  store, with no validation: ``executemany`` on SQLite, ``COPY`` on PostgreSQL;
- the physical floor writes one row per record (its document key, subject and content) into
  one table with a unique and a plain index, with the bare driver: what any design must pay.

``ingest.xlsx`` reads a workbook of administrative penalties in the double-publicity layout
through the national profile; its floor is python-calamine reading the same workbook.
``ingest.sqlite.10m`` ingests 10^7 records in a child process and reports its peak memory
beside that of a 10^6 run (flat memory: about the same).
"""

import itertools
import resource
import sqlite3
import subprocess
import sys
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


def pipeline(url: str, path: Path, profile: str | None = None) -> tuple[float, int]:
    migrate(url)
    engine = make_engine(url)
    job = IngestJob(
        make_sessionmaker(engine),
        load_shipped("national"),
        today=AS_OF,
        batch_size=5000,
        profile=profile,
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


PENALTY_COLUMNS = (
    "行政相对人名称",
    "行政相对人代码_1(统一社会信用代码)",
    "行政处罚决定书文号",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "罚款金额（万元）",
    "处罚决定日期",
    "公示截止期",
    "处罚机关",
)


def workbook_file(rows: int) -> Path:
    """A workbook of ``rows`` penalties in the double-publicity layout, under a title row."""
    import xlsxwriter

    from xinyong.testing import samples

    path = WORK / f"penalties-{rows}.xlsx"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("行政处罚")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.merge_range(0, 0, 0, len(PENALTY_COLUMNS) - 1, "行政处罚信息（双公示）")
    sheet.write_row(1, 0, PENALTY_COLUMNS)
    kinds = ("警告", "罚款", "没收违法所得", "责令停产停业")
    for index in range(rows):
        line = index + 2
        decided = date(2021 + index % 5, 1 + index % 12, 1 + index % 28)
        sheet.write_row(
            line,
            0,
            (
                f"北京示例{index % 50_000}有限公司",
                samples.organisation(index % 50_000),
                f"京朝市监罚〔{decided.year}〕{index}号",
                "销售不合格产品",
                "《中华人民共和国产品质量法》第五十条",
                kinds[index % 4],
                f"{index % 97 / 10:.1f}",
            ),
        )
        sheet.write_datetime(line, 7, decided, day)
        sheet.write_string(line, 8, decided.replace(year=decided.year + 1).isoformat())
        sheet.write_string(line, 9, "北京市朝阳区市场监督管理局")
    book.close()
    return path


def calamine_seconds(path: Path) -> float:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return time.perf_counter() - started


def peak_memory(rows: int) -> tuple[float, int, float]:
    """Seconds, rows and peak resident megabytes of a SQLite ingest of ``rows`` records, run
    in a child process so that nothing else counts toward its peak."""
    path = data_file(rows)
    target = WORK / f"peak-{rows}.db"
    for leftover in WORK.glob(f"peak-{rows}.db*"):
        leftover.unlink()
    output = subprocess.run(
        [sys.executable, __file__, "--peak", f"sqlite:///{target}", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(output[0]), int(output[1]), float(output[2])


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
    if not quick:
        results.append(flat_memory(1_000_000, 10_000_000))
    return results


def workbook(rows: int) -> dict[str, Any]:
    path = workbook_file(rows)
    target = WORK / "xlsx.db"
    for leftover in WORK.glob("xlsx.db*"):
        leftover.unlink()
    seconds, count = pipeline(f"sqlite:///{target}", path, profile="double_publicity.penalty")
    floor = calamine_seconds(path)
    notes = (
        f"{count:,} penalties in one sheet through the double_publicity.penalty profile into "
        "SQLite, validation and ledger included; floor: python-calamine reading the workbook"
    )
    return result("ingest.xlsx", count, seconds, floor, ">= 50,000 records/s", notes)


def flat_memory(small: int, large: int) -> dict[str, Any]:
    _, _, small_peak = peak_memory(small)
    seconds, count, large_peak = peak_memory(large)
    return {
        "name": "ingest.sqlite.10m",
        "value": round(count / seconds),
        "unit": "records/s",
        "floor": None,
        "ratio": None,
        "target": "peak memory flat (10^7 about as 10^6)",
        "notes": f"{count:,} rows end to end into SQLite; peak RSS {large_peak:,.0f} MB "
        f"({small:,} rows: {small_peak:,.0f} MB)",
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
    # The child of ``peak_memory``: seconds, rows and peak resident megabytes (Linux: KiB),
    # with the listeners the service runs with, as ``run.py`` connects them.
    from xinyong.assembly import assemble

    assemble()
    took, done = pipeline(sys.argv[2], Path(sys.argv[3]))
    print(took, done, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
