"""``xinyong id CODE...``: validate and decode identifiers from the command line."""

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from xinyong.identifiers import IdentifierKind, ParsedIdentifier, parse
from xinyong.identifiers.regions import region_name

__all__ = ["id_command"]

_STATUS_STYLES = {"valid": "green", "suspect": "yellow", "invalid": "red"}


def id_command(
    codes: Annotated[
        list[str],
        typer.Argument(
            help="Resident identity numbers, unified social credit codes or organisation codes.",
            show_default=False,
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON list instead of a table.")
    ] = False,
    kind: Annotated[
        IdentifierKind | None,
        typer.Option("--kind", help="Read every code as this kind instead of detecting it."),
    ] = None,
) -> None:
    """Validate and decode identifiers (GB 11643, GB 32100, GB 11714).

    Exit status 1 if any code is invalid or suspect (well formed, wrong check character).
    """
    results = [parse(code, kind) for code in codes]
    if json_output:
        typer.echo(
            json.dumps([result.to_dict() for result in results], ensure_ascii=False, indent=2)
        )
    else:
        Console().print(_table(results))
    if not all(result.valid for result in results):
        raise typer.Exit(code=1)


def _table(results: list[ParsedIdentifier]) -> Table:
    table = Table()
    # Codes are never cut: a clerk compares them character by character.
    table.add_column("code", no_wrap=True, min_width=18)
    table.add_column("kind", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("decoded", overflow="fold")
    table.add_column("problems", overflow="fold")
    for result in results:
        problems = [*result.errors, *(f"warning: {warning}" for warning in result.warnings)]
        table.add_row(
            # Text, not markup: the code is user input and may contain brackets.
            Text(result.code),
            result.kind.value,
            Text(result.status, style=_STATUS_STYLES[result.status]),
            Text("\n".join(_decoded(result))),
            Text("\n".join(problems)),
        )
    return table


def _decoded(result: ParsedIdentifier) -> list[str]:
    lines = []
    if result.registration_authority is not None:
        authority = result.registration_authority
        lines.append(f"authority {authority.code} {authority.name_zh} ({authority.name_en})")
    if result.entity_type is not None:
        entity_type = result.entity_type
        lines.append(
            f"entity type {entity_type.code} {entity_type.name_zh} ({entity_type.name_en})"
        )
    if result.region_code is not None:
        lines.append(
            f"region {result.region_code} {region_name(result.region_code) or ''}".rstrip()
        )
    if result.org_code is not None:
        validity = "valid" if result.org_code_valid else "check fails"
        lines.append(f"organisation code {result.org_code[:8]}-{result.org_code[8:]} ({validity})")
    if result.birth_date is not None:
        lines.append(f"born {result.birth_date.isoformat()}")
    if result.sex is not None:
        lines.append(result.sex)
    return lines
