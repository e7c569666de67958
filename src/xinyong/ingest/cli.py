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
from xinyong.ingest.pool import ValidationFailed
from xinyong.ingest.readers import UnreadableFile
from xinyong.ingest.service import IngestJob, IngestSummary, UnknownProfile, scan_file
from xinyong.ingest.sheets import WORKBOOKS
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
    profile: str | None = None,
    sheet: str | None = None,
    workers: int | None = None,
) -> list[IngestSummary]:
    """Ingest ``files`` in order; shared by the command and by ``xinyong demo``."""
    settings = get_settings()
    factory = open_store(settings)
    pack = pack_in_force()
    job = IngestJob(
        factory,
        pack,
        today=today,
        authority=authority,
        batch_size=settings.ingest_batch_size,
        profile=profile,
        workers=workers,
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
            # A workbook's lines are not its rows (it is compressed XML).
            rows = None if path.suffix.lower() in WORKBOOKS else lines or None
            task = progress.add_task(path.name, total=rows)
            summary = job.run_file(
                path,
                digest=digest,
                report_dir=settings.var_dir / "reports",
                progress=partial(progress.advance, task),
                skip_complete=skip_complete,
                encoding=encoding,
                sheet=sheet,
            )
            progress.update(task, completed=summary.rows if rows is None else lines)
            summaries.append(summary)
    sign_checkpoint_if_keyed(factory, settings.ledger_key_path)
    return summaries


def ingest_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSON Lines, JSON array, CSV or Parquet files; with --profile, CSV or workbooks"
        ),
    ],
    authority: Annotated[
        str | None, typer.Option("--authority", help="refuse rows that name another authority")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="the text encoding of CSV and JSON files: utf-8 (default), gb18030, gbk, "
            "or auto (detected when it can be told with confidence)",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="read an external layout through the pack's import profile "
            "(e.g. double_publicity.penalty)",
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", help="with --profile: read only this sheet of a workbook"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            help="processes that validate rows while this one writes them; 0 validates here "
            "(default: one per spare core, none for a file under 32 MiB)",
            show_default=False,
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
        summaries = ingest_files(
            files,
            authority=authority,
            quiet=json_output,
            encoding=encoding,
            profile=profile,
            sheet=sheet,
            workers=workers,
        )
    except (UnreadableFile, UnknownProfile) as error:
        console.print(f"[red]refused:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    except ValidationFailed as error:
        console.print(f"[red]stopped:[/red] {escape(str(error))}")
        raise typer.Exit(1) from None
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
        if s.encoding is not None:
            console.print(f"{name}: read as {s.encoding}")
        if s.resumed_after:
            console.print(f"{name}: resumed after row {s.resumed_after:,}")
        if s.rejection_report:
            console.print(f"{name}: rejected rows in {escape(s.rejection_report)}")
