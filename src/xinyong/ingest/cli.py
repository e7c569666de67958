"""``xinyong ingest FILE...``: stream submission files into the store with a progress bar."""

from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.config import get_settings
from xinyong.ingest.readers import UnreadableFile
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.ledger.worker import sign_checkpoint_if_keyed
from xinyong.policy import pack_in_force
from xinyong.store.runtime import open_store

console = Console(stderr=True)


def ingest_files(
    files: list[Path],
    *,
    authority: str | None = None,
    today: date | None = None,
    skip_complete: bool = False,
    quiet: bool = False,
    encoding: str | None = None,
) -> list[IngestSummary]:
    """Ingest ``files`` in order; shared by the command and by ``xinyong demo``."""
    settings = get_settings()
    factory = open_store(settings)
    pack = pack_in_force()
    job = IngestJob(
        factory, pack, today=today, authority=authority, batch_size=settings.ingest_batch_size
    )
    summaries: list[IngestSummary] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    ) as progress:
        for path in files:
            digest, lines = scan_file(path)
            task = progress.add_task(path.name, total=lines or None)
            summary = job.run_file(
                path,
                digest=digest,
                report_dir=settings.var_dir / "reports",
                progress=partial(progress.advance, task),
                skip_complete=skip_complete,
                encoding=encoding,
            )
            progress.update(task, completed=lines)
            summaries.append(summary)
    sign_checkpoint_if_keyed(factory, settings.ledger_key_path)
    return summaries


def ingest_command(
    files: Annotated[
        list[Path], typer.Argument(help="JSON Lines, JSON array, CSV or Parquet files")
    ],
    authority: Annotated[
        str | None, typer.Option("--authority", help="refuse rows that name another authority")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="the text encoding of CSV and JSON files: utf-8 (default), gb18030, gbk",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="print the summaries as JSON")
    ] = False,
) -> None:
    """Validate and store records; bad rows go to the quarantine with a reason.

    Every row read is stored (accepted, corrected, withdrawn), a duplicate or quarantined;
    the summary adds them up. A file that cannot be read at all is refused (exit status 2).
    """
    try:
        summaries = ingest_files(files, authority=authority, quiet=json_output, encoding=encoding)
    except UnreadableFile as error:
        console.print(f"[red]refused:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    if json_output:
        typer.echo(
            orjson.dumps([s.to_dict() for s in summaries], option=orjson.OPT_INDENT_2).decode()
        )
        return
    table = Table(title="ingest summary")
    for column in (
        "file",
        "rows",
        "accepted",
        "corrected",
        "withdrawn",
        "duplicates",
        "rejected",
        "rows/s",
    ):
        table.add_column(column, justify="right" if column != "file" else "left")
    for s in summaries:
        rate = f"{(s.rows - s.resumed_after) / s.seconds:,.0f}" if s.seconds else "-"
        table.add_row(
            Path(s.source).name,
            f"{s.rows:,}",
            f"{s.accepted:,}",
            f"{s.corrected:,}",
            f"{s.withdrawn:,}",
            f"{s.duplicates:,}",
            f"{s.rejected:,}",
            rate,
        )
    Console().print(table)
    for s in summaries:
        name = escape(Path(s.source).name)
        if s.skipped:
            console.print(f"{name}: already ingested, skipped")
        elif s.accounted:
            console.print(
                f"{name}: all {s.rows:,} rows accounted for: {s.stored:,} stored, "
                f"{s.duplicates:,} duplicates, {s.rejected:,} quarantined"
            )
        else:
            console.print(
                f"[red]{name}: {s.rows:,} rows read but {s.stored:,} stored, "
                f"{s.duplicates:,} duplicates and {s.rejected:,} quarantined[/red]"
            )
        if s.resumed_after:
            console.print(f"{name}: resumed after row {s.resumed_after:,}")
        if s.rejection_report:
            console.print(f"{name}: rejected rows in {escape(s.rejection_report)}")
