"""``xinyong mirror sync`` and ``xinyong mirror check``: a relying party's local mirror."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

app = typer.Typer(
    help="A relying party's mirror: keep a local copy of your feed, decide locally.",
    no_args_is_help=True,
)
Folder = Annotated[
    Path,
    typer.Option(
        "--dir", envvar="XINYONG_MIRROR_DIR", help="the mirror's folder (its store and key)"
    ),
]
DEFAULT_FOLDER = Path("xinyong-mirror")
JsonOutput = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


@app.command("sync")
def sync_command(
    url: Annotated[str, typer.Option("--url", help="the platform, e.g. https://credit.example")],
    key: Annotated[
        str,
        typer.Option(
            "--key", envvar="XINYONG_MIRROR_KEY", help="the relying party's API key (with scope)"
        ),
    ],
    every: Annotated[
        float | None,
        typer.Option("--every", min=0.1, help="keep syncing, a round every SECONDS"),
    ] = None,
    platform_key: Annotated[
        str | None,
        typer.Option(
            "--platform-key",
            help="the platform's verifier key (or a file holding it); without it the key "
            "GET /v1/ledger/key gives at the first round is pinned",
        ),
    ] = None,
    site: Annotated[
        str, typer.Option("--site", help="where this mirror runs, as the subject will read it")
    ] = "",
    folder: Folder = DEFAULT_FOLDER,
    json_output: JsonOutput = False,
) -> None:
    """Bring the mirror to the feed's latest version (deltas in order, a snapshot when
    behind), then report the checks it answered. With --every, forever.

    Exit status 1 when a single round fails (the reason is printed); with --every a failed
    round is printed and retried.
    """
    from xinyong.ledger.checkpoint import CheckpointError, read_verifier_key
    from xinyong.mirror.store import LocalStore
    from xinyong.mirror.sync import Client, Syncer, SyncError

    try:
        pinned = None if platform_key is None else read_verifier_key(platform_key)
        client = Client(url, key)
    except (CheckpointError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    store = LocalStore(folder)
    console = Console(stderr=True)
    syncer: Syncer | None = None
    while True:
        try:
            syncer = syncer or Syncer(store, client, pinned, site)
            outcome = syncer.sync()
        except (SyncError, ValueError, OSError) as error:
            if every is None:
                typer.echo(f"sync failed: {error}", err=True)
                raise typer.Exit(1) from None
            console.print(f"[red]sync failed:[/] {error}; again in {every:g} s")
        else:
            if json_output:
                typer.echo(orjson.dumps(outcome.as_dict()).decode())
            else:
                console.print(
                    f"{outcome.feed} version {outcome.version}"
                    + (" (reloaded from a snapshot)" if outcome.reloaded else "")
                    + f": {outcome.applied} version(s), {outcome.operations:,} change(s) applied; "
                    f"{outcome.reported:,} check(s) reported"
                )
        if every is None:
            return
        time.sleep(every)


@app.command("check")
def check_command(
    subject: Annotated[str, typer.Argument(help="the subject's identifier")],
    action: Annotated[str, typer.Argument(help="the action, e.g. buy_air_ticket")],
    purpose: Annotated[
        str, typer.Option("--purpose", help="what the check is for (the subject will see it)")
    ] = "checked at the counter",
    folder: Folder = DEFAULT_FOLDER,
    json_output: JsonOutput = False,
) -> None:
    """Decide locally from the mirror, and journal the check for reporting.

    Exit status 0 with an answer, 2 when the mirror cannot answer (no feed yet, an action
    outside the scope, an identifier no decision may rest on).
    """
    from xinyong.mirror import Mirror, NotSynced, Refusal

    try:
        mirror = Mirror(folder, load=False)
    except NotSynced as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    try:
        answer = mirror.check(subject, action, purpose)
    except Refusal as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    finally:
        mirror.close()
    if json_output:
        typer.echo(orjson.dumps(answer.as_dict()).decode())
        return
    colour = {"allow": "green", "deny": "red"}.get(answer.effect, "yellow")
    console = Console()
    console.print(f"[bold {colour}]{answer.effect}[/] {answer.subject_id} {answer.action}")
    for measure in answer.measures:
        console.print(f"  {measure['effect']}: {measure['name']['zh']} ({measure['code']})")
    console.print(
        f"feed version {answer.feed_version}, confirmed {answer.feed_age:,.0f} s ago"
        + (" — past the staleness limit: review, never a stale allow" if answer.stale else "")
    )
