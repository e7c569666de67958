"""Options the commands of several features share: a day on the command line, ``--as-of``,
``--json``."""

from datetime import date
from typing import Annotated

import typer

from xinyong.clock import china_today

AsOf = Annotated[
    str | None, typer.Option("--as-of", help="the day to report on (YYYY-MM-DD); default today")
]
JsonOutput = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def parse_day(value: str, option: str) -> date:
    """The day ``value`` names (YYYY-MM-DD), or a usage error that names ``option``."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint=option) from None


def as_of_day(value: str | None) -> date:
    """The ``--as-of`` day; today in China when it is not given."""
    return china_today() if value is None else parse_day(value, "--as-of")
