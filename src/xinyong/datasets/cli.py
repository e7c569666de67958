"""``xinyong publish`` and ``xinyong datasets verify``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

JsonOutput = Annotated[bool, typer.Option("--json", help="print the result as JSON")]

app = typer.Typer(help="Published datasets: check what you downloaded.", no_args_is_help=True)


def publish_command(
    public_only: Annotated[
        bool, typer.Option("--public-only", help="publish the public datasets, not the feeds")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="a new public version even if nothing changed")
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Publish a version of every public dataset (the lists and the public records) and of
    every relying party's feed, signed with the platform key.

    Exit status 2 without a platform key (`xinyong ledger keygen`).
    """
    from xinyong.config import get_settings
    from xinyong.datasets.publish import NoSigningKey, Publisher
    from xinyong.policy import pack_in_force
    from xinyong.store.runtime import open_store

    settings = get_settings()
    publisher = Publisher(open_store(settings), pack_in_force(settings), settings)
    console = Console(stderr=True)
    try:
        with console.status("publishing the public datasets …", spinner="dots"):
            outcomes = publisher.publish_public(force=force)
        if not public_only:
            with console.status("publishing the relying parties' feeds …", spinner="dots"):
                outcomes += publisher.publish_feeds()
    except NoSigningKey as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if json_output:
        typer.echo(orjson.dumps([outcome.as_dict() for outcome in outcomes]).decode())
        return
    table = Table(title=f"published into {publisher.shelf.root}")
    for column in ("dataset", "version", "rows", "added", "modified", "deleted"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for outcome in outcomes:
        table.add_row(
            outcome.dataset,
            "unchanged" if outcome.version is None else str(outcome.version),
            f"{outcome.rows:,}",
            f"{outcome.added:,}",
            f"{outcome.modified:,}",
            f"{outcome.deleted:,}",
        )
    Console().print(table)


@app.command("verify")
def verify_command(
    source: Annotated[
        str,
        typer.Argument(
            help="a downloaded version or dataset folder, or a URL ending in "
            "/v1/datasets/NAME (every kept version) or /v1/datasets/NAME/VERSION"
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="the platform's verifier key (as GET /v1/ledger/key publishes it), or a file "
            "holding it; without it the key each manifest names is used",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="keep what a URL gives in this folder")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Check published versions offline: the platform's signature on each manifest, every
    file's size, SHA-256 and rows, each delta against the rows before it, and that the chain
    of versions is unbroken.

    Exit status 0 when everything holds, 1 when something does not (the reason is printed),
    2 when SOURCE cannot be read.
    """
    from xinyong.datasets.manifest import InvalidVersion
    from xinyong.datasets.verify import download, verify_folder
    from xinyong.ledger.checkpoint import CheckpointError, read_verifier_key

    try:
        pinned = None if key is None else read_verifier_key(key)
    except CheckpointError as error:
        typer.echo(f"--key: {error}", err=True)
        raise typer.Exit(2) from None
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(source)
        if source.startswith(("http://", "https://")):
            try:
                folder = download(source, out or Path(scratch))
            except (OSError, InvalidVersion, ValueError, KeyError) as error:
                typer.echo(f"cannot download {source}: {error}", err=True)
                raise typer.Exit(2) from None
        elif not folder.is_dir():
            typer.echo(f"{source} is not a folder", err=True)
            raise typer.Exit(2)
        report = verify_folder(folder, pinned)
    if json_output:
        typer.echo(orjson.dumps(report.as_dict()).decode())
    else:
        console = Console()
        for item in report.versions:
            console.print(
                f"[green]✓[/] {item['dataset']} version {item['version']}: {item['rows']:,} rows, "
                f"{item['files']} files"
            )
        if report.ok:
            console.print(
                f"{len(report.versions)} version(s) hold, signed by {report.key}"
                + (
                    ""
                    if report.key_pinned
                    else " (the key the manifests name: compare it with GET /v1/ledger/key)"
                )
            )
        else:
            console.print(f"[red]does not hold:[/] {report.problem}")
    raise typer.Exit(0 if report.ok else 1)
