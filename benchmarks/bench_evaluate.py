"""evaluate.duckdb and evaluate.spark: the batch plan scoring the 1000-point city scheme.

The records are generated straight into Parquet in the shape the plan reads (numpy and
pyarrow, 10^8 records over 10^7 persons at full size), so the figure is the evaluation
alone: every rule, window, rule and category cap, the clamp and the bands of ``city.points``,
with every contribution, written to Parquet. Beside it, in the same run on the same files:

- the floor: a bare DuckDB join of the records to a table of points by record type and a
  group-by sum per subject, written to Parquet (target: at most 2x the floor);
- the reference: the plain-Python scorer over a 10^5-record sample, scaled to the full size
  (target: the batch at least 50x faster);
- Spark in local mode on a 10^7-record slice (10^5 with ``--quick``), beside DuckDB on the
  same slice.

Each engine runs in its own process, so peak memory is that of the evaluation.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xinyong.evaluate.engines import get_engine
from xinyong.evaluate.facts import FactsSpec, facts_spec, json_text
from xinyong.evaluate.scores import Inputs, score_plan
from xinyong.policy import SubjectKind, load_shipped
from xinyong.policy.schemes import PointsScheme
from xinyong.records.facts import RecordFact, record_fact
from xinyong.scoring import score
from xinyong.scoring.facts import SubjectFacts

WORK = Path("var/bench/evaluate")
AS_OF = date(2026, 11, 1)
EPOCH = date(1970, 1, 1)
FIRST_DAY = date(2021, 1, 1)
CHUNK = 5_000_000
SAMPLE = 100_000
ROUNDS = 5
DATA_VERSION = 2
"""Part of the data folder's name: a change to the generated data makes new files."""
NATIONAL = load_shipped("national")
CITY = load_shipped("city-pilot")


def _points_scheme() -> PointsScheme:
    scheme = CITY.schemes["city.points"]
    assert isinstance(scheme, PointsScheme)
    return scheme


SCHEME = _points_scheme()


def spec() -> FactsSpec:
    return facts_spec(NATIONAL, (condition for _, condition in SCHEME.record_conditions()))


def _record_types() -> list[str]:
    """Every type the scheme reads, and as many others it does not, as in a real store."""
    read = sorted({rule.record_type for rule in SCHEME.rules})
    others = sorted(set(NATIONAL.record_types) - set(read))[: len(read)]
    return read + others


def _properties(code: str) -> set[str]:
    properties = NATIONAL.record_type(code).fields.get("properties")
    return set(properties) if isinstance(properties, dict) else set()


def _chunk(
    rng: np.random.Generator, start: int, rows: int, subjects: int, facts: FactsSpec
) -> pa.Table:
    types = _record_types()
    type_index = rng.integers(0, len(types), rows)
    severity = np.empty(rows, dtype=object)
    for number, code in enumerate(types):
        grades = [grade.value for grade in NATIONAL.record_type(code).severities]
        hits = type_index == number
        severity[hits] = np.array(grades, dtype=object)[rng.integers(0, len(grades), hits.sum())]
    decided = (FIRST_DAY - EPOCH).days + rng.integers(0, (AS_OF - FIRST_DAY).days, rows)
    effective = decided + rng.integers(0, 30, rows)
    level = np.array([json_text(v) for v in ("national", "provincial", "municipal")], dtype=object)
    columns: dict[str, Any] = {
        "subject_id": pa.array(rng.integers(1, subjects + 1, rows), pa.int64()),
        "record_id": pa.array(np.arange(start + 1, start + rows + 1), pa.int64()),
        "document_key": pc.binary_join_element_wise(
            "doc|", pc.cast(pa.array(np.arange(start + 1, start + rows + 1)), pa.string()), ""
        ),
        "record_type": pa.array(np.array(types, dtype=object)[type_index], pa.string()),
        "decided_on": pa.array(decided.astype("int32"), pa.int32()).cast(pa.date32()),
        "effective_on": pa.array(effective.astype("int32"), pa.int32()).cast(pa.date32()),
        "severity": pa.array(severity, pa.string()),
        "amount": pa.array(np.round(rng.exponential(5000, rows), 2), pa.float64()),
        "status": pa.array(
            np.where(rng.random(rows) < 0.02, "withdrawn", "active").astype(object), pa.string()
        ),
        "withdrawn_on": pa.nulls(rows, pa.date32()),
    }
    # Only the types whose fields include ``level`` (honours) have one, as the national pack's
    # schemas require; the other fields the facts read stay empty.
    leveled = [number for number, code in enumerate(types) if "level" in _properties(code)]
    has_level = np.isin(type_index, leveled)
    for name in facts.fields:
        if name == "level":
            drawn = level[rng.integers(0, len(level), rows)]
            text = np.where(has_level, drawn, np.full(rows, None, dtype=object))
            columns[facts.text(name)] = pa.array(text, pa.string())
        else:
            columns[facts.text(name)] = pa.nulls(rows, pa.string())
        columns[facts.integer(name)] = pa.nulls(rows, pa.int64())
    return pa.table(columns)


