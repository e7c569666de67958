"""The ``xinyong`` command line. Each feature owns its commands; this module assembles them."""

import runpy
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from xinyong import __version__
from xinyong.accounts.cli import app as users_app
from xinyong.assembly import assemble
from xinyong.audit.cli import app as audit_app
from xinyong.datasets.cli import app as datasets_app
from xinyong.datasets.cli import publish_command
from xinyong.demo import demo_command
from xinyong.enforcement.cli import check_command
from xinyong.evaluate.cli import evaluate_command
from xinyong.federation.cli import app as federation_app
from xinyong.identifiers.cli import id_command
from xinyong.ingest.cli import ingest_command
from xinyong.keys.cli import app as keys_app
from xinyong.ledger.cli import app as ledger_app
from xinyong.mirror.cli import app as mirror_app
from xinyong.operations.cli import backup_command, restore_command
from xinyong.policy.cli import app as policy_app
from xinyong.reports.cli import app as report_app
from xinyong.rights.cli import app as rights_app
from xinyong.scorecard.cli import app as scorecard_app
from xinyong.scoring.cli import explain_command
from xinyong.subjects.cli import subject_command
from xinyong.synth.cli import synth_command


class Commands(TyperGroup):
    """Every command: a store that needs ``xinyong init`` is an error message, not a traceback."""

    # The context is click's, which typer vendors privately: typed loosely on purpose.
    def invoke(self, ctx: Any) -> Any:
        from xinyong.store.runtime import StoreNeedsInit

        try:
            return super().invoke(ctx)
        except StoreNeedsInit as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="xinyong",
    cls=Commands,
    help="xinyong 信用: a public credit information platform on law, in the open, with redress.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xinyong {__version__}")
        raise typer.Exit()


def _sign_after_job() -> None:
    """Sign the head of every store the job opened, so that what it logged is provable at once
    (nothing is signed where nothing was appended, or without a key)."""
    # Only a command that opened a store has imported its runtime; `xinyong id` never loads it.
    runtime = sys.modules.get("xinyong.store.runtime")
    if runtime is None:
        return
    from xinyong.config import get_settings
    from xinyong.ledger.worker import sign_checkpoint_if_keyed

    for factory in runtime.opened_stores():
        sign_checkpoint_if_keyed(factory, get_settings().ledger_key_path)


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Settings come from the environment: XINYONG_DATABASE_URL (default: a SQLite file under ./var/)."""
    assemble()
    # Every job ends with a checkpoint over what it logged, so its proofs answer at once.
    ctx.call_on_close(_sign_after_job)


@app.command("init")
def init_command() -> None:
    """Create or upgrade the store's schema (no other command does) and publish the policy pack in
    force (XINYONG_PACK)."""
    from xinyong.config import get_settings
    from xinyong.policy import pack_in_force
    from xinyong.records.publish import publish_pack
    from xinyong.store.runtime import init_store

    settings = get_settings()
    factory = init_store(settings)
    pack = pack_in_force()
    with factory.begin() as session:
        published = publish_pack(session, pack)
    typer.echo(f"store ready at {settings.resolved_database_url()}")
    typer.echo(
        f"policy pack {pack.name} {pack.version} "
        + ("published" if published else "already current")
        + f" (digest {pack.digest[:16]}…)"
    )


WORKER_START_SECONDS = 60


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the HTTP API and pages with uvicorn; expiry, notices, ledger checkpoints, the
    publication of datasets and feeds and, on a node of a network, the exchange with its
    neighbours run in the background."""
    import uvicorn

    from xinyong.datasets.worker import start_publisher
    from xinyong.federation.links import LinkError
    from xinyong.federation.relay import start_relay
    from xinyong.ledger.worker import start_checkpointer
    from xinyong.operations.serving import prepare_workers
    from xinyong.rights.worker import start_rights_worker

    log_config = prepare_workers()  # JSON log lines; workers share their counts for /metrics
    start_rights_worker()  # off with XINYONG_RIGHTS_WORKER=false
    start_checkpointer()  # a checkpoint every XINYONG_CHECKPOINT_INTERVAL s while the log grows
    start_publisher()  # feeds within XINYONG_PUBLISH_INTERVAL s of a change; public data daily
    try:
        start_relay()  # batches and cosignatures with the neighbours the settings name, if any
    except LinkError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    # Which proxies to believe is the app's setting (XINYONG_TRUSTED_PROXIES), not uvicorn's.
    uvicorn.run(
        "xinyong.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_config=log_config,
        access_log=False,  # the request line (with its id) replaces uvicorn's
        # A new worker imports the whole command line before it answers uvicorn's pings: on a
        # busy machine that takes longer than uvicorn's 5 s, and it would kill it forever.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )


@app.command("bench")
def bench_command(
    quick: Annotated[bool, typer.Option("--quick", help="small sizes, for a smoke run")] = False,
) -> None:
    """Run the benchmarks in ./benchmarks and write docs/performance.md and .json."""
    runner = Path("benchmarks/run.py")
    if not runner.is_file():
        typer.echo("run this from a source checkout: benchmarks/run.py is not here", err=True)
        raise typer.Exit(2)
    sys.argv = [str(runner), *(["--quick"] if quick else [])]
    runpy.run_path(str(runner), run_name="__main__")


app.command("id")(id_command)
app.command("ingest")(ingest_command)
app.command("subject")(subject_command)
app.command("synth")(synth_command)
app.command("demo")(demo_command)
app.command("evaluate")(evaluate_command)
app.command("check")(check_command)
app.command("explain")(explain_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("publish")(publish_command)
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
app.add_typer(ledger_app, name="ledger")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(rights_app, name="rights")
app.add_typer(scorecard_app, name="scorecard")
app.add_typer(report_app, name="report")
app.add_typer(datasets_app, name="datasets")
app.add_typer(mirror_app, name="mirror")
app.add_typer(federation_app, name="federation")


def main() -> None:
    app()
