"""``xinyong evaluate``: recompute entries, the measures index and scores on an engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from xinyong.config import get_settings
from xinyong.evaluate.service import REFERENCE, evaluate_store, evaluation_result
from xinyong.options import AsOf, JsonOutput, as_of_day
from xinyong.policy import Pack, PolicyError, pack_in_force
from xinyong.reports.cli import OutDir, WhatIfPack, run_what_if
from xinyong.scoring.packs import resolve_packs
from xinyong.search.publish import refresh_search_index
from xinyong.store.runtime import open_store


class EngineName(StrEnum):
    REFERENCE = REFERENCE
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
    day = as_of_day(as_of)
    if what_if is not None:
        run_what_if(what_if, day, packs or [], out=out, json_output=json_output)
        return
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

        summary = evaluate_store(
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
    result = evaluation_result(
        factory,
        pack,
        day,
        summary,
        skipped=skipped,
        search_subjects=search.subjects,
        seconds=time.perf_counter() - started,
    )
    if json_output:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        _print(pack, result)


def _print(pack: Pack, result: dict[str, Any]) -> None:
    console = Console()
    active = result["active_entries"]
    table = Table(title=f"active entries on {result['as_of']}")
    table.add_column("list")
    table.add_column("kind")
    table.add_column("entries", justify="right")
    for code, credit_list in pack.lists.items():
        table.add_row(code, credit_list.kind.value, str(active[code]))
    console.print(table)
    for scheme, counts in result["grades"].items():
        console.print(f"{scheme}: " + ", ".join(f"{grade} {n}" for grade, n in counts.items()))
    for reason in result["schemes_skipped"]:
        console.print(f"[yellow]skipped[/] {reason}")
    phases = ", ".join(f"{name} {seconds} s" for name, seconds in result["phases"].items())
    console.print(
        f"{result['subjects']} subjects, {result['records_read']} records evaluated on "
        f"{result['engine']} in {result['seconds']} s ({phases}): "
        f"{result['entries_started']} entries started, {result['entries_changed']} changed, "
        f"{result['entries_ended']} ended; {result['index_rows_written']} index rows written "
        f"({result['index_rows']} in all); {result['scores']} scores published as evaluation "
        f"{result['evaluation']}; search index: {result['search_index_subjects']} subjects; "
        f"policy {result['policy_version']}"
    )