def generate(records: int, subjects: int) -> Path:
    """Records and subjects as Parquet under one folder (made once per size)."""
    folder = WORK / f"{records}-{subjects}-v{DATA_VERSION}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    facts = spec()
    rng = np.random.default_rng(7)
    writer: pq.ParquetWriter | None = None
    for start in range(0, records, CHUNK):
        table = _chunk(rng, start, min(CHUNK, records - start), subjects, facts)
        if writer is None:
            writer = pq.ParquetWriter(folder / "records.parquet", table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    ids = np.arange(1, subjects + 1)
    pq.write_table(
        pa.table(
            {
                "subject_id": pa.array(ids, pa.int64()),
                "kind": pa.array(np.full(subjects, "person", dtype=object), pa.string()),
            }
        ),
        folder / "subjects.parquet",
    )
    (folder / "done").touch()
    return folder


def _entries() -> pa.Table:
    return pa.table(
        {
            "entry_id": pa.array([], pa.int64()),
            "subject_id": pa.array([], pa.int64()),
            "list_code": pa.array([], pa.string()),
            "record_id": pa.array([], pa.int64()),
            "started_on": pa.array([], pa.date32()),
            "ended_on": pa.array([], pa.date32()),
        }
    )


def evaluate(engine: str, folder: Path, out: Path) -> float:
    """Seconds to score every subject and write scores and contributions to Parquet."""
    with get_engine(engine) as runner:
        inputs = Inputs(
            runner.table("records", folder / "records.parquet"),
            runner.table("subjects", folder / "subjects.parquet"),
            runner.table("entries", _entries()),
            spec(),
            AS_OF,
            runner,
        )
        started = time.perf_counter()
        plan = score_plan(CITY, SCHEME, inputs)
        # The contributions are kept where they are written, and the scores summed from them.
        kept = out / f"{engine}-contributions.parquet"
        runner.to_parquet(plan.contributions, kept)
        runner.to_parquet(
            plan.scores_of(runner.table("kept", kept)), out / f"{engine}-scores.parquet"
        )
        return time.perf_counter() - started


def floor(folder: Path, out: Path) -> float:
    """Seconds for the bare join + group-by sum of points per subject."""
    import duckdb

    points: dict[str, int] = {}
    for rule in SCHEME.rules:
        points.setdefault(rule.record_type, rule.points)
    connection = duckdb.connect()
    connection.register(
        "points", pa.table({"record_type": list(points), "points": list(points.values())})
    )
    started = time.perf_counter()
    connection.execute(
        f"""
        COPY (
            SELECT r.subject_id, sum(p.points) AS total
            FROM read_parquet('{folder / "records.parquet"}') r
            JOIN points p USING (record_type)
            GROUP BY r.subject_id
        ) TO '{out / "floor.parquet"}' (FORMAT parquet)
        """
    )
    return time.perf_counter() - started


def reference(folder: Path) -> tuple[float, int]:
    """Seconds for the plain-Python scorer over the first ``SAMPLE`` records, and how many."""
    table = pq.ParquetFile(folder / "records.parquet").read_row_group(0).slice(0, SAMPLE)
    facts = spec()
    by_subject: dict[int, list[RecordFact]] = defaultdict(list)
    for row in table.to_pylist():
        fields = (
            {}
            if row[facts.text("level")] is None
            else {"level": row[facts.text("level")].strip('"')}
        )
        fact = record_fact(
            CITY,
            record_id=row["record_id"],
            document_key=row["document_key"],
            document_no=row["document_key"],
            record_type=row["record_type"],
            severity=row["severity"],
            amount=row["amount"],
            fields=fields,
            decided_on=row["decided_on"],
            effective_on=row["effective_on"],
            status=row["status"],
        )
        if fact is not None:
            by_subject[row["subject_id"]].append(fact)
    started = time.perf_counter()
    for subject_id, records in by_subject.items():
        score(
            SCHEME,
            SubjectFacts(subject_id, str(subject_id), SubjectKind.PERSON, tuple(records)),
            AS_OF,
        )
    return time.perf_counter() - started, table.num_rows


def _child(task: str, folder: str, out: str, queue: Any) -> None:
    try:
        seconds = (
            floor(Path(folder), Path(out))
            if task == "floor"
            else evaluate(task, Path(folder), Path(out))
        )
    except BaseException as error:
        queue.put(error)
        raise
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, peak))


