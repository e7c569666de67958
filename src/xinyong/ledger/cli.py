"""``xinyong ledger``: the signing key, checkpoints, verification of the ledger and its proofs."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import get_settings
from xinyong.ledger import service, verification
from xinyong.ledger.bundle import BundleError, parse_bundle, verify_bundle
from xinyong.ledger.checkpoint import (
    DEFAULT_ORIGIN,
    CheckpointError,
    RetiredKey,
    SigningKey,
    VerifierKey,
    read_retired_keys,
    read_retired_list,
    read_signing_key,
    read_verifier_key,
    read_verifier_text,
    retire_key,
    retired_keys_path,
    write_signing_key,
)
from xinyong.ledger.commitment import EVENT_MEMBER
from xinyong.ledger.cosignature import CosignerKey
from xinyong.ledger.models import LedgerCheckpoint
from xinyong.ledger.recommit import RecommitError, first_scheme_events, recommit
from xinyong.store.db import make_engine, make_sessionmaker

app = typer.Typer(
    help="The verifiable ledger: signing key, checkpoints, verification, offline proof checks.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
SHOWN_DIVERGENCES = 10


class DerivedReport(Protocol):
    """What a check of the state derived from the logged records found."""

    @property
    def ok(self) -> bool: ...

    def as_json(self) -> dict[str, Any]: ...


class CheckDerived(Protocol):
    def __call__(
        self, factory: sessionmaker[Session], console: Console, *, quiet: bool
    ) -> DerivedReport: ...


@dataclass(frozen=True)
class DerivedCheck:
    """How ``verify`` recomputes and shows the state derived from the logged records (heads,
    subjects, entries, indexes): the features that derive it know how, not the ledger, so the
    assembly registers it (``xinyong.integrity``)."""

    check: CheckDerived
    show: Callable[[Any, Console], None]


_derived: list[DerivedCheck] = []


def register_derived_check(derived: DerivedCheck) -> None:
    """Have ``verify`` run ``derived`` after the tree's own verification (it replaces the one
    registered before)."""
    _derived[:] = [derived]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _json(document: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True).print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)


def _store() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().resolved_database_url()))


def _signing_key() -> SigningKey:
    path = get_settings().ledger_key_path
    try:
        return read_signing_key(path)
    except FileNotFoundError:
        raise _fail(f"no signing key at {path}: run `xinyong ledger keygen` first") from None
    except (OSError, CheckpointError) as error:
        raise _fail(f"cannot read the signing key at {path}: {error}") from None


def _witness(text: str) -> CosignerKey:
    try:
        return CosignerKey.parse(read_verifier_text(text))
    except CheckpointError as error:
        raise _fail(f"--witness: {error}") from None


def _verifier(key: str | None) -> VerifierKey:
    if key is None:
        return _signing_key().verifier
    try:
        return read_verifier_key(key)
    except CheckpointError as error:
        raise _fail(f"--key: {error}") from None


@app.command()
def keygen(
    origin: Annotated[
        str, typer.Option(help="the log's name: the first line of every checkpoint")
    ] = DEFAULT_ORIGIN,
    force: Annotated[
        bool,
        typer.Option("--force", help="replace an existing key, retiring it (key rotation)"),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Create the Ed25519 signing key (under XINYONG_VAR_DIR/ledger/) and print its public key.

    With --force, the key it replaces is retired: listed in ledger/retired.keys with the size of
    the largest checkpoint in the store, so that `ledger verify` still trusts it for the
    checkpoints it signed, and for none signed later."""
    path = get_settings().ledger_key_path
    if path.exists() and not force:
        raise _fail(
            f"a signing key already exists at {path}; pass --force to replace it (the old key "
            "is retired: it still vouches for the checkpoints it signed, and for none after)"
        )
    try:
        key = SigningKey.generate(origin)
    except CheckpointError as error:
        raise _fail(f"--origin: {error}") from None
    retired = _retiring(path)
    if retired is not None:
        retire_key(path, retired)
    write_signing_key(path, key)
    public = key.verifier
    if json_output:
        _json(
            {
                "path": str(path),
                "origin": public.name,
                "key": public.encode(),
                "key_id": public.key_id.hex(),
                "retired": None
                if retired is None
                else {"key": retired.key.encode(), "last_size": retired.last_size},
            }
        )
        return
    console = Console()
    console.print(
        f"signing key written to [bold]{path}[/bold] (readable by its owner only)",
        highlight=False,
        soft_wrap=True,
    )
    if retired is not None:
        console.print(
            f"the old key {retired.key.encode()} is retired: it vouches for checkpoints of up to "
            f"{_count(retired.last_size, 'event')} (listed in {retired_keys_path(path)})",
            highlight=False,
            soft_wrap=True,
        )
    console.print("publish this verifier key; relying parties pin it:", highlight=False)
    console.print(public.encode(), highlight=False, soft_wrap=True)


