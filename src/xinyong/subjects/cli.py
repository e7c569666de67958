"""``xinyong subject ID``: a subject's file as the store holds it."""

from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.policy import load_shipped
from xinyong.store.runtime import open_store
from xinyong.subjects.service import UnknownSubject, subject_file


def subject_command(
    identifier: Annotated[str, typer.Argument(help="resident identity number or USCC")],
    json_output: Annotated[bool, typer.Option("--json", help="print the file as JSON")] = False,
) -> None:
    """Show a subject's identity, flags, representation history and records with their history."""
    factory = open_store()
    with factory() as session:
        try:
            file = subject_file(session, identifier, load_shipped("national"))
        except UnknownSubject as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
    if json_output:
        typer.echo(orjson.dumps(file, option=orjson.OPT_INDENT_2).decode())
        return
    _print(file)


def _print(file: dict[str, Any]) -> None:
    console = Console()
    subject = file["subject"]
    flags = [name for name, on in subject["flags"].items() if on]
    console.print(f"[bold]{subject['name']}[/bold]  {subject['identifier']}  ({subject['kind']})")
    console.print(f"region {subject['region'] or '-'}  flags: {', '.join(flags) or 'none'}")
    if file["representation"]:
        reps = Table(title="legal representation")
        for column in ("role", "identifier", "name", "from", "to"):
            reps.add_column(column)
        for period in file["representation"]:
            reps.add_row(
                period["role"],
                period["identifier"],
                period["name"],
                period["started_on"],
                period["ended_on"] or "",
            )
        console.print(reps)
    records = Table(title=f"records ({len(file['records'])})")
    for column in (
        "decided",
        "type",
        "authority",
        "document",
        "severity",
        "amount",
        "status",
        "v",
        "events",
    ):
        records.add_column(column)
    for record in file["records"]:
        current = record["versions"][-1]
        events = ", ".join(e["kind"] for v in record["versions"] for e in v["events"])
        records.add_row(
            current["decided_on"],
            record["record_type"],
            record["authority"],
            record["document_no"],
            current["severity"],
            current["amount"] or "",
            record["status"],
            str(record["current_version"]),
            events,
        )
    console.print(records)
