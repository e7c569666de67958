"""The documents' generated sections (cog): the README's commands from the Typer app and its
settings from ``xinyong.config.Settings``; every measured figure a document quotes, from
``docs/performance.json`` (written by ``make bench``). ``make docs`` rewrites them; a test fails
when they drift."""

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import typer
from pydantic_core import PydanticUndefined
from typer.core import TyperGroup

from xinyong.cli import app
from xinyong.config import Settings, variable


def _summary(command: Any) -> str:
    first_paragraph = (command.help or "").split("\n\n")[0]
    return " ".join(first_paragraph.split()).replace("|", "\\|")


def _leaves(group: TyperGroup, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any, Any]]:
    context = typer.Context(group, info_name=" ".join(path))
    found = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, TyperGroup):
            found += _leaves(command, (*path, name))
        else:
            found.append(((*path, name), command, typer.Context(command, parent=context)))
    return found


def command_table() -> str:
    """One row per command: how it is called, whether it answers JSON, what it does."""
    rows = ["| command | `--json` | what it does |", "|---|---|---|"]
    for path, command, context in _leaves(typer.main.get_group(app), ("xinyong",)):
        arguments = [
            piece for piece in command.collect_usage_pieces(context) if piece != "[OPTIONS]"
        ]
        call = re.sub(r"\{(\w+)\}", lambda name: name[1].upper(), " ".join([*path, *arguments]))
        answers_json = any("--json" in param.opts for param in command.params)
        rows.append(f"| `{call}` | {'yes' if answers_json else ''} | {_summary(command)} |")
    return "\n".join(rows)


def settings_table() -> str:
    """One row per setting: its variable, its default and what it decides."""
    rows = ["| variable | default | what it decides |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is PydanticUndefined or default in ("", None) else f"`{default}`"
        rows.append(f"| `{variable(name)}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


DOCS = Path(__file__).resolve().parent


@cache
def _benchmark_runner() -> Any:
    """benchmarks/run.py, which writes docs/performance.md: figures are printed as it prints them."""
    spec = importlib.util.spec_from_file_location(
        "benchmark_runner", DOCS.parent / "benchmarks" / "run.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result(name: str) -> dict[str, Any]:
    """The latest result of one benchmark in docs/performance.json."""
    results = json.loads((DOCS / "performance.json").read_text())["results"]
    found: dict[str, Any] = next(row for row in results if row["name"] == name)
    return found


def shown(value: object) -> str:
    """A number as docs/performance.md prints it."""
    text: str = _benchmark_runner().fmt(value)
    return text


def figure(name: str) -> str:
    """A benchmark's value and unit, e.g. ``7,157 records/s``."""
    row = result(name)
    return f"{shown(row['value'])} {row['unit']}"


def against_floor(name: str) -> str:
    """A benchmark's value beside its floor, e.g. ``7,157 records/s against a floor of 18,375
    records/s (ratio 0.389, measured 2026-12-03)``."""
    row = result(name)
    return (
        f"{figure(name)} against a floor of {shown(row['floor'])} {row['unit']} "
        f"(ratio {shown(row['ratio'])}, measured {row['measured'][:10]})"
    )
