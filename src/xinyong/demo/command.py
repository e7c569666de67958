"""``xinyong demo``: build a synthetic city, ingest it, sign the ledger, print keys, serve."""

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from xinyong.config import get_settings
from xinyong.datasets.publish import Publisher
from xinyong.demo.accounts import demo_accounts
from xinyong.ingest.cli import ingest_files
from xinyong.keys.service import create_key
from xinyong.ledger import checkpoint
from xinyong.ledger.checkpoint import SigningKey, read_signing_key, write_signing_key
from xinyong.policy import load_shipped
from xinyong.records.publish import publish_pack
from xinyong.scoring.evaluation import evaluate_if_stale
from xinyong.scoring.packs import default_packs, unscorable
from xinyong.search.publish import refresh_search_index
from xinyong.store.runtime import init_store, open_store
from xinyong.synth import generate
from xinyong.synth.double_publicity import LAYOUT, profile_of

console = Console(stderr=True)
AS_OF = date(2026, 11, 1)
DEMO_KEYS: tuple[tuple[str, str | None, tuple[str, ...] | None], ...] = (
    ("authority", "court.110105", None),
    ("authority", "market.110105", None),
    ("relying_party", None, None),
    # An airline: its key's scope makes its mirror's feed (xinyong mirror sync).
    ("relying_party", None, ("buy_air_ticket",)),
)


def _signing_key(path: Path) -> SigningKey:
    if path.exists():
        return read_signing_key(path)
    key = SigningKey.generate()
    write_signing_key(path, key)
    return key


def _demo_keys(var: Path) -> list[dict[str, Any]]:
    """The demo's API keys, made once and kept in var/demo/keys.json so reruns print the same."""
    path = var / "demo" / "keys.json"
    if path.exists():
        keys: list[dict[str, Any]] = orjson.loads(path.read_bytes())
        return keys
    factory = open_store()
    keys = []
    with factory.begin() as session:
        for role, authority, actions in DEMO_KEYS:
            token = create_key(
                session,
                role=role,
                authority=authority,
                label="demo airline" if actions else f"demo {role} {authority or ''}".strip(),
                actions=actions,
            )
            keys.append({"role": role, "authority": authority, "actions": actions, "key": token})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(keys, option=orjson.OPT_INDENT_2))
    return keys


def _demo_scorecard(persons: int, seed: int) -> str:
    """The financial scorecard the demo scores with: trained once on synthetic borrowers."""
    financial = load_shipped("financial")
    if unscorable(financial) is None:
        return "already trained"
    console.print("training the financial scorecard on synthetic borrowers …")
    # Imported here: the training libraries take seconds to load, and only this step uses them.
    from xinyong.scorecard.population import synthetic_population
    from xinyong.scorecard.train import train

    population = synthetic_population(financial, min(max(persons, 5_000), 20_000), seed, AS_OF)
    report = train(population, settings=get_settings())
    return f"{report.scorecard.version} (holdout AUC {report.holdout.auc:.3f})"


