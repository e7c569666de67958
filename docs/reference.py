"""The README's generated sections (cog): the commands from the Typer app, the settings from
``xinyong.config.Settings``. ``make docs`` rewrites them; a test fails when they drift."""

import re
from typing import Any

import typer
from pydantic_core import PydanticUndefined
from typer.core import TyperGroup

from xinyong.cli import app
from xinyong.config import Settings


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
        rows.append(f"| `XINYONG_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)
