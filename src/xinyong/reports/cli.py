"""``xinyong evaluate --what-if PACK_DIR`` and ``xinyong report fairness SCHEME``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from xinyong.clock import utc_now
from xinyong.config import get_settings
from xinyong.policy import PolicyError, load_pack, pack_in_force
from xinyong.reports.fairness import fairness
from xinyong.reports.population import read_population
from xinyong.reports.views import (
    fairness_tables,
    whatif_summary,
    whatif_table,
    write_fairness,
    write_whatif,
)
from xinyong.reports.whatif import current_policy, proposed_policy, what_if
from xinyong.scoring.packs import find_scheme, resolve_packs, unscorable
from xinyong.scoring.store import current_evaluation
from xinyong.store.runtime import open_store

app = typer.Typer(help="Reports for policy analysts: fairness of grades across groups.")


@app.callback()
def report_group() -> None:
    """Reports for policy analysts (what-if reports come from `xinyong evaluate --what-if`)."""


OutDir = Annotated[
    Path | None,
    typer.Option("--out", help="folder for the JSON, PNG and HTML files; default var/reports/..."),
]
WhatIfPack = Annotated[
    Path | None,
    typer.Option(
        "--what-if",
        help="a proposed pack folder: report what it would change, publishing nothing",
        exists=True,
        file_okay=False,
    ),
]


def _default_out(name: str) -> Path:
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    return get_settings().var_dir / "reports" / f"{name}-{stamp}"


def _print_json(data: object) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def run_what_if(
    pack_dir: Path,
    day: date,
    packs: Sequence[str],
    *,
    out: Path | None,
    json_output: bool,
) -> None:
    """Evaluate the pack in ``pack_dir`` against the store without publishing and report what
    it would change; ``packs`` name the current scheme packs (``evaluate --pack``)."""
    try:
        scheme_packs, _ = resolve_packs(packs)
    except (LookupError, PolicyError) as error:
        raise typer.BadParameter(str(error), param_hint="--pack") from None
    try:
        proposed = load_pack(pack_dir)
    except PolicyError as error:
        raise typer.BadParameter(str(error), param_hint="--what-if") from None
    reason = unscorable(proposed)
    if reason is not None:
        raise typer.BadParameter(reason, param_hint="--what-if")
    current = current_policy(pack_in_force(), scheme_packs)
    factory = open_store()
    population = read_population(factory, day)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=json_output,
    ) as progress:
        task = progress.add_task("comparing policies", total=len(population.ids))
        report = what_if(
            population,
            current,
            proposed_policy(current, scheme_packs, proposed),
            proposed_pack=proposed.policy_version,
            progress=lambda done: progress.advance(task, done),
        )
    with factory() as session:
        evaluation = current_evaluation(session)
        report.published_evaluation = evaluation.id if evaluation is not None else None
    files = write_whatif(report, out or _default_out("what-if"))
    if json_output:
        _print_json({**report.as_dict(), "files": {k: str(v) for k, v in files.items()}})
        return
    console = Console()
    if report.changed_subjects():
        console.print(whatif_table(report))
    for line in whatif_summary(report):
        console.print(line)
    console.print("files: " + ", ".join(str(path) for path in files.values()))


@app.command("fairness")
def fairness_command(
    scheme: Annotated[str, typer.Argument(help="scheme code, e.g. city.points")],
    out: OutDir = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Grades of the current evaluation under SCHEME by region, age band, sex and organisation
    type, and the rules that drive the largest gaps between groups."""
    try:
        order = find_scheme(resolve_packs([])[0], scheme).scheme.grades()
    except LookupError:
        order = ()  # a scheme from another pack: grades are shown in name order
    factory = open_store()
    with factory() as session:
        try:
            report = fairness(session, scheme, order)
        except LookupError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None
    files = write_fairness(report, out or _default_out(f"fairness-{scheme}"))
    if json_output:
        _print_json({**report.as_dict(), "files": {k: str(v) for k, v in files.items()}})
        return
    console = Console()
    for table in fairness_tables(report):
        console.print(table)
    console.print(
        f"{report.subjects} subjects under {scheme} in evaluation {report.evaluation_id} "
        f"(as of {report.as_of.isoformat()}); files: "
        + ", ".join(str(path) for path in files.values())
    )
