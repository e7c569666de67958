"""``xinyong check SUBJECT ACTION``.

The command answers in a fraction of a second: it reads the store through its bare driver
(``xinyong.enforcement.bare``) and the pack's decision table from its cache
(``xinyong.enforcement.table_cache``), and imports neither SQLAlchemy nor pydantic.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console

from xinyong.enforcement.bare import decide_bare, log_bare
from xinyong.enforcement.decisions import UnknownAction
from xinyong.enforcement.subjects import UndecidableSubject
from xinyong.enforcement.table_cache import pack_table
from xinyong.environment import database_url, ledger_key_path, pack_choice, var_dir
from xinyong.options import AsOf, JsonOutput, as_of_day
from xinyong.store.driver import open_bare

if TYPE_CHECKING:
    from xinyong.ledger.checkpoint import SigningKey


def check_command(
    subject: Annotated[str, typer.Argument(help="resident identity number or USCC")],
    action: Annotated[str, typer.Argument(help="action code, e.g. buy_air_ticket")],
    as_of: AsOf = None,
    purpose: Annotated[
        str, typer.Option(help="why you ask; logged and shown to the subject")
    ] = "operator check from the command line",
    json_output: JsonOutput = False,
) -> None:
    """Decide whether SUBJECT may do ACTION, with measures, entries and legal basis.

    Exit status 2 if SUBJECT fails its check (as `xinyong id` reports it) or ACTION is unknown;
    3 if the check could not be logged (then no decision is shown).
    """
    day = as_of_day(as_of)
    packed = pack_table(pack_choice(), var_dir() / "cache")
    store = open_bare(database_url())
    try:
        try:
            decision = decide_bare(store, packed, subject, action, day)
        except UndecidableSubject as error:
            typer.echo(f"SUBJECT: {error}", err=True)
            raise typer.Exit(2) from None
        except UnknownAction as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None
        try:
            log_bare(store, decision, ("cli", getpass.getuser()), purpose, _signing_key())
        except Exception as error:
            typer.echo(
                f"the check could not be logged ({error}); no decision is shown for a check "
                "that is not logged",
                err=True,
            )
            raise typer.Exit(3) from None
    finally:
        store.close()
    result = decision.as_dict()
    if json_output:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    colour = {"deny": "red", "review": "yellow"}.get(decision.effect, "green")
    known = "" if decision.known else " (subject unknown to the platform)"
    console.print(
        f"[bold {colour}]{decision.effect}[/]  {decision.subject_id} {action} on "
        f"{day.isoformat()}{known}"
    )
    if decision.benefits:
        console.print(f"benefits: {', '.join(decision.benefits)}")
    for measure in decision.measures:
        basis = "; ".join(
            f"{item['title']} {item.get('article', '')}".strip() for item in measure["legal_basis"]
        )
        via = f" (as legal representative of {measure['via']})" if measure["via"] else ""
        console.print(
            f"- {measure['effect']}: {measure['name']['zh']} ({measure['name']['en']}){via}\n"
            f"  basis: {basis}\n  implemented by: {measure['implemented_by']['zh']}"
        )
    for entry in decision.entries:
        console.print(
            f"entry {entry['id']}: {entry['list']} from {entry['started_on']} "
            f"until {entry['ends_on']}"
        )
    console.print(
        f"policy {decision.policy_version}; valid until {decision.valid_until}; "
        f"decision {decision.decision_id}"
    )


def _signing_key() -> SigningKey | None:
    """The ledger's signing key, where this installation has one: every command that logs
    ends with a checkpoint over what it logged, so its proofs answer at once."""
    path = ledger_key_path(var_dir())
    if not path.is_file():
        return None
    from xinyong.ledger.checkpoint import read_signing_key

    return read_signing_key(path)
