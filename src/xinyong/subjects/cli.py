"""``xinyong subject ID``: a subject's file as the store holds it."""

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.clock import china_today
from xinyong.config import get_settings
from xinyong.policy import pack_in_force
from xinyong.records.lookup import UnknownSubject
from xinyong.store.runtime import open_store
from xinyong.subjects.proofs import attach_proofs
from xinyong.subjects.report import credit_report, render_html, render_pdf
from xinyong.subjects.service import subject_file, whole_file
from xinyong.subjects.verification import issue, report_key


def subject_command(
    identifier: Annotated[str, typer.Argument(help="resident identity number or USCC")],
    json_output: Annotated[bool, typer.Option("--json", help="print the file as JSON")] = False,
    as_subject: Annotated[
        bool,
        typer.Option(
            "--as-subject",
            help="the whole file as the subject sees it: entries, today's decisions, who looked",
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="write the subject's credit report (.pdf or .html)"),
    ] = None,
) -> None:
    """Show a subject's identity, flags, representation history and records with their history
    (with --json, each event's inclusion bundle, opened in full)."""
    if report is not None and report.suffix.lower() not in (".pdf", ".html"):
        raise typer.BadParameter("the report is a .pdf or an .html file", param_hint="--report")
    pack = pack_in_force()
    factory = open_store()
    whole = as_subject or report is not None
    with factory() as session:
        try:
            file = (
                whole_file(session, identifier, pack, china_today())
                if whole
                else subject_file(session, identifier, pack)
            )
        except UnknownSubject as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
        if json_output:
            settings = get_settings()
            attach_proofs(session, file, settings.ledger_key_path, settings.checkpoint_interval)
    if report is not None:
        settings = get_settings()
        verify_at = (settings.public_url or "http://127.0.0.1:8000").rstrip("/") + "/verify"
        content = credit_report(file, pack, settings.report_issuer, verify_at)
        code = issue(content, report_key(settings.report_key_path))
        if report.suffix.lower() == ".pdf":
            report.write_bytes(render_pdf(content, code))
        else:
            report.write_text(render_html(content, code), encoding="utf-8")
        typer.echo(f"credit report of {file['subject']['identifier']} written to {report}")
        if not as_subject:
            return
    if json_output:
        typer.echo(orjson.dumps(file, option=orjson.OPT_INDENT_2).decode())
        return
    _print(file)
    if whole:
        _print_rights(file)


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


def _print_rights(file: dict[str, Any]) -> None:
    """The parts of the whole file beyond the records: entries, decisions, accesses."""
    console = Console()
    console.print(f"as of {file['as_of']}")
    entries = Table(title=f"list entries ({len(file['entries'])})")
    for column in ("list", "state", "from", "until", "grounds"):
        entries.add_column(column)
    for entry in file["entries"]:
        entries.add_row(
            entry["list"],
            entry["state"] + (f" ({entry['end_reason']})" if entry["end_reason"] else ""),
            entry["started_on"],
            entry["ended_on"],
            f"{entry['grounds']['authority']} {entry['grounds']['document_no']}",
        )
    console.print(entries)
    decisions = Table(title="what a check would decide today")
    for column in ("action", "effect", "measures", "valid until"):
        decisions.add_column(column)
    for decision in file["decisions"]:
        decisions.add_row(
            decision["action"],
            decision["effect"],
            ", ".join(measure["code"] for measure in decision["measures"]),
            decision["valid_until"],
        )
    console.print(decisions)
    accesses = Table(title=f"who looked at non-public data ({len(file['accesses'])})")
    for column in ("when", "who", "role", "purpose", "what"):
        accesses.add_column(column)
    for access in file["accesses"]:
        accesses.add_row(
            access["at"], access["who"], access["role"], access["purpose"], access["what"]
        )
    console.print(accesses)
