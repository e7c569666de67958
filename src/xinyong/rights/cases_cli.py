"""``xinyong rights overdue``: objections and repairs past their working-day deadline."""

from datetime import date
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.clock import china_today
from xinyong.rights.reviews import overdue_cases
from xinyong.store.runtime import open_store


def overdue_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the day to judge by (YYYY-MM-DD); default today")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the cases as JSON")] = False,
) -> None:
    """List open cases whose decision is overdue, the longest overdue first."""
    try:
        day = date.fromisoformat(as_of) if as_of else china_today()
    except ValueError:
        typer.echo(f"--as-of: not a date (YYYY-MM-DD): {as_of}", err=True)
        raise typer.Exit(2) from None
    with open_store()() as session:
        cases = overdue_cases(session, day)
    if json_output:
        typer.echo(orjson.dumps({"as_of": day, "overdue": cases}).decode())
        return
    console = Console()
    if not cases:
        console.print(f"no overdue objections or repairs on {day}")
        return
    table = Table(title=f"Overdue cases on {day}")
    for column in ("case", "kind", "record", "authority", "due on", "working days late", "limit"):
        table.add_column(column)
    for case in cases:
        table.add_row(
            str(case["id"]),
            case["kind"],
            case["record"],
            case["authority"],
            str(case["due_on"]),
            str(case["working_days_overdue"]),
            "passed" if case["beyond_limit"] else str(case["limit_on"]),
        )
    console.print(table)
    console.print(
        f"{len(cases)} overdue, {sum(case['beyond_limit'] for case in cases)} beyond their limit"
    )
