"""``xinyong synth``: write a synthetic city's submission files, one per authority."""

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.synth.city import (
    DEFAULT_AS_OF,
    DEFAULT_ORGANISATIONS,
    DEFAULT_PERSONS,
    DEFAULT_SEED,
    SynthSummary,
    generate,
)
from xinyong.synth.double_publicity import LAYOUT

__all__ = ["synth_command"]


class Layout(StrEnum):
    DOUBLE_PUBLICITY = LAYOUT


class FileFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


def synth_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the submission files and manifest.json.")
    ],
    persons: Annotated[int, typer.Option(min=0, help="People in the city.")] = DEFAULT_PERSONS,
    orgs: Annotated[
        int, typer.Option(min=0, help="Organisations in the city.")
    ] = DEFAULT_ORGANISATIONS,
    seed: Annotated[
        int, typer.Option(min=0, help="The same seed gives byte-identical files.")
    ] = DEFAULT_SEED,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="Format of the submission files.")
    ] = FileFormat.JSONL,
    as_of: Annotated[
        datetime,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            show_default=DEFAULT_AS_OF.isoformat(),
            help="The city's today: every decision is on or before it.",
        ),
    ] = datetime(DEFAULT_AS_OF.year, DEFAULT_AS_OF.month, DEFAULT_AS_OF.day),
    layout: Annotated[
        Layout | None,
        typer.Option(
            "--layout",
            help="Write licences and penalties in this external layout (XLSX and GBK CSV), "
            "the other records as usual.",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary for machines instead of tables.")
    ] = False,
) -> None:
    """Generate a synthetic city: per-authority submission files and a manifest.

    People and organisations of a Beijing-like city, with valid identity numbers, legal
    representatives who change, and the records its courts, regulators, banks and other
    authorities decide, about 1% of rows deliberately malformed for the quarantine.
    """
    progress_console = Console(stderr=True)
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("subjects"),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
    ) as progress:
        task = progress.add_task("generating", total=persons + orgs)
        summary = generate(
            out,
            persons=persons,
            orgs=orgs,
            seed=seed,
            fmt=file_format.value,
            as_of=as_of.date(),
            layout=layout.value if layout else None,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if json_output:
        typer.echo(orjson.dumps(summary.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_summary(Console(), summary)


def _print_summary(console: Console, summary: SynthSummary) -> None:
    table = Table(
        title=f"{summary.rows:,} rows in {len(summary.files)} files under {summary.out_dir}"
    )
    table.add_column("file (ingest order)")
    table.add_column("rows", justify="right")
    table.add_column("malformed", justify="right")
    for stats in summary.files:
        table.add_row(stats.file, f"{stats.rows:,}", f"{sum(stats.malformed.values()):,}")
    console.print(table)
    planted = Table(title="malformed rows planted, by kind")
    planted.add_column("kind")
    planted.add_column("rows", justify="right")
    for kind, count in summary.malformed.items():
        planted.add_row(kind, f"{count:,}")
    console.print(planted)
    ops = ", ".join(f"{count:,} {op}" for op, count in summary.ops.items())
    console.print(
        f"{summary.persons:,} persons, {summary.organisations:,} organisations, "
        f"seed {summary.seed}, as of {summary.as_of}: {ops}"
    )
    if summary.layout_files:
        console.print(
            f"{summary.layout_rows:,} licences and penalties in the double-publicity layout: "
            f"{', '.join(summary.layout_files)} (ingest with --profile, after the other files)"
        )
    console.print(
        f"done in {summary.elapsed_seconds:,.1f} s ({summary.rows_per_second:,.0f} rows/s); "
        f"manifest: {summary.out_dir / 'manifest.json'}"
    )
