"""``xinyong scorecard train|monitor``: build the financial scorecard, watch its population."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.clock import china_today
from xinyong.config import get_settings
from xinyong.options import parse_day
from xinyong.policy import load_shipped
from xinyong.scorecard.monitor import SHIFT_ABOVE, STABLE_BELOW, MonitorReport, monitor
from xinyong.scorecard.population import (
    store_population,
    subject_features,
    synthetic_population,
)
from xinyong.synth.city import DEFAULT_AS_OF, DEFAULT_SEED

app = typer.Typer(
    help="The financial scorecard (350-950): train it, score a person, monitor its population.",
    no_args_is_help=True,
)

DEFAULT_TRAINING_PERSONS = 20_000
PACK = "financial"

JsonOutput = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _date(value: str | None, option: str) -> date | None:
    return None if value is None else parse_day(value, option)


def _print_json(payload: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())


@app.command("train")
def train_command(
    persons: Annotated[
        int, typer.Option(min=100, help="people in the synthetic city (about a quarter borrow)")
    ] = DEFAULT_TRAINING_PERSONS,
    seed: Annotated[int, typer.Option(min=0, help="seed of the synthetic city")] = DEFAULT_SEED,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="the city's today (YYYY-MM-DD); outcomes are the 12 months after it",
            show_default=DEFAULT_AS_OF.isoformat(),
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            help="name of the artefact (default: training time and data digest)",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Train the scorecard on a synthetic city's borrowers.

    Fits optbinning's binning and scorecard (logistic regression, 350-950), measures AUC and
    KS on a holdout and saves the points table and model card under
    <var>/scorecards/<version>/.
    """
    from xinyong.scorecard.train import train

    day = _date(as_of, "--as-of") or DEFAULT_AS_OF
    if version is not None and (not version.strip() or "/" in version or version == "latest"):
        raise typer.BadParameter(f"not a usable version name: {version!r}", param_hint="--version")
    pack = load_shipped(PACK)
    with Progress(
        TextColumn("generating borrowers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("generating", total=persons)
        population = synthetic_population(
            pack,
            persons,
            seed,
            day,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    try:
        report = train(population, version=version, settings=get_settings())
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    card = report.card
    if json_output:
        _print_json({"folder": str(report.folder), **card})
        return
    console = Console()
    table = Table(title=f"scorecard {report.scorecard.version}")
    table.add_column("feature")
    table.add_column("bins", justify="right")
    table.add_column("points", justify="right")
    table.add_column("IV", justify="right")
    for feature in card["features"]:
        points = [item["points"] for item in feature["bins"]]
        table.add_row(
            feature["name"], str(len(points)), f"{min(points)}..{max(points)}", str(feature["iv"])
        )
    console.print(table)
    data, holdout = card["data"], card["metrics"]["holdout"]
    for item in card["left_out"]:
        console.print(f"left out {item['name']}: {item['reason']}")
    console.print(
        f"{data['subjects']:,} borrowers ({data['default_rate']:.1%} defaulted), "
        f"{report.training_subjects:,} to fit, {holdout['subjects']:,} held out: "
        f"AUC {holdout['auc']:.3f}, KS {holdout['ks']:.3f}"
    )
    console.print(f"saved to {report.folder} (model card: model_card.md)")


def _monitor_json(report: MonitorReport, day: date) -> dict[str, Any]:
    def item(stability: Any) -> dict[str, Any]:
        return {
            "name": stability.name,
            "psi": stability.psi,
            "status": stability.status,
            "training": list(stability.expected),
            "current": list(stability.actual),
        }

    return {
        "version": report.version,
        "as_of": day.isoformat(),
        "thresholds": {"stable_below": STABLE_BELOW, "shift_above": SHIFT_ABOVE},
        "training_subjects": report.training_subjects,
        "current_subjects": report.current_subjects,
        "features": [item(stability) for stability in report.features],
        "score": item(report.score),
    }


@app.command("monitor")
def monitor_command(
    version: Annotated[
        str, typer.Option(help="artefact to monitor: a version, a folder, or latest")
    ] = "latest",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="the day to look at (YYYY-MM-DD); default today"),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Population stability (PSI) of each feature and of the score.

    Compares the training population with the persons in the store that have a financial
    record in effect on the day: below 0.1 stable, 0.1-0.25 watch, above 0.25 shift.
    """
    from xinyong.scorecard.model import Scorecard
    from xinyong.store.runtime import open_store

    day = _date(as_of, "--as-of") or china_today()
    settings = get_settings()
    try:
        scorecard = Scorecard.load(version, settings)
        report = monitor(scorecard, store_population(open_store(settings), load_shipped(PACK), day))
    except (FileNotFoundError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if json_output:
        _print_json(_monitor_json(report, day))
        return
    console = Console()
    table = Table(
        title=f"scorecard {report.version}: {report.training_subjects:,} trained on, "
        f"{report.current_subjects:,} in the store on {day}"
    )
    table.add_column("population")
    table.add_column("PSI", justify="right")
    table.add_column("status")
    for stability in (*report.features, report.score):
        table.add_row(stability.name, f"{stability.psi:.4f}", stability.status)
    console.print(table)
    shifted = [s.name for s in (*report.features, report.score) if s.status != "stable"]
    console.print(
        "every population is stable"
        if not shifted
        else f"to look at: {', '.join(shifted)} (PSI >= {STABLE_BELOW})"
    )


@app.command("score")
def score_command(
    subject: Annotated[str, typer.Argument(help="resident identity number of the person")],
    version: Annotated[
        str, typer.Option(help="artefact to score with: a version, a folder, or latest")
    ] = "latest",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="the day to score on (YYYY-MM-DD); default today"),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """A person's score from their own financial records, with its reasons.

    Shows each feature's value, bin and points, and the four features that cost the most
    points below their best bin.
    """
    from xinyong.scorecard.model import Scorecard
    from xinyong.store.runtime import open_store

    day = _date(as_of, "--as-of") or china_today()
    settings = get_settings()
    try:
        scorecard = Scorecard.load(version, settings)
    except (FileNotFoundError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    features = subject_features(open_store(settings), load_shipped(PACK), subject, day)
    if features is None:
        typer.echo(f"error: {subject} has no financial record in effect on {day}", err=True)
        raise typer.Exit(1)
    result = scorecard.score(features)
    if json_output:
        _print_json(
            {
                "subject": subject,
                "as_of": day.isoformat(),
                "version": scorecard.version,
                "points": result.points,
                "band": result.band,
                "features": {
                    name: None if math.isnan(value) else value for name, value in features.items()
                },
                "contributions": [item._asdict() for item in result.contributions],
                "reasons": [item._asdict() for item in result.reasons],
            }
        )
        return
    console = Console()
    table = Table(title=f"{subject}: {result.points} ({result.band}) on {day}")
    table.add_column("feature")
    table.add_column("value", justify="right")
    table.add_column("bin")
    table.add_column("points", justify="right")
    for item in result.contributions:
        value = features.get(item.feature)
        table.add_row(
            item.feature,
            "missing" if value is None or math.isnan(value) else f"{value:g}",
            item.bin,
            str(item.points),
        )
    console.print(table)
    for rank, reason in enumerate(result.reasons, 1):
        console.print(
            f"reason {rank}: {reason.feature} ({reason.description}): -{reason.lost} points"
        )
    if not result.reasons:
        console.print("no reason: every feature is in its best bin")
