"""``xinyong federation``: where this node's links to its neighbours stand."""

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The network of nodes: links, batches, witnesses and alarms.")


@app.command("status")
def status_command(
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every link: last batch sent and received, what waits and for how long, errors; the logs
    witnessed here; alarms (forged or conflicting batches, forks). Exit 1 if an alarm is up."""
    from xinyong.clock import utc_now
    from xinyong.config import get_settings
    from xinyong.federation.links import LinkError
    from xinyong.federation.status import network_status
    from xinyong.store.runtime import open_store

    settings = get_settings()
    if not settings.node_name:
        typer.echo("this platform is not a node of a network (XINYONG_NODE_NAME is not set)")
        raise typer.Exit(2)
    try:
        with open_store(settings).begin() as session:
            status = network_status(session, settings, utc_now())
    except LinkError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if json_output:
        typer.echo(orjson.dumps(status).decode())
    else:
        _print(status)
    if status["alarms"]:
        raise typer.Exit(1)


@app.command("resend")
def resend_command(
    link: Annotated[str, typer.Option("--link", help="the neighbour to send to again")],
    first: Annotated[
        int, typer.Option("--from", min=1, help="the first batch whose events are sent again")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Send a neighbour again every event from batch BATCH on, after a restore the relay cannot
    reconcile by itself (it says so in the link's error).

    The link's cursor goes back to where batch BATCH began; the relay then numbers the batches
    as the neighbour expects. What the neighbour holds already counts there as duplicates."""
    from xinyong.config import get_settings
    from xinyong.federation.inbox import hold_link
    from xinyong.federation.links import LinkError, link_named
    from xinyong.federation.resend import CannotResend, resend_from
    from xinyong.store.runtime import open_store

    settings = get_settings()
    try:
        known = link_named(settings, link)
    except LinkError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if known is None:
        typer.echo(f"{link} is not a neighbour of this node", err=True)
        raise typer.Exit(2)
    try:
        with open_store(settings).begin() as session:
            after = resend_from(session, hold_link(session, link), first)
    except CannotResend as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    if json_output:
        typer.echo(orjson.dumps({"link": link, "from": first, "after_position": after}).decode())
    else:
        typer.echo(
            f"{link}: events after ledger position {after} are sent again from batch {first}"
        )


def _print(status: dict[str, object]) -> None:
    console = Console()
    console.print(f"node [bold]{status['node']}[/bold] ({status['level']})", highlight=False)
    table = Table(
        "link", "sent", "waiting", "lag s", "received", "cosigned", "errors", "last error"
    )
    for link in status["links"]:  # type: ignore[attr-defined]
        table.add_row(
            f"{link['name']} ({link['direction']})",
            f"#{link['sent_number']} {link['sent_at'] or ''}",
            str(link["waiting"]),
            str(link["lag_seconds"]),
            f"#{link['received_number']} {link['received_at'] or ''}",
            str(link["cosigned_size"]),
            str(link["errors"]),
            link["error"] or "",
        )
    console.print(table)
    for log in status["witnessed"]:  # type: ignore[attr-defined]
        console.print(
            f"witnessing {log['origin']}: size {log['tree_size']} cosigned {log['cosigned_at']}",
            highlight=False,
        )
    for alarm in status["alarms"]:  # type: ignore[attr-defined]
        console.print(
            f"[bold red]ALARM[/bold red] {alarm['kind']} {alarm['source']} {alarm['at']}: "
            f"{alarm['reason']}",
            highlight=False,
        )
