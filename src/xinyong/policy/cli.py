"""``xinyong policy``: check, load and describe policy packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from xinyong.policy.errors import PolicyError, PolicyIssue
from xinyong.policy.json_schema import pack_json_schema
from xinyong.policy.loader import load_pack
from xinyong.policy.summary import PackSummary, summarise

app = typer.Typer(
    help="Check, load and describe policy packs: the catalogue, authorities and their rules.",
    no_args_is_help=True,
)

PackPath = Annotated[Path, typer.Argument(help="Folder of the pack (the one holding pack.yaml).")]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON for machines instead of tables.")
]


@app.command()
def check(path: PackPath, as_json: JsonFlag = False) -> None:
    """Validate a pack and list every issue; exit status 1 if there is any."""
    summary = _load_or_exit(path, as_json)
    if as_json:
        _print_json({"ok": True, "issues": [], "summary": summary.model_dump(mode="json")})
    else:
        Console().print(f"[green]OK[/green]: {path} has no issues.")
        _print_summary(summary)


@app.command()
def load(path: PackPath, as_json: JsonFlag = False) -> None:
    """Validate a pack and print its name, version, digest and counts."""
    summary = _load_or_exit(path, as_json)
    if as_json:
        _print_json(summary.model_dump(mode="json"))
    else:
        _print_summary(summary)


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the schema to this file instead.")
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the pack format."""
    text = json.dumps(pack_json_schema(), ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")


def _load_or_exit(path: Path, as_json: bool) -> PackSummary:
    try:
        return summarise(load_pack(path))
    except PolicyError as exc:
        if as_json:
            _print_json({"ok": False, "issues": [issue.as_json() for issue in exc.issues]})
        else:
            _print_issues(path, exc.issues)
        raise typer.Exit(code=1) from None


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


def _print_issues(path: Path, issues: list[PolicyIssue]) -> None:
    table = Table(title=f"{len(issues)} issue(s) in {path}", show_lines=False)
    table.add_column("file", no_wrap=True)
    table.add_column("line", justify="right", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_column("message", overflow="fold", ratio=2)
    for issue in issues:
        table.add_row(issue.file, str(issue.line or ""), issue.path, issue.message)
    Console().print(table)


def _print_summary(summary: PackSummary) -> None:
    console = Console()
    extends = f", extends {summary.extends}" if summary.extends else ""
    console.print(f"[bold]{summary.name}[/bold] {summary.version}{extends}: {summary.title}")
    console.print(f"digest sha256:{summary.digest}")
    categories = Table(title=f"{summary.record_types} record types")
    categories.add_column("category")
    categories.add_column("类别", overflow="fold")
    categories.add_column("types", justify="right")
    for category, count in summary.record_types_by_category.items():
        categories.add_row(category.value, category.label.zh, str(count))
    console.print(categories)
    kinds = Table(title=f"{summary.authorities} authorities")
    kinds.add_column("kind")
    kinds.add_column("authorities", justify="right")
    for kind, count in summary.authorities_by_kind.items():
        kinds.add_row(kind.value, str(count))
    console.print(kinds)