def demo_command(
    persons: Annotated[int, typer.Option(help="persons in the synthetic city")] = 50_000,
    orgs: Annotated[int, typer.Option(help="organisations in the synthetic city")] = 5_000,
    seed: Annotated[int, typer.Option(help="seed: the same seed gives the same city")] = 1,
    host: Annotated[str, typer.Option(help="address to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to serve on")] = 8000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="serve after building")] = True,
    scorecard: Annotated[
        bool,
        typer.Option(
            "--scorecard/--no-scorecard",
            help="train the financial scorecard (seconds); without it no one has a financial score",
        ),
    ] = True,
) -> None:
    """Generate a synthetic city, ingest it, sign a ledger checkpoint and serve it."""
    started = time.perf_counter()
    settings = get_settings()
    factory = init_store(settings)  # the demo builds its own store: it runs `init` first
    pack = load_shipped("national")
    with factory.begin() as session:
        publish_pack(session, pack)

    city = settings.var_dir / "demo" / f"city-{seed}-{persons}-{orgs}"
    if not (city / "manifest.json").exists():
        console.print(f"generating the synthetic city into {city} …")
        generate(
            city, persons=persons, orgs=orgs, seed=seed, fmt="jsonl", as_of=AS_OF, layout=LAYOUT
        )
    manifest = orjson.loads((city / "manifest.json").read_bytes())
    files = [city / name for name in manifest["ingest_order"]]
    summaries = ingest_files(files, today=AS_OF, skip_complete=True)
    # Licences and penalties come as offices send them: workbooks and GBK CSV, read through
    # the national pack's double-publicity profiles once the subjects are known.
    for name in manifest.get("layout_files", []):
        files.append(city / name)
        summaries += ingest_files(
            [city / name],
            today=AS_OF,
            skip_complete=True,
            profile=profile_of(name),
            encoding="auto",
        )

    keys = _demo_keys(settings.var_dir)
    search = refresh_search_index(factory, pack, settings.var_dir / "search", AS_OF)
    trained = _demo_scorecard(persons, seed) if scorecard else "not trained (--no-scorecard)"
    evaluation, _ = evaluate_if_stale(factory, default_packs(), AS_OF)
    accounts = demo_accounts(factory, settings.var_dir)
    # Signed last, over every event the steps above logged: each proof link answers at once.
    with factory.begin() as session:
        head = checkpoint(session, _signing_key(settings.ledger_key_path))
    publisher = Publisher(factory, pack, settings)
    published = publisher.publish_public() + publisher.publish_feeds()

    table = Table(
        title=f"synthetic city (seed {seed}): {persons:,} persons, {orgs:,} organisations"
    )
    for column in ("files ingested now", "rows", "accepted", "corrected", "withdrawn", "rejected"):
        table.add_column(column, justify="right")
    fresh = [s for s in summaries if not s.skipped]
    table.add_row(
        f"{len(fresh)} of {len(files)}",
        *(
            f"{sum(getattr(s, name) for s in fresh):,}"
            for name in ("rows", "accepted", "corrected", "withdrawn", "rejected")
        ),
    )
    out = Console()
    out.print(table)
    out.print(f"store: {settings.resolved_database_url()}")
    out.print(
        f"ledger: {head.tree_size:,} events, root {head.root_hash.hex()[:16]}…, signed checkpoint"
    )
    made = [outcome for outcome in published if outcome.version is not None]
    out.print(
        f"datasets: {len(made)} version(s) published into {publisher.shelf.root} "
        "(GET /v1/datasets; relying parties' feeds: xinyong mirror sync)"
    )
    for key in keys:
        who = f" for {key['authority']}" if key["authority"] else ""
        if key.get("actions"):
            who = f" scoped to {', '.join(key['actions'])}"
        out.print(f"API key ({key['role']}{who}): {key['key']}", soft_wrap=True)
    for account in accounts:
        linked = account["subject"] or account["authority"]
        out.print(
            f"sign in as {account['role']}{f' {linked}' if linked else ''}: "
            f"{account['username']} / {account['password']}",
            soft_wrap=True,
        )
    out.print(
        f"search index: {search.subjects:,} subjects ({search.persons:,} published defaulters)"
    )
    out.print(f"financial scorecard: {trained}")
    out.print(f"scores: evaluation {evaluation} (`xinyong explain SUBJECT city.points` says why)")
    out.print(f"ready in {time.perf_counter() - started:,.1f} s")
    if not serve:
        return
    out.print(f"serving on http://{host}:{port}/  (API: http://{host}:{port}/docs; Ctrl-C stops)")
    import uvicorn

    from xinyong.datasets.worker import start_publisher
    from xinyong.ledger.worker import start_checkpointer
    from xinyong.rights.worker import start_rights_worker

    start_rights_worker()  # expiry daily, notices every few minutes (to var/notices.jsonl)
    start_checkpointer()  # a checkpoint every minute while the log grows
    start_publisher()  # feeds within a second of a change, public datasets daily
    uvicorn.run("xinyong.app:create_app", factory=True, host=host, port=port, log_level="warning")
