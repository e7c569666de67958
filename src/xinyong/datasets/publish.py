"""Publishing: a version of every public dataset and of every relying party's feed.

Public datasets get a new version when their rows or their day changed (``xinyong publish``,
the demo and a serving process after each evaluation and at least daily); each names the
ledger checkpoint signed at that moment, which covers every record event its rows rest on.
Feeds get a new version whenever the measures index moved (a serving process looks every
``XINYONG_PUBLISH_INTERVAL`` seconds) and at least daily; each names the latest checkpoint
and the index's change counter it was cut at. Every manifest is signed with the platform key
(the ledger's signing key, published at ``GET /v1/ledger/key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_day, utc_now
from xinyong.config import Settings
from xinyong.datasets import public
from xinyong.datasets.feeds import (
    FeedState,
    Scope,
    after,
    index_rows,
    index_seq,
    live_scopes,
    next_version,
)
from xinyong.datasets.manifest import Manifest
from xinyong.datasets.versions import PUBLIC, Change, Publication, Shelf
from xinyong.ledger import Checkpoint, checkpoint
from xinyong.ledger.checkpoint import CheckpointError, SigningKey, read_signing_key
from xinyong.ledger.service import latest_checkpoint
from xinyong.policy import Pack
from xinyong.scoring.store import current_evaluation


class NoSigningKey(RuntimeError):
    """Nothing is published unsigned: the platform key is missing or unreadable."""


@dataclass(frozen=True)
class Published:
    """One dataset's outcome: the version made (None: nothing changed since the latest)."""

    dataset: str
    kind: str
    version: int | None
    rows: int
    added: int
    modified: int
    deleted: int
    snapshot: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _checkpoint_meta(signed: Checkpoint | None) -> dict[str, Any] | None:
    if signed is None:
        return None
    return {
        "origin": signed.origin,
        "tree_size": signed.tree_size,
        "root_hash": signed.root_hash.hex(),
    }


def _outcome(publication: Publication, manifest: Manifest | None) -> Published:
    change = publication.change
    return Published(
        publication.dataset,
        publication.kind,
        None if manifest is None else manifest.version,
        len(publication.rows),
        change.added,
        change.modified,
        change.deleted,
        publication.snapshot and manifest is not None,
    )


class Publisher:
    """Publishes one store's datasets onto one shelf; keeps each feed's latest rows in memory
    between publications (a serving process publishes a feed every second while the index
    moves, and reads only the index rows that changed)."""

    def __init__(self, factory: sessionmaker[Session], pack: Pack, settings: Settings) -> None:
        self.factory = factory
        self.pack = pack
        self.shelf = Shelf(settings.datasets_path)
        self.key_path = settings.ledger_key_path
        self.keep_public = timedelta(days=settings.datasets_keep_days)
        self.keep_feeds = timedelta(hours=settings.feeds_keep_hours)
        self.feeds: dict[str, FeedState] = {}

    def signing_key(self) -> SigningKey:
        try:
            return read_signing_key(self.key_path)
        except (OSError, CheckpointError) as error:
            raise NoSigningKey(
                f"no platform key at {self.key_path} ({error}); run `xinyong ledger keygen`: "
                "published data is signed with it"
            ) from None

    def public_due(self, day: date) -> bool:
        """Whether an evaluation completed, or the day moved, since the public datasets'
        latest versions (or there are none yet)."""
        latest = self.shelf.latest(public.RECORDS)
        if latest is None or latest.document.get("as_of") != day.isoformat():
            return True
        with self.factory() as session:
            evaluation = current_evaluation(session)
        published = latest.document.get("source", {}).get("evaluation")
        return evaluation is not None and evaluation.id != published

    def publish_public(self, now: datetime | None = None, force: bool = False) -> list[Published]:
        """A version of every public dataset whose rows or day changed (all of them with
        ``force``)."""
        key = self.signing_key()
        now = now or utc_now()
        day = china_day(now)
        with self.factory() as session:
            rows = public.public_rows(session, self.pack, day)
            evaluation = current_evaluation(session)
        with self.factory.begin() as session:
            signed = checkpoint(session, key)
        titles = public.titles(self.pack)
        meta = {
            "as_of": day.isoformat(),
            "checkpoint": _checkpoint_meta(signed),
            "policy_version": self.pack.policy_version,
            "source": {"evaluation": None if evaluation is None else evaluation.id},
        }
        outcomes = []
        with self.shelf.turn():
            for name, current in rows.items():
                latest = self.shelf.latest(name)
                before = {} if latest is None else self.shelf.snapshot_rows(name, latest.version)
                change = Change.between(before, current)
                publication = Publication(
                    name,
                    PUBLIC,
                    titles[name],
                    public.KEY,
                    current,
                    change,
                    snapshot=True,
                    formats=("jsonl", "csv", "parquet"),
                    meta=meta,
                )
                unchanged = (
                    latest is not None
                    and not change.ops
                    and latest.document.get("as_of") == meta["as_of"]
                    and latest.document.get("source") == meta["source"]
                )
                manifest = (
                    None
                    if unchanged and not force
                    else self.shelf.publish(publication, key, now, self.keep_public)
                )
                outcomes.append(_outcome(publication, manifest))
        return outcomes

    def publish_feeds(self, now: datetime | None = None) -> list[Published]:
        """A version of every live scope's feed whose content or day changed."""
        key = self.signing_key()
        now = now or utc_now()
        day = china_day(now)
        with self.factory() as session:
            scopes = {
                scope.name: scope
                for scope in (Scope.of(self.pack, actions) for actions in live_scopes(session))
            }
        outcomes = []
        with self.shelf.turn():
            states = {name: self._state(name) for name in scopes}
            # One read of the index serves every feed: all rows if some feed needs them.
            since = min((state.index_seq for state in states.values()), default=0)
            everything = any(
                state.version == 0
                or state.day != day.isoformat()
                or state.policy != scopes[name].policy()
                for name, state in states.items()
            )
            with self.factory() as session:
                seq = index_seq(session)
                if states and (everything or seq != since):
                    read = index_rows(session, None if everything or since < 0 else since)
                else:
                    read = {}
                signed = latest_checkpoint(session)
            meta: Mapping[str, Any] = {
                "checkpoint": _checkpoint_meta(signed),
                "source": {"index_seq": seq},
            }
            for name, scope in sorted(scopes.items()):
                state = states[name]
                if not everything and state.index_seq == seq:
                    continue
                publication = next_version(state, scope, read, everything, day, now, meta)
                if publication is None:
                    self.feeds[name] = _moved(state, seq)
                    continue
                manifest = self.shelf.publish(publication, key, now, self.keep_feeds)
                published_at = manifest.document["published_at"]
                self.feeds[name] = after(state, publication, manifest.version, published_at)
                outcomes.append(_outcome(publication, manifest))
        return outcomes

    def _state(self, name: str) -> FeedState:
        """The feed's latest state: kept in memory, read again from the shelf when another
        process published since."""
        index = self.shelf.index(name)
        kept = self.feeds.get(name)
        latest = 0 if index is None else index["latest"]
        if kept is None or kept.version != latest:
            kept = self.feeds[name] = FeedState.load(self.shelf, name)
        return kept


def _moved(state: FeedState, seq: int) -> FeedState:
    """The same rows, known to hold up to ``seq`` of the index."""
    state.index_seq = seq
    return state
