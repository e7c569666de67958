"""The derived-state half of ``xinyong ledger verify``: run it with a progress bar, print it."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import get_settings
from xinyong.integrity.report import DerivedReport, shown
from xinyong.integrity.verify import verify_derived
from xinyong.policy import pack_in_force

SHOWN = 20


class _Bar:
    """``verify_derived``'s progress on a Rich bar, one task per phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def phase(self, description: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(description, total=total)

    def advance(self, steps: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, steps)


def _snapshot(session: Session) -> None:
    """Read the whole store as of one instant, so that writes committed meanwhile (a server
    still ingesting) cannot show as differences."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return
    # SQLite's driver opens no transaction for reads; an explicit one pins the WAL snapshot.
    session.connection().exec_driver_sql("BEGIN")


def check_derived(
    factory: sessionmaker[Session], console: Console, *, quiet: bool
) -> DerivedReport:
    """Recompute the store's derived state under the national pack; a progress bar on
    ``console`` unless ``quiet``."""
    settings = get_settings()
    pack = pack_in_force()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with factory() as session, Progress(*columns, console=console, disable=quiet) as progress:
        _snapshot(session)
        return verify_derived(
            session, pack, search_root=settings.var_dir / "search", progress=_Bar(progress)
        )


def print_derived(report: DerivedReport, console: Console) -> None:
    checked = ", ".join(f"{count:,} {area}" for area, count in report.checked.items())
    if report.ok:
        console.print(
            f"[green]derived state verified[/green]: recomputed from the logged records, "
            f"no difference ({checked})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        by_area = ", ".join(f"{count:,} in {area}" for area, count in report.by_area.items())
        following = (
            f"; {report.following_total:,} of them follow from another below them"
            if report.following_total
            else ""
        )
        console.print(
            f"[red bold]the derived state differs[/red bold] from its recomputation from the "
            f"logged records: {_count(report.total, 'difference')} ({by_area}){following}; "
            f"checked {checked}",
            highlight=False,
            soft_wrap=True,
        )
        table = Table(title=f"differences, first {min(SHOWN, report.total)} of {report.total:,}")
        table.add_column("area")
        table.add_column("subject", no_wrap=True)
        for column in ("row", "what", "stored", "recomputed"):
            table.add_column(column, overflow="fold")
        for item in report.differences[:SHOWN]:
            table.add_row(
                item.area,
                item.subject or "",
                item.row,
                item.what if item.follows is None else f"{item.what} (follows {item.follows})",
                _cell(item.stored),
                _cell(item.recomputed),
            )
        console.print(table)
        if report.total > SHOWN:
            console.print(f"... and {report.total - SHOWN:,} more (see --json)")
    if report.stale_total:
        console.print(
            f"[yellow]{report.stale_total:,} differences in the search index are explained by "
            "records logged after it was built[/yellow]: rebuild it with `xinyong evaluate`",
            highlight=False,
            soft_wrap=True,
        )
    for note in report.notes:
        console.print(f"[yellow]{note}[/yellow]", highlight=False, soft_wrap=True)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    text = shown(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
