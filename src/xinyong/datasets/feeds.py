"""Relying-party feeds: per scope, the subjects whose decision for its actions is not a plain
allow, with the grants behind it and nothing else.

A feed is cut from the measures index, the very rows the check service decides from: a
subject's row of the index, keeping only the grants whose bundle touches an action of the
scope and that have not ended by the feed's day. With the decision table of those actions
(``policy.json``: the measures with their legal basis, the lists, and how stale a mirror may
answer for each action) a mirror decides with the same function on the same grants, so it
answers as the central API does. A feed holds full identity numbers, so it is served only to
keys of its scope, never listed publicly.

Feeds move with the index: a version is published whenever the index's change counter
moves (within a second of a listing while serving), and at least daily (the day moves, and
grants that ended drop out). Most versions carry only their delta; a snapshot of every row
is published with the first version and then daily, so a mirror behind the window reloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.datasets.manifest import DEL, DELTA, POLICY, operations
from xinyong.datasets.versions import FEED, Change, Publication, Shelf
from xinyong.enforcement.bundles import build_bundles, decision_table
from xinyong.enforcement.decisions import DecisionTable
from xinyong.enforcement.models import IndexState, MeasureIndexRow
from xinyong.keys.models import ApiKey
from xinyong.policy import Pack

KEY = "subject"
SNAPSHOT_EVERY = timedelta(hours=24)
"""How often a feed carries all its rows again (and always its first version)."""
CHUNK = 50_000
_BUNDLE, _VALID_TO = 0, 2  # positions in a grant's JSON (``Grant.as_json``)


def feed_name(actions: Iterable[str]) -> str:
    """The feed of a scope: the same for every key that implements the same actions."""
    scope = ",".join(sorted(set(actions)))
    return f"feed.{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


def live_scopes(session: Session) -> set[frozenset[str]]:
    """The scopes of relying parties' live keys."""
    return {
        frozenset(actions)
        for actions in session.scalars(
            select(ApiKey.actions).where(
                ApiKey.revoked_at.is_(None),
                ApiKey.role == "relying_party",
                ApiKey.actions.is_not(None),
            )
        )
        if actions
    }


@dataclass(frozen=True)
class Scope:
    """A feed's actions and what its mirror decides them with."""

    actions: frozenset[str]
    table: DecisionTable
    staleness: Mapping[str, int]
    """Action -> seconds a mirror may answer from a feed it has not confirmed current."""

    @classmethod
    def of(cls, pack: Pack, actions: Iterable[str]) -> Scope:
        """The scope of a key's actions; an action a later pack dropped is left out."""
        scope = frozenset(actions) & pack.actions.keys()
        table = decision_table(pack, build_bundles(pack)).cut(scope)
        staleness = {
            code: pack.actions[code].mirror_staleness_minutes * 60 for code in sorted(scope)
        }
        return cls(scope, table, staleness)

    @property
    def name(self) -> str:
        return feed_name(self.actions)

    @property
    def touching(self) -> frozenset[str]:
        """The bundles whose grants a feed keeps: those touching an action of the scope."""
        return frozenset(self.table.bundles)

    def policy(self) -> bytes:
        """``policy.json``: the decision table and the staleness limits."""
        return orjson.dumps(
            {"decisions": self.table.as_json(), "staleness": self.staleness},
            option=orjson.OPT_SORT_KEYS,
        )

    def row(self, identifier: str, grants: Iterable[list[Any]], day: str) -> dict[str, Any] | None:
        """The feed's row of a subject: its grants that bear on the scope and have not ended
        by ``day`` (ISO text), or None when there are none."""
        touching = self.touching
        kept = [grant for grant in grants if grant[_BUNDLE] in touching and grant[_VALID_TO] > day]
        return {KEY: identifier, "grants": kept} if kept else None


