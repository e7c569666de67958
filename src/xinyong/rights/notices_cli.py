"""``xinyong rights notify`` and ``xinyong rights contact``: deliver the outbox, set addresses."""

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from sqlalchemy import func, select

from xinyong.config import Settings
from xinyong.identifiers.normalise import normalise
from xinyong.records.models import Subject
from xinyong.rights.notices import PENDING, deliver_due, set_contact
from xinyong.rights.notices_models import NoticeRow
from xinyong.rights.transports import get_transport
from xinyong.store.runtime import open_store

JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def notify_command(
    transport: Annotated[
        str | None,
        typer.Option(help="transport to use (smtp, file); default XINYONG_NOTICE_TRANSPORT"),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Send every notice that is due; failures wait for a retry with backoff."""
    settings = Settings()
    try:
        chosen = get_transport(settings, transport)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    factory = open_store()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description} {task.completed}"), transient=True
    ) as bar:
        task = bar.add_task("notices handled", total=None)
        summary = deliver_due(factory, chosen, progress=lambda n: bar.advance(task, n))
    with factory() as session:
        waiting = session.scalar(
            select(func.count()).select_from(NoticeRow).where(NoticeRow.status == PENDING)
        )
    result = {**summary.to_dict(), "waiting": waiting or 0}
    if json_output:
        typer.echo(orjson.dumps(result).decode())
        return
    Console().print(
        f"sent {summary.sent}, failed {summary.failed} (will retry), "
        f"no address {summary.no_address}; {result['waiting']} pending in the outbox"
    )


def contact_command(
    identifier: Annotated[str, typer.Argument(help="resident identity number or USCC")],
    email: Annotated[str, typer.Argument(help="e-mail address for the subject's notices")],
) -> None:
    """Set where a subject's notices go; notices held for want of an address are released."""
    if "@" not in email.strip("@"):
        typer.echo(f"not an e-mail address: {email}", err=True)
        raise typer.Exit(2)
    factory = open_store()
    with factory.begin() as session:
        subject_id = session.scalar(
            select(Subject.id).where(Subject.identifier == normalise(identifier))
        )
        if subject_id is None:
            typer.echo(f"no subject {identifier} in the store", err=True)
            raise typer.Exit(1)
        released = set_contact(session, subject_id, email)
    typer.echo(
        f"notices for {normalise(identifier)} go to {email}; {released} held notices released"
    )
