"""``xinyong keys``: create, list and revoke API keys."""

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.keys.service import ROLES, create_key, list_keys, revoke_key
from xinyong.policy import pack_in_force
from xinyong.store.runtime import open_store

app = typer.Typer(
    help="API keys for authorities, relying parties and operators.", no_args_is_help=True
)


@app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help=f"one of {', '.join(ROLES)}")],
    authority: Annotated[
        str | None, typer.Option("--authority", help="authority code (for authority keys)")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="who holds the key")] = "",
    actions: Annotated[
        str | None,
        typer.Option(
            "--actions",
            help="a relying party's scope: the actions it implements, comma-separated "
            "(e.g. buy_air_ticket,buy_high_speed_rail_ticket); its checks and its mirror's "
            "feed are limited to them",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    pack = pack_in_force()
    if authority is not None and authority not in pack.authorities:
        typer.echo(f"unknown authority '{authority}'", err=True)
        raise typer.Exit(2)
    scope = None
    if actions is not None:
        scope = sorted({code.strip() for code in actions.split(",") if code.strip()})
        unknown = [code for code in scope if code not in pack.actions]
        if unknown:
            typer.echo(
                f"unknown action(s) {', '.join(unknown)}; the pack defines: "
                f"{', '.join(sorted(pack.actions))}",
                err=True,
            )
            raise typer.Exit(2)
    factory = open_store()
    try:
        with factory.begin() as session:
            token = create_key(
                session, role=role, authority=authority, label=label or role, actions=scope
            )
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if json_output:
        typer.echo(
            orjson.dumps(
                {"key": token, "role": role, "authority": authority, "actions": scope}
            ).decode()
        )
    else:
        typer.echo(token)
        typer.echo("Keep it safe: it is shown only now.", err=True)


@app.command("list")
def list_command(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (ids, roles, authorities; never secrets)."""
    with open_store()() as session:
        keys: list[dict[str, str | bool | list[str] | None]] = [
            {
                "key_id": k.key_id,
                "role": k.role,
                "authority": k.authority,
                "label": k.label,
                "actions": k.actions,
                "created_at": k.created_at.isoformat(),
                "revoked": k.revoked_at is not None,
            }
            for k in list_keys(session)
        ]
    if json_output:
        typer.echo(orjson.dumps(keys).decode())
        return
    table = Table(title="API keys")
    for column in ("key_id", "role", "authority", "label", "actions", "revoked"):
        table.add_column(column)
    for key in keys:
        scope = key["actions"]
        table.add_row(
            str(key["key_id"]),
            str(key["role"]),
            str(key["authority"] or ""),
            str(key["label"]),
            ", ".join(scope) if isinstance(scope, list) else "",
            "yes" if key["revoked"] else "",
        )
    Console().print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the key id (the part after xy_)")]) -> None:
    """Revoke a key at once."""
    with open_store().begin() as session:
        if not revoke_key(session, key_id):
            typer.echo(f"no active key {key_id}", err=True)
            raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