@dataclass
class FeedState:
    """What the latest published version of a feed holds, kept by its publisher."""

    version: int = 0
    rows: dict[str, Any] = field(default_factory=dict)
    index_seq: int = -1
    day: str = ""
    policy: bytes = b""
    snapshot_at: str = ""

    @classmethod
    def load(cls, shelf: Shelf, name: str) -> FeedState:
        """The state of the latest version on ``shelf``: its snapshot's rows and the deltas
        since (an empty state when the feed has no version yet)."""
        index = shelf.index(name)
        if index is None:
            return cls()
        snapshot = index["latest_snapshot"]
        rows = shelf.snapshot_rows(name, snapshot)
        for version in range(snapshot + 1, index["latest"] + 1):
            data = (shelf.folder(name, version) / DELTA).read_bytes()
            for operation in operations(data):
                if operation.op == DEL:
                    rows.pop(operation.key, None)
                else:
                    rows[operation.key] = operation.row
        latest = shelf.manifest(name, index["latest"])
        published = {item["version"]: item["published_at"] for item in index["versions"]}
        return cls(
            version=latest.version,
            rows=rows,
            index_seq=latest.document["source"]["index_seq"],
            day=latest.document["as_of"],
            policy=(shelf.folder(name, latest.version) / POLICY).read_bytes(),
            snapshot_at=published[snapshot],
        )


def index_seq(session: Session) -> int:
    return session.scalar(select(IndexState.seq)) or 0


def index_rows(session: Session, since: int | None) -> dict[str, list[list[Any]]]:
    """Grants by identifier of every index row, or of those changed after ``since``."""
    query = select(MeasureIndexRow.identifier, MeasureIndexRow.grants)
    if since is not None:
        query = query.where(MeasureIndexRow.seq > since)
    # A Result has ``keys()`` (its columns), so dict() would take it for a mapping.
    return {
        identifier: grants
        for identifier, grants in session.execute(query.execution_options(yield_per=CHUNK))
    }


def next_version(
    state: FeedState,
    scope: Scope,
    read: Mapping[str, list[list[Any]]],
    everything: bool,
    day: date,
    now: datetime,
    meta: Mapping[str, Any],
) -> Publication | None:
    """The feed's next version, or None when it would hold what the latest holds.

    ``read`` holds index rows by identifier: every row when ``everything`` (a new feed, a
    new day, a new policy), else those changed since the state's version was made.
    """
    today = day.isoformat()
    policy = scope.policy()
    fresh = {
        identifier: row
        for identifier, grants in read.items()
        if (row := scope.row(identifier, grants, today)) is not None
    }
    if everything:
        change = Change.between(state.rows, fresh)
    else:
        before = {key: state.rows[key] for key in read if key in state.rows}
        change = Change.between(before, fresh)
    if state.version and not change.ops and today == state.day and policy == state.policy:
        return None
    rows = dict(state.rows)
    for op, key, row in change.ops:
        if op == DEL:
            del rows[key]
        else:
            rows[key] = row
    snapshot = state.version == 0 or (
        datetime.fromisoformat(state.snapshot_at.replace("Z", "+00:00")) <= now - SNAPSHOT_EVERY
    )
    return Publication(
        dataset=scope.name,
        kind=FEED,
        title={
            "zh": "依赖方数据源",
            "en": f"Relying-party feed: {', '.join(sorted(scope.actions))}",
        },
        key=KEY,
        rows=rows,
        change=change,
        snapshot=snapshot,
        extra={POLICY: policy},
        meta={
            **meta,
            "as_of": today,
            "feed": {"actions": sorted(scope.actions)},
            "policy_version": scope.table.policy_version,
        },
    )


def after(state: FeedState, publication: Publication, version: int, at: str) -> FeedState:
    """The state once ``publication`` is published as ``version`` at ``at``."""
    return FeedState(
        version=version,
        rows=dict(publication.rows),
        index_seq=publication.meta["source"]["index_seq"],
        day=publication.meta["as_of"],
        policy=publication.extra[POLICY],
        snapshot_at=at if publication.snapshot else state.snapshot_at,
    )
