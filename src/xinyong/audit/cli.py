"""``xinyong audit export``: staff reads and relying parties' checks over a period, for an auditor."""

import sys
from collections import Counter
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from xinyong.audit.export import CsvSink, accesses, count_accesses, period, write_jsonl
from xinyong.config import get_settings
from xinyong.options import parse_day
from xinyong.store.runtime import open_store

app = typer.Typer(help="The access log, for auditors.", no_args_is_help=True)


@app.command("export")
def export_command(
    first: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD, China time)")],
    last: Annotated[str, typer.Option("--to", help="last day, inclusive (YYYY-MM-DD)")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="file to write (.csv for CSV, else JSON Lines); default stdout"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Write every staff read and relying-party check of the period, oldest first."""
    try:
        start, end = period(parse_day(first, "--from"), parse_day(last, "--to"))
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    settings = get_settings()
    kinds: Counter[str] = Counter()
    with open_store(settings)() as session:
        total = count_accesses(session, start, end)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=out is None or json_output,
        ) as progress:
            task = progress.add_task("exporting accesses", total=total)
            with ExitStack() as files:
                if out is not None and out.suffix.lower() == ".csv":
                    write = CsvSink(
                        files.enter_context(out.open("w", newline="", encoding="utf-8"))
                    ).write
                else:
                    handle = files.enter_context(out.open("wb")) if out else sys.stdout.buffer
                    write = partial(write_jsonl, handle)
                for access in accesses(session, start, end):
                    write(access)
                    kinds[access["kind"]] += 1
                    progress.advance(task)
                sys.stdout.flush()
    summary: dict[str, Any] = {
        "from": first,
        "to": last,
        "staff_reads": kinds["staff_read"],
        "checks": kinds["check"],
        "out": str(out) if out else None,
        "retention_years": settings.access_log_retention_years,
    }
    if out is not None:
        if json_output:
            typer.echo(orjson.dumps(summary).decode())
            return
        typer.echo(_sentence(summary))
    else:
        # Standard output carries the export itself: the summary goes to standard error.
        typer.echo(_sentence(summary), err=True)


def _sentence(summary: dict[str, Any]) -> str:
    return (
        f"{summary['staff_reads']:,} staff reads and {summary['checks']:,} checks "
        f"from {summary['from']} to {summary['to']}"
        + (f" written to {summary['out']}" if summary["out"] else "")
        + f"; the access log is kept at least {summary['retention_years']} years"
    )
