"""``xinyong evaluate``: recompute entries, the measures index and scores on an engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import get_settings
from xinyong.enforcement.models import EntryRow, MeasureIndexRow
from xinyong.enforcement.refresh import rebuild_all
from xinyong.evaluate.batch import BatchSummary, evaluate_batch
from xinyong.options import AsOf, JsonOutput, as_of_day
from xinyong.policy import Pack, PolicyError, pack_in_force
from xinyong.records.models import RecordHead, Subject
from xinyong.reports.cli import OutDir, WhatIfPack, run_what_if
from xinyong.scoring.evaluation import evaluate_reference
from xinyong.scoring.packs import resolve_packs
from xinyong.scoring.store import grade_counts
from xinyong.search.publish import refresh_search_index
from xinyong.store.runtime import open_store


class EngineName(StrEnum):
    REFERENCE = "reference"
    DUCKDB = "duckdb"
    SPARK = "spark"


def evaluate_command(
    engine: Annotated[
        EngineName,
        typer.Option(
            help="reference (plain Python, one subject at a time), duckdb (embedded) or spark"
        ),
    ] = EngineName.DUCKDB,
    as_of: AsOf = None,
    packs: Annotated[
        list[str] | None,
        typer.Option(
            "--pack",
            help="a pack (shipped name or folder) whose schemes are scored; repeatable; "
            "default: national and the shipped scheme packs",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(help="Spark master URL (e.g. spark://host:7077); default local[*]"),
    ] = None,
    spark_staging: Annotated[
        Path | None,
        typer.Option(help="folder for the Parquet inputs of Spark; on a cluster, shared storage"),
    ] = None,
    json_output: JsonOutput = False,
    what_if: WhatIfPack = None,
    out: OutDir = None,
) -> None:
    """Recompute every list entry, the measures index and every score, and publish them."""
    if what_if is not None:
        day = as_of_day(as_of)
        run_what_if(what_if, day, packs or [], out=out, json_output=json_output)
        return
    day = as_of_day(as_of)
    pack = pack_in_force()
    try:
        scheme_packs, skipped = resolve_packs(packs or [])
    except (LookupError, PolicyError) as error:
        raise typer.BadParameter(str(error), param_hint="--pack") from None
    options: dict[str, Any] = {}
    if engine is EngineName.SPARK:
        options = {"master": spark_master, "staging": spark_staging}
    settings = get_settings()
    factory = open_store(settings)
    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=json_output,
    ) as progress:

        def step(description: str, total: int | None) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda done: progress.advance(task, done)

        if engine is EngineName.REFERENCE:
            summary = _reference(factory, pack, scheme_packs, day, step)
        else:
            summary = evaluate_batch(
                factory,
                settings.resolved_database_url(),
                pack,
                scheme_packs,
                day,
                engine=engine.value,
                engine_options=options,
                step=step,
            )
    search = refresh_search_index(factory, pack, settings.var_dir / "search", day)
    with factory() as session:
        active: dict[str, int] = {
            code: count
            for code, count in session.execute(
                select(EntryRow.list_code, func.count())
                .where(EntryRow.started_on <= day, EntryRow.ended_on > day)
                .group_by(EntryRow.list_code)
            )
        }
        indexed = session.scalar(select(func.count()).select_from(MeasureIndexRow)) or 0
        assert summary.evaluation_id is not None
        grades = grade_counts(session, summary.evaluation_id)
    result: dict[str, Any] = {
        "engine": engine.value,
        "as_of": day.isoformat(),
        "policy_version": pack.policy_version,
        "subjects": summary.subjects,
        "records_read": summary.records,
        "entries_started": summary.entries.started,
        "entries_changed": summary.entries.changed,
        "entries_ended": summary.entries.ended,
        "index_rows_written": summary.entries.index_rows,
        "index_rows": indexed,
        "active_entries": {code: active.get(code, 0) for code in pack.lists},
        "evaluation": summary.evaluation_id,
        "scores": summary.scores,
        "grades": grades,
        "schemes_skipped": skipped,
        "search_index_subjects": search.subjects,
        "phases": summary.seconds,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if json_output:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    table = Table(title=f"active entries on {day.isoformat()}")
    table.add_column("list")
    table.add_column("kind")
    table.add_column("entries", justify="right")
    for code, credit_list in pack.lists.items():
        table.add_row(code, credit_list.kind.value, str(active.get(code, 0)))
    console.print(table)
    for scheme, counts in grades.items():
        console.print(f"{scheme}: " + ", ".join(f"{grade} {n}" for grade, n in counts.items()))
    for reason in skipped:
        console.print(f"[yellow]skipped[/] {reason}")
    phases = ", ".join(f"{name} {seconds} s" for name, seconds in summary.seconds.items())
    console.print(
        f"{summary.subjects} subjects, {summary.records} records evaluated on {engine.value} "
        f"in {result['seconds']} s ({phases}): {summary.entries.started} entries started, "
        f"{summary.entries.changed} changed, {summary.entries.ended} ended; "
        f"{summary.entries.index_rows} index rows written ({indexed} in all); "
        f"{summary.scores} scores published as evaluation {summary.evaluation_id}; "
        f"search index: {search.subjects} subjects; policy {pack.policy_version}"
    )


def _reference(
    factory: sessionmaker[Session],
    pack: Pack,
    scheme_packs: list[Pack],
    day: date,
    step: Callable[[str, int | None], Callable[[int], None]],
) -> BatchSummary:
    """The plain-Python specification: every subject's entries, then every score."""
    summary = BatchSummary(EngineName.REFERENCE.value)
    with factory() as session:
        subjects = session.scalar(select(func.count()).select_from(Subject)) or 0
        summary.records = session.scalar(select(func.count()).select_from(RecordHead)) or 0
    clock = time.perf_counter()
    summary.entries = rebuild_all(factory, pack, progress=step("evaluating subjects", subjects))
    summary.subjects = summary.entries.subjects
    summary.seconds["entries"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    summary.evaluation_id = evaluate_reference(
        factory, scheme_packs, day, step("scoring subjects", subjects)
    )
    summary.seconds["scores"] = round(time.perf_counter() - clock, 3)
    with factory() as session:
        grades = grade_counts(session, summary.evaluation_id)
    summary.scores = sum(n for counts in grades.values() for n in counts.values())
    return summary
