"""``xinyong backup DEST`` and ``xinyong restore SRC``."""

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from xinyong.config import get_settings

JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _fail(error: Exception) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(f"[red]{error}[/red]", highlight=False)
    return typer.Exit(2)


def backup_command(
    destination: Annotated[Path, typer.Argument(help="a new (or empty) folder for the backup")],
    with_signing_key: Annotated[
        bool,
        typer.Option(
            "--with-signing-key",
            help="also copy the ledger's signing key (whoever holds the backup can then sign "
            "checkpoints in the platform's name)",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Back up the store, consistent while the service writes (SQLite's online backup API,
    or pg_dump's custom format); the ledger's signing key only with --with-signing-key."""
    from xinyong.operations.backup import BackupError, backup  # the store's modules, on use

    settings = get_settings()
    console = Console(stderr=True)
    try:
        with console.status("backing up the store", spinner="dots"):
            manifest = backup(
                settings.resolved_database_url(),
                destination,
                settings.ledger_key_path,
                with_signing_key=with_signing_key,
            )
    except BackupError as error:
        raise _fail(error) from None
    if json_output:
        typer.echo(orjson.dumps({"destination": str(destination), **asdict(manifest)}).decode())
        return
    typer.echo(
        f"backed up the {manifest.backend} store at revision {', '.join(manifest.revision)} "
        f"({manifest.ledger_leaves:,} ledger leaves) to {destination / manifest.dump}"
    )
    if manifest.signing_key_included:
        typer.echo("the ledger's signing key IS in this backup: keep it as safe as the key")
    else:
        typer.echo(
            f"the ledger's signing key is NOT in this backup: keep {settings.ledger_key_path} "
            "safe apart (or back up again with --with-signing-key)"
        )


def restore_command(
    source: Annotated[Path, typer.Argument(help="a folder made by `xinyong backup`")],
    force: Annotated[
        bool,
        typer.Option("--force", help="replace a store that holds rows (and an existing key)"),
    ] = False,
    with_signing_key: Annotated[
        bool,
        typer.Option("--with-signing-key", help="also restore the signing key the backup holds"),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Restore a backup into the configured store (XINYONG_DATABASE_URL); a store that holds
    rows is replaced only with --force. Then run `xinyong init` and `xinyong ledger verify`."""
    from xinyong.operations.backup import BackupError, restore

    settings = get_settings()
    console = Console(stderr=True)
    try:
        with console.status("restoring the store", spinner="dots"):
            restored = restore(
                source,
                settings.resolved_database_url(),
                settings.ledger_key_path,
                force=force,
                with_signing_key=with_signing_key,
            )
    except BackupError as error:
        raise _fail(error) from None
    if json_output:
        typer.echo(orjson.dumps(asdict(restored)).decode())
        return
    typer.echo(
        f"restored {source} (made {restored.manifest.created_at}) at revision "
        f"{', '.join(restored.revision)}, {restored.ledger_leaves:,} ledger leaves"
    )
    if restored.signing_key_restored:
        typer.echo(f"the signing key was restored to {settings.ledger_key_path}")
    elif restored.manifest.signing_key_included:
        typer.echo("the backup holds a signing key; it was left out (--with-signing-key)")
    typer.echo("next: `xinyong init` (migrates if needed), then `xinyong ledger verify`")
