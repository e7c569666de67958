"""The ``xinyong`` command line. Each feature owns its commands; this module assembles them.

A command's module is imported only when that command runs (or shows its own help): a start-up
that imported every feature took seconds, nearly all of it SQLAlchemy, FastAPI, DuckDB, pandas
and scikit-learn. ``FEATURE_COMMANDS`` names where each command lives and the line that
``xinyong --help`` shows for it (a test holds that line to the command's own help).
"""

import importlib
import json
import runpy
import sys
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from xinyong import __version__
from xinyong.options import JsonOutput


class FeatureCommand(NamedTuple):
    target: str
    """``module:attribute``: a command function or a Typer group."""
    summary: str
    """The first line of its help, for the list of commands."""


FEATURE_COMMANDS: dict[str, FeatureCommand] = {
    "id": FeatureCommand(
        "xinyong.identifiers.cli:id_command",
        "Validate and decode identifiers (GB 11643, GB 32100, GB 11714).",
    ),
    "ingest": FeatureCommand(
        "xinyong.ingest.cli:ingest_command",
        "Validate and store records; bad rows go to the quarantine with a reason.",
    ),
    "subject": FeatureCommand(
        "xinyong.subjects.cli:subject_command",
        "Show a subject's identity, flags, representation history and records with their history"
        " (with --json, each event's inclusion bundle, opened in full).",
    ),
    "synth": FeatureCommand(
        "xinyong.synth.cli:synth_command",
        "Generate a synthetic city: per-authority submission files and a manifest.",
    ),
    "demo": FeatureCommand(
        "xinyong.demo:demo_command",
        "Generate a synthetic city, ingest it, sign a ledger checkpoint and serve it.",
    ),
    "evaluate": FeatureCommand(
        "xinyong.evaluate.cli:evaluate_command",
        "Recompute every list entry, the measures index and every score, and publish them.",
    ),
    "check": FeatureCommand(
        "xinyong.enforcement.cli:check_command",
        "Decide whether SUBJECT may do ACTION, with measures, entries and legal basis.",
    ),
    "explain": FeatureCommand(
        "xinyong.scoring.cli:explain_command",
        "Explain SUBJECT's score under SCHEME: every contribution and the days it will change.",
    ),
    "policy": FeatureCommand(
        "xinyong.policy.cli:app",
        "Check, load and describe policy packs: the catalogue, authorities and their rules.",
    ),
    "keys": FeatureCommand(
        "xinyong.keys.cli:app", "API keys for authorities, relying parties and operators."
    ),
    "ledger": FeatureCommand(
        "xinyong.ledger.cli:app",
        "The verifiable ledger: signing key, checkpoints, verification, offline proof checks.",
    ),
    "users": FeatureCommand(
        "xinyong.accounts.cli:app", "Accounts of subjects and staff who sign in."
    ),
    "audit": FeatureCommand("xinyong.audit.cli:app", "The access log, for auditors."),
    "rights": FeatureCommand(
        "xinyong.rights.cli:app",
        "Subjects' rights: notices, expiry, objection and repair deadlines.",
    ),
    "scorecard": FeatureCommand(
        "xinyong.scorecard.cli:app",
        "The financial scorecard (350-950): train it, score a person, monitor its population.",
    ),
    "report": FeatureCommand(
        "xinyong.reports.cli:app", "Reports for policy analysts: fairness of grades across groups."
    ),
    "backup": FeatureCommand(
        "xinyong.operations.cli:backup_command",
        "Back up the store, consistent while the service writes (SQLite's online backup API, or"
        " pg_dump's custom format); the ledger's signing key only with --with-signing-key.",
    ),
    "restore": FeatureCommand(
        "xinyong.operations.cli:restore_command",
        "Restore a backup into the configured store (XINYONG_DATABASE_URL); a store that holds"
        " rows is replaced only with --force. Then run `xinyong init` and `xinyong ledger verify`.",
    ),
    "publish": FeatureCommand(
        "xinyong.datasets.cli:publish_command",
        "Publish a version of every public dataset (the lists and the public records) and of"
        " every relying party's feed, signed with the platform key.",
    ),
    "datasets": FeatureCommand(
        "xinyong.datasets.cli:app", "Published datasets: check what you downloaded."
    ),
    "mirror": FeatureCommand(
        "xinyong.mirror.cli:app",
        "A relying party's mirror: keep a local copy of your feed, decide locally.",
    ),
    "federation": FeatureCommand(
        "xinyong.federation.cli:app",
        "The network of nodes: links, batches, witnesses and alarms.",
    ),
}
"""The features' commands, in the order ``xinyong --help`` lists them after init, serve, bench."""