def _retiring(path: Path) -> RetiredKey | None:
    """The key at ``path`` as it is retired now (None: there is none, or it cannot be read,
    and then its checkpoints verify only with ``verify --key``)."""
    try:
        old = read_signing_key(path).verifier
    except FileNotFoundError:
        return None
    except (OSError, CheckpointError) as error:
        Console(stderr=True).print(
            f"[yellow]the old key at {path} cannot be read ({error}), so it is not retired: the "
            "checkpoints it signed verify only with `ledger verify --key` and its verifier key[/]",
            highlight=False,
            soft_wrap=True,
        )
        return None
    try:
        with _store()() as session:
            # A store never initialised holds no checkpoint.
            if not inspect(session.connection()).has_table(LedgerCheckpoint.__tablename__):
                return RetiredKey(old, 0)
            latest = service.latest_checkpoint(session)
    except SQLAlchemyError as error:
        raise _fail(f"cannot read the store's checkpoints to retire the old key: {error}") from None
    return RetiredKey(old, 0 if latest is None else latest.tree_size)


@app.command("checkpoint")
def checkpoint_command(json_output: JsonFlag = False) -> None:
    """Sign the ledger's current head (the latest checkpoint is reused if it already covers it)."""
    key = _signing_key()
    try:
        with _store().begin() as session:
            signed = service.checkpoint(session, key)
    except (SQLAlchemyError, service.LedgerDamaged) as error:
        raise _fail(f"cannot sign a checkpoint: {error}") from None
    if json_output:
        _json(
            {
                "origin": signed.origin,
                "tree_size": signed.tree_size,
                "root_hash": signed.root_hash.hex(),
                "note": signed.note,
            }
        )
        return
    console = Console()
    console.print(
        f"checkpoint of [bold]{_count(signed.tree_size, 'event')}[/bold] signed by {signed.origin}",
        highlight=False,
    )
    console.print(signed.note, highlight=False, soft_wrap=True, end="")