def in_process(task: str, folder: Path) -> tuple[float, float]:
    """Run ``task`` (an engine or ``floor``) in a fresh process: seconds and peak MiB."""
    out = folder / "out"
    out.mkdir(exist_ok=True)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(task, str(folder), str(out), queue))
    process.start()
    result = queue.get()
    process.join()
    if isinstance(result, BaseException):
        raise RuntimeError(f"{task} failed in its process") from result
    seconds, peak = result
    return float(seconds), float(peak)


def run(quick: bool) -> list[dict[str, Any]]:
    records, subjects = (1_000_000, 100_000) if quick else (100_000_000, 10_000_000)
    spark_records, spark_subjects = (100_000, 10_000) if quick else (10_000_000, 1_000_000)
    folder = generate(records, subjects)
    # Rounds alternate between the plan and the floor and each keeps its best, so a burst of
    # other load on the machine cannot make either figure, or the ratio, by itself. Every
    # round's times are reported beside the best, and the median of the rounds' own ratios,
    # so the spread is there to see.
    plans, floors = [], []
    for _ in range(ROUNDS):
        plans.append(in_process("duckdb", folder))
        floors.append(in_process("floor", folder))
    batch, peak = min(plans)
    bare, _ = min(floors)
    paired = statistics.median(
        floor_seconds / plan_seconds
        for (plan_seconds, _), (floor_seconds, _) in zip(plans, floors, strict=True)
    )
    rounds = (
        f"rounds: plan {', '.join(f'{seconds:.2f}' for seconds, _ in plans)} s, floor "
        f"{', '.join(f'{seconds:.2f}' for seconds, _ in floors)} s, median of the rounds' "
        f"ratios {paired:.3f}"
    )
    python, sampled = reference(folder)
    scaled = python * records / sampled
    slice_folder = generate(spark_records, spark_subjects)
    spark, spark_peak = in_process("spark", slice_folder)
    duck_slice, _ = in_process("duckdb", slice_folder)
    size = f"{records:,} records over {subjects:,} persons"
    return [
        {
            "name": "evaluate.duckdb",
            "value": round(batch, 2),
            "unit": "s",
            "floor": round(bare, 2),
            "ratio": round(bare / batch, 3),
            "target": "ratio >= 0.5 (at most 2x the floor)",
            "notes": f"city.points (17 rules, caps, category cap, clamp, bands) with every "
            f"contribution, Parquet in and out; {size}; best of {ROUNDS} rounds alternating "
            f"with the floor: bare DuckDB join + group-by sum of points per subject ({rounds}); "
            f"peak {peak:,.0f} MiB",
        },
        {
            "name": "evaluate.duckdb.vs_reference",
            "value": round(scaled / batch, 1),
            "unit": "x faster",
            "floor": None,
            "ratio": None,
            "target": "value >= 50",
            "notes": f"reference scorer (plain Python, one subject at a time) {python:.2f} s on "
            f"{sampled:,} records, scaled to {records:,}: {scaled:,.0f} s",
        },
        {
            "name": "evaluate.spark",
            "value": round(spark, 2),
            "unit": "s",
            "floor": round(duck_slice, 2),
            "ratio": round(duck_slice / spark, 3),
            "target": "for information (local mode, 2 cores)",
            "notes": f"the same plan on Spark local[*], {spark_records:,} records over "
            f"{spark_subjects:,} persons; floor: DuckDB on the same files; peak {spark_peak:,.0f} "
            "MiB (driver)",
        },
    ]
