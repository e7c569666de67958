"""``xinyong evaluate`` (rebuild every entry and the index) and ``xinyong check SUBJECT ACTION``."""

from __future__ import annotations

import getpass
import time
from datetime import date
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import func, select

from xinyong.config import get_settings
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import EntryRow, MeasureIndexRow
from xinyong.enforcement.refresh import rebuild_all, today_in_china
from xinyong.enforcement.service import UnknownAction, check_in_store
from xinyong.policy import PolicyError, load_shipped
from xinyong.scoring.evaluation import evaluate_reference
from xinyong.scoring.packs import resolve_packs
from xinyong.scoring.store import grade_counts
from xinyong.search.publish import refresh_search_index
from xinyong.store.models import Subject
from xinyong.store.runtime import open_store

AsOf = Annotated[
    str | None, typer.Option("--as-of", help="the day to report on (YYYY-MM-DD); default today")
]
JsonOutput = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _day(value: str | None) -> date:
    if value is None:
        return today_in_china()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"not a date (YYYY-MM-DD): {value!r}", param_hint="--as-of"
        ) from None


def evaluate_command(
    as_of: AsOf = None,
    packs: Annotated[
        list[str] | None,
        typer.Option(
            "--pack",
            help="a pack (shipped name or folder) whose schemes are scored; repeatable; "
            "default: national and the shipped scheme packs",
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Rebuild every list entry and the measures index, then score every subject (reference)."""
    day = _day(as_of)
    pack = load_shipped("national")
    try:
        scheme_packs, skipped = resolve_packs(packs or [])
    except (LookupError, PolicyError) as error:
        raise typer.BadParameter(str(error), param_hint="--pack") from None
    factory = open_store()
    started = time.perf_counter()
    with factory() as session:
        subjects = session.scalar(select(func.count()).select_from(Subject)) or 0
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=json_output,
    ) as progress:
        task = progress.add_task("evaluating subjects", total=subjects)
        summary = rebuild_all(factory, pack, progress=lambda done: progress.advance(task, done))
        scoring = progress.add_task("scoring subjects", total=subjects)
        evaluation_id = evaluate_reference(
            factory, scheme_packs, day, lambda done: progress.advance(scoring, done)
        )
    search = refresh_search_index(factory, pack, get_settings().var_dir / "search", day)
    with factory() as session:
        active: dict[str, int] = {
            code: count
            for code, count in session.execute(
                select(EntryRow.list_code, func.count())
                .where(EntryRow.started_on <= day, EntryRow.ended_on > day)
                .group_by(EntryRow.list_code)
            )
        }
        indexed = session.scalar(select(func.count()).select_from(MeasureIndexRow)) or 0
        grades = grade_counts(session, evaluation_id)
    result: dict[str, Any] = {
        "as_of": day.isoformat(),
        "policy_version": pack.policy_version,
        "subjects": summary.subjects,
        "entries_started": summary.started,
        "entries_changed": summary.changed,
        "entries_ended": summary.ended,
        "index_rows_written": summary.index_rows,
        "index_rows": indexed,
        "active_entries": {code: active.get(code, 0) for code in pack.lists},
        "evaluation": evaluation_id,
        "grades": grades,
        "schemes_skipped": skipped,
        "search_index_subjects": search.subjects,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if json_output:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    table = Table(title=f"active entries on {day.isoformat()}")
    table.add_column("list")
    table.add_column("kind")
    table.add_column("entries", justify="right")
    for code, credit_list in pack.lists.items():
        table.add_row(code, credit_list.kind.value, str(active.get(code, 0)))
    console.print(table)
    for scheme, counts in grades.items():
        console.print(f"{scheme}: " + ", ".join(f"{grade} {n}" for grade, n in counts.items()))
    for reason in skipped:
        console.print(f"[yellow]skipped[/] {reason}")
    console.print(
        f"{summary.subjects} subjects evaluated in {result['seconds']} s: "
        f"{summary.started} entries started, {summary.changed} changed, "
        f"{summary.ended} ended; {summary.index_rows} index rows written ({indexed} in all); "
        f"policy {pack.policy_version}; scores published as evaluation {evaluation_id}; "
        f"search index: {search.subjects} subjects"
    )


def check_command(
    subject: Annotated[str, typer.Argument(help="resident identity number or USCC")],
    action: Annotated[str, typer.Argument(help="action code, e.g. buy_air_ticket")],
    as_of: AsOf = None,
    purpose: Annotated[
        str, typer.Option(help="why you ask; logged and shown to the subject")
    ] = "operator check from the command line",
    json_output: JsonOutput = False,
) -> None:
    """Decide whether SUBJECT may do ACTION, with measures, entries and legal basis."""
    day = _day(as_of)
    pack = load_shipped("national")
    factory = open_store()
    with factory() as session:
        try:
            decision = check_in_store(session, MeasuresIndex(pack), subject, action, day)
        except UnknownAction as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None
    log = CheckLog(factory)
    log.add_all([decision], Asker("cli", getpass.getuser()), purpose)
    log.flush()
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
