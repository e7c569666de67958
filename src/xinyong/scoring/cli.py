"""``xinyong explain SUBJECT SCHEME``: a subject's score, every reason for it, and what will change it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.policy import PolicyError
from xinyong.scoring.explain import Explanation, explain
from xinyong.scoring.packs import resolve_packs
from xinyong.store.runtime import open_store


def explain_command(
    subject: Annotated[str, typer.Argument(help="resident identity number or USCC")],
    scheme: Annotated[str, typer.Argument(help="scheme code, e.g. city.points")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="the day (YYYY-MM-DD); default: the day of the current evaluation"
        ),
    ] = None,
    packs: Annotated[
        list[str] | None,
        typer.Option("--pack", help="pack (shipped name or folder) holding the scheme; repeatable"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Explain SUBJECT's score under SCHEME: every contribution and the days it will change."""
    try:
        day = date.fromisoformat(as_of) if as_of is not None else None
    except ValueError:
        raise typer.BadParameter(
            f"not a date (YYYY-MM-DD): {as_of!r}", param_hint="--as-of"
        ) from None
    try:
        scheme_packs, skipped = resolve_packs(packs or [])
    except (LookupError, PolicyError) as error:
        raise typer.BadParameter(str(error), param_hint="--pack") from None
    factory = open_store()
    with factory() as session:
        try:
            explanation = explain(session, subject, scheme, as_of=day, packs=scheme_packs)
        except LookupError as error:
            typer.echo("\n".join([str(error), *skipped]), err=True)
            raise typer.Exit(2) from None
    if json_output:
        typer.echo(orjson.dumps(explanation.as_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    _print(explanation)


def _print(explanation: Explanation) -> None:
    console = Console()
    data = explanation.as_dict()
    scheme = data["scheme"]
    has_points = data["value"] is not None
    console.print(
        f"[bold]{scheme['name']['zh']} ({scheme['name']['en']})[/] {scheme['code']} — "
        f"{data['subject']} on {data['as_of']}: [bold]{_outcome(data)}[/]"
    )
    if "base" in scheme:
        console.print(f"base {scheme['base']}, clamped to {scheme['min']}..{scheme['max']}")
    if data["contributions"]:
        table = Table(title="contributions")
        table.add_column("record")
        table.add_column("rule")
        if has_points:
            table.add_column("points", justify="right")
        table.add_column("counts from")
        table.add_column("until")
        for item in data["contributions"]:
            row = [_record(item), _rule(item), _points(item), *_window(item)]
            table.add_row(*(row if has_points else row[:2] + row[3:]))
        console.print(table)
    else:
        console.print("no contributions: no record counts under this scheme on this day")
    if not data["timeline"]:
        console.print("nothing will change this score unless new records arrive")
    for step in data["timeline"]:
        console.print(f"[bold]{step['date']}[/]: {_outcome(step)}")
        for verb, key in (("leaves", "leaving"), ("enters", "entering")):
            for item in step[key]:
                points = f", {_points(item)}" if has_points else ""
                console.print(f"  {verb}: {_record(item)} ({_rule(item)}{points})")
    if data["published"] is not None:
        published = data["published"]
        console.print(
            f"published in evaluation {published['evaluation']} (as of {published['as_of']}): "
            f"{_outcome(published)}"
        )
    console.print(f"scheme version {scheme['version']}")


def _outcome(data: dict[str, Any]) -> str:
    value = "" if data["value"] is None else f"{data['value']} "
    name = data.get("grade_name")
    return f"{value}{data['grade']}" + (f" ({name['en']})" if name else "")


def _record(item: dict[str, Any]) -> str:
    if item["document_no"] is None:
        return "—"
    return f"{item['document_no']} {item['record_type']}"


def _rule(item: dict[str, Any]) -> str:
    name = item["rule_name"]
    return f"{name['en']} ({item['rule']})" if name else str(item["rule"])


def _points(item: dict[str, Any]) -> str:
    return f"{item['points']:+d}"


def _window(item: dict[str, Any]) -> tuple[str, str]:
    return item["window_start"] or "—", item["window_end"] or "no end"