EXTRAS = {
    "optbinning": "scorecard",
    "sklearn": "scorecard",
    "pandas": "scorecard",
    "matplotlib": "reports",
    "faker": "synth",
    "pyspark": "spark",
}
"""The optional extras (pyproject.toml), by the module a command found missing."""

UNASSEMBLED = frozenset({"id", "policy", "check", "mirror"})
"""Commands that change no record or entry and rebuild nothing from the ledger: they run without
the assembly (``xinyong.assembly``), which would import every feature. The mirror runs at a
relying party, with no platform store at all."""


# Commands and contexts are click's, which typer vendors privately: typed loosely on purpose.
def load_command(name: str) -> Any:
    """Import the feature command ``name`` and return it as Click runs it."""
    module, attribute = FEATURE_COMMANDS[name].target.split(":")
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)
        group.name = name
        return group
    single = typer.Typer()
    single.command(name)(found)
    return typer.main.get_command(single)


class Commands(TyperGroup):
    """Every command: a store that needs ``xinyong init``, or a setting the environment gets
    wrong, is an error message, not a traceback."""

    listing = False
    """True while the help lists the commands: a feature's summary stands in for its module."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *FEATURE_COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in FEATURE_COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self.listing:
            summary = FEATURE_COMMANDS[cmd_name].summary
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as error:
            extra = EXTRAS.get((error.name or "").split(".")[0])
            if extra is None:
                raise
            typer.echo(
                f"this needs {error.name}, from the '{extra}' extra: "
                f"pip install 'xinyong[{extra}]' (make demo and make test install it)",
                err=True,
            )
            raise typer.Exit(2) from None
        except Exception as error:
            # Only a command that read the settings or opened a store can have raised these: no
            # need to import either to know.
            refusals = tuple(
                getattr(module, name)
                for module, name in (
                    (sys.modules.get("xinyong.config"), "SettingsError"),
                    (sys.modules.get("xinyong.store.driver"), "StoreNeedsInit"),
                )
                if module is not None
            )
            if not isinstance(error, refusals):
                raise
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
    if ctx.invoked_subcommand not in UNASSEMBLED:
        from xinyong.assembly import assemble

        assemble()
    # Every job ends with a checkpoint over what it logged, so its proofs answer at once.
    ctx.call_on_close(_sign_after_job)


@app.command("init")
def init_command(json_output: JsonOutput = False) -> None:
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
    if json_output:
        result = {
            "database_url": settings.resolved_database_url(),
            "pack": pack.name,
            "version": pack.version,
            "digest": pack.digest,
            "published": published,
        }
        typer.echo(json.dumps(result, indent=2))
        return
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

    from xinyong.config import get_settings
    from xinyong.datasets.worker import start_publisher
    from xinyong.federation.links import LinkError
    from xinyong.federation.relay import start_relay
    from xinyong.ledger.worker import start_checkpointer
    from xinyong.operations.serving import prepare_workers
    from xinyong.rights.worker import start_rights_worker

    if get_settings().password_hashing != "argon2id":
        typer.echo(
            "XINYONG_PASSWORD_HASHING=insecure-for-tests is for test suites only: "
            "a service hashes passwords with argon2id (unset it)",
            err=True,
        )
        raise typer.Exit(2)
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


def main() -> None:
    app()