@app.command()
def verify(
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="the verifier key to trust (inline or a file); default: from the signing key",
        ),
    ] = None,
    retired: Annotated[
        Path | None,
        typer.Option(
            "--retired",
            help="the keys the trusted one replaced, a line `SIZE KEY` each: each vouches for "
            "checkpoints of up to SIZE events; default: ledger/retired.keys beside the signing "
            "key (none with --key)",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Recompute the tree from the store, check every checkpoint, then recompute from the logged
    records everything derived from them (heads, subjects, representatives, entries, the measures
    and search indexes); exit 1 on any divergence or difference."""
    trusted = _verifier(key)
    before = _retired(retired, key is None)
    console = Console(stderr=True)
    store = _store()
    try:
        with store() as session:
            columns = (
                TextColumn("verifying the ledger"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=console, disable=json_output) as progress:
                task = progress.add_task("verify", total=service.ledger_size(session))
                report = verification.verify(
                    session,
                    trusted,
                    retired=before,
                    progress=lambda done: progress.advance(task, done),
                )
        derived = [(item, item.check(store, console, quiet=json_output)) for item in _derived]
        derived_ok = all(found.ok for _, found in derived)
    except SQLAlchemyError as error:
        raise _fail(f"cannot read the ledger: {error}") from None
    if json_output:
        _json(
            {
                "ok": report.ok and derived_ok,
                "tree_size": report.tree_size,
                "checkpoints": report.checkpoints,
                "key": trusted.encode(),
                "retired": [
                    {"key": item.key.encode(), "last_size": item.last_size} for item in before
                ],
                "signed_by": report.signed_by,
                "erased": report.erased,
                "total_divergences": report.total_divergences,
                "divergences": [
                    {
                        "position": item.position,
                        "leaf_index": item.leaf_index,
                        "kind": item.kind,
                        "ref": item.ref,
                        "checkpoint_id": item.checkpoint_id,
                        "reason": item.reason,
                        "description": item.describe(),
                    }
                    for item in report.divergences
                ],
                "derived": derived[0][1].as_json() if derived else None,
            }
        )
    else:
        _print_report(report, trusted, before)
        for item, found in derived:
            item.show(found, Console())
    if not (report.ok and derived_ok):
        raise typer.Exit(1)


def _retired(path: Path | None, beside_the_signing_key: bool) -> list[RetiredKey]:
    """The retired keys to trust: those listed at ``path``, or beside the signing key."""
    try:
        if path is not None:
            return read_retired_list(path)
        if beside_the_signing_key:
            return read_retired_keys(get_settings().ledger_key_path)
    except (OSError, CheckpointError) as error:
        raise _fail(f"cannot read the retired keys: {error}") from None
    return []


def _signers(
    report: verification.VerifyReport, trusted: VerifierKey, retired: list[RetiredKey]
) -> str:
    """Who signed the checkpoints that held: the trusted key, or each key that signed some."""
    described = {trusted.encode(): f"{trusted.name} (key {trusted.key_id.hex()})"}
    for item in retired:
        described[item.key.encode()] = (
            f"{item.key.name} (key {item.key.key_id.hex()}, retired at "
            f"{_count(item.last_size, 'event')})"
        )
    used = [(text, count) for text, count in report.signed_by.items() if count]
    if len(used) <= 1:
        return "signed by " + described[used[0][0] if used else trusted.encode()]
    return "signed: " + ", ".join(f"{count} by {described[text]}" for text, count in used)


def _print_report(
    report: verification.VerifyReport, trusted: VerifierKey, retired: list[RetiredKey]
) -> None:
    console = Console()
    signer = _signers(report, trusted, retired)
    erased = (
        f"; {_count(report.erased, 'event')} erased at the end of retention (unopened, their "
        "leaf hashes still hold the tree)"
        if report.erased
        else ""
    )
    if report.first is None:
        console.print(
            f"[green]ledger verified[/green]: {_count(report.tree_size, 'event')}, "
            f"{_count(report.checkpoints, 'checkpoint')} {signer}{erased}",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(
        f"[red bold]the ledger diverges[/red bold] from what was logged and {signer}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"first divergence: [bold]{report.first.describe()}[/bold]", highlight=False, soft_wrap=True
    )
    table = Table(title=f"{_count(report.total_divergences, 'divergence')}, earliest first")
    table.add_column("event", justify="right")
    table.add_column("kind and ref")
    table.add_column("what", overflow="fold")
    for item in report.divergences[:SHOWN_DIVERGENCES]:
        table.add_row(
            "" if item.leaf_index is None else str(item.leaf_index),
            "" if item.kind is None else f"{item.kind} {item.ref}",
            item.reason,
        )
    console.print(table)
    if report.total_divergences > SHOWN_DIVERGENCES:
        console.print(f"... and {report.total_divergences - SHOWN_DIVERGENCES} more (see --json)")


@app.command("verify-proof")
def verify_proof(
    file: Annotated[
        Path, typer.Argument(help="a proof bundle, as GET /v1/ledger/proof/... returns it")
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="the published verifier key to trust (inline or a file); default: the bundle's",
        ),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            help="a witness key to trust (inline or a file; repeat for each); default: the "
            "bundle's",
        ),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option(
            min=0, help="how many of the --witness keys must have cosigned (default: all)"
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Check a proof bundle offline against its signed checkpoint and the witnesses'
    cosignatures on it; exit 1 if it does not hold."""
    try:
        document = file.read_bytes()
    except OSError as error:
        raise _fail(f"cannot read {file}: {error}") from None
    trusted = None if key is None else _verifier(key)
    witnesses = None if not witness else [_witness(text) for text in witness]
    if quorum is not None and (witnesses is None or quorum > len(witnesses)):
        raise _fail("--quorum counts --witness keys: give at least that many")
    try:
        verdict = verify_bundle(parse_bundle(document), trusted, witnesses, quorum)
    except BundleError as error:
        if json_output:
            _json({"ok": False, "reason": str(error)})
            raise typer.Exit(1) from None
        raise _fail(f"proof rejected: {error}", code=1) from None
    if json_output:
        _json(
            {
                "ok": True,
                "statement": verdict.statement,
                "origin": verdict.origin,
                "tree_size": verdict.tree_size,
                "key": verdict.key,
                "key_pinned": verdict.key_pinned,
                "disclosed": verdict.disclosed,
                "cosigned_by": [
                    {"witness": found.witness, "time": found.timestamp}
                    for found in verdict.cosigned_by
                ],
                "witnesses_pinned": verdict.witnesses_pinned,
            }
        )
        return
    console = Console()
    console.print(
        f"[green]proof holds[/green]: {verdict.statement}", highlight=False, soft_wrap=True
    )
    content = {name: value for name, value in verdict.disclosed.items() if name != EVENT_MEMBER}
    if content:
        table = Table(title="what was logged")
        table.add_column("member")
        table.add_column("value", overflow="fold")
        for name, value in sorted(content.items()):
            shown = value if isinstance(value, str) else orjson.dumps(value).decode()
            table.add_row(name, shown)
        console.print(table)
    if verdict.cosigned_by:
        witnessed = ", ".join(
            f"{found.witness} at {datetime.fromtimestamp(found.timestamp, UTC):%Y-%m-%d %H:%M:%S} UTC"
            for found in verdict.cosigned_by
        )
        console.print(
            f"cosigned by {_count(len(verdict.cosigned_by), 'witness')}"
            + ("" if verdict.witnesses_pinned else " (keys the bundle carries)")
            + f": {witnessed}",
            highlight=False,
            soft_wrap=True,
        )
    elif not verdict.witnesses_pinned:
        console.print("no witness has cosigned this checkpoint", highlight=False)
    if not verdict.key_pinned:
        console.print(
            f"[yellow]checked against the key the bundle carries[/yellow] ({verdict.key}); "
            "compare it with the published key, or pass it with --key",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def migrate(
    origin: Annotated[
        str, typer.Option(help="the new log's name: the first log's checkpoints keep the old one")
    ] = DEFAULT_ORIGIN,
    json_output: JsonFlag = False,
) -> None:
    """Move a ledger of the first scheme to salted commitments, under a new origin and key.

    Every event keeps its position and is committed again from the store as it is now; the
    first log's checkpoints are archived beside the signing key and deleted; a new signing key
    is made for ORIGIN and signs the first checkpoint of the new log.
    """
    settings = get_settings()
    factory = _store()
    with factory() as session:
        left = first_scheme_events(session)
    if not left:
        raise _fail("every event is already committed under a salt: nothing to migrate", code=1)
    try:
        key = SigningKey.generate(origin)
    except CheckpointError as error:
        raise _fail(f"--origin: {error}") from None
    path = settings.ledger_key_path
    try:
        retiring = read_signing_key(path).name if path.exists() else None
    except (OSError, CheckpointError) as error:
        raise _fail(f"cannot read the signing key at {path}: {error}") from None
    if retiring == origin:
        raise _fail(f"--origin: the first log is {origin!r}; the new one needs another name")
    archive = path.parent / "first-log-checkpoints.txt"
    fresh = path.with_name(path.name + ".new")
    console = Console(stderr=True)
    try:
        columns = (TextColumn("recommitting"), BarColumn(), MofNCompleteColumn())
        with (
            Progress(*columns, console=console, disable=json_output) as progress,
            factory.begin() as session,
        ):
            task = progress.add_task("recommit", total=service.ledger_size(session))
            done, retired = recommit(session, lambda n: progress.advance(task, n))
            signed = service.checkpoint(session, key)
            # Written before the commit, so a failure leaves the store and the keys unchanged.
            archive.parent.mkdir(parents=True, exist_ok=True)
            with archive.open("a") as file:
                file.writelines(item.note + "\n" for item in retired)
            write_signing_key(fresh, key)
    except (SQLAlchemyError, RecommitError, service.LedgerDamaged) as error:
        fresh.unlink(missing_ok=True)
        raise _fail(f"cannot migrate the ledger: {error}") from None
    if path.exists():
        path.replace(path.with_name(path.name + ".first-log"))
    fresh.replace(path)
    result = {
        "recommitted": done,
        "retired_checkpoints": len(retired),
        "archive": str(archive),
        "origin": signed.origin,
        "key": key.verifier.encode(),
        "tree_size": signed.tree_size,
        "root_hash": signed.root_hash.hex(),
    }
    if json_output:
        _json(result)
        return
    out = Console()
    out.print(
        f"{_count(done, 'event')} recommitted; {_count(len(retired), 'checkpoint')} of the first "
        f"log archived in {archive}; the new log {signed.origin} signed its first checkpoint "
        f"({_count(signed.tree_size, 'event')})",
        highlight=False,
        soft_wrap=True,
    )
    out.print("publish the new verifier key:", highlight=False)
    out.print(key.verifier.encode(), highlight=False, soft_wrap=True)
