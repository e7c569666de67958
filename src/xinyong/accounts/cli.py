"""``xinyong users``: create and list the accounts people sign in with."""

import getpass
import sys
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.accounts.service import ROLES, AccountError, create_account, list_accounts
from xinyong.policy import pack_in_force
from xinyong.store.runtime import open_store

COLUMNS = ("id", "username", "role", "display_name", "subject", "authority")

app = typer.Typer(help="Accounts of subjects and staff who sign in.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        typer.echo("the passwords differ", err=True)
        raise typer.Exit(2)
    return first


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="the name to sign in with")],
    role: Annotated[str, typer.Option("--role", help=f"one of {', '.join(ROLES)}")],
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="the subject's identifier (for subject accounts)"),
    ] = None,
    authority: Annotated[
        str | None, typer.Option("--authority", help="authority code (for authority staff)")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
    email: Annotated[
        str | None,
        typer.Option("--email", help="where a password reset link may be sent (optional)"),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an account; the password is asked for (or read from standard input)."""
    if authority is not None and authority not in pack_in_force().authorities:
        typer.echo(f"unknown authority {authority!r}", err=True)
        raise typer.Exit(2)
    password = _password(password_stdin)
    try:
        with open_store().begin() as session:
            account_id = create_account(
                session,
                username=username,
                password=password,
                role=role,
                subject_identifier=subject,
                authority_code=authority,
                display_name=name,
                email=email,
            )
    except AccountError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if json_output:
        typer.echo(orjson.dumps({"id": account_id, "username": username, "role": role}).decode())
    else:
        typer.echo(f"account {account_id} created: {username} ({role})")


@app.command("list")
def list_command(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List accounts (never passwords)."""
    with open_store()() as session:
        accounts = [
            {
                "id": account.id,
                "username": account.username,
                "role": account.role,
                "display_name": account.display_name,
                "subject": identifier,
                "authority": account.authority_code,
                "created_at": account.created_at.isoformat(),
            }
            for account, identifier in list_accounts(session)
        ]
    if json_output:
        typer.echo(orjson.dumps(accounts).decode())
        return
    table = Table(title=f"accounts ({len(accounts)})")
    for column in COLUMNS:
        table.add_column(column)
    for account in accounts:
        table.add_row(*(str(account[column] or "") for column in COLUMNS))
    Console().print(table)
