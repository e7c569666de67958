"""``xinyong rights expire``: end what has run out, refresh and notify the subjects."""

from datetime import datetime
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from xinyong.clock import china_today
from xinyong.policy import pack_in_force
from xinyong.rights.expiry import count_due, expire
from xinyong.store.runtime import open_store


def expire_command(
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="the day to expire up to; default today"
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """End publicity at each record's maximum period and entries at their end; notify. Idempotent."""
    day = china_today() if as_of is None else as_of.date()
    pack = pack_in_force()
    factory = open_store()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as bar:
        task = bar.add_task("expiring", total=count_due(factory, pack, day))
        summary = expire(factory, pack, day, progress=lambda n: bar.advance(task, n))
    if json_output:
        typer.echo(orjson.dumps(summary.to_dict()).decode())
        return
    Console().print(
        f"as of {day}: {summary.records_expired} records expired, "
        f"{summary.entries_ended} entries ended, {summary.subjects_refreshed} subjects refreshed, "
        f"{summary.notices} notices enqueued (send them with `xinyong rights notify`)"
    )
