"""Deciding locally: ``Mirror`` answers "may subject S do action A?" from the feed it holds.

The decision is the platform's own function (``xinyong.enforcement.decisions``) on the same
grants the check service decides from, cut to the key's scope; a subject the feed does not
hold is a plain ``allow`` without asking the function. On top of it, the staleness rule: for
each action the pack sets how long a mirror may answer from a feed the platform has not
confirmed current (``mirror_staleness_minutes``); past it every answer for that action is
``review``, never a stale ``allow`` (or a stale ``deny``).

Every answer is journaled before it is given: ``check_all`` commits the group of checks in
one write, then answers all of them; ``check`` is a group of one. The journal is reported to
the platform by ``xinyong mirror sync``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from xinyong.clock import china_day
from xinyong.datasets.reports import LINE as PLAIN
from xinyong.enforcement.decisions import (
    ALLOW,
    REVIEW,
    Decision,
    DecisionMaker,
    DecisionTable,
    Grant,
    GrantReader,
)
from xinyong.enforcement.subjects import UndecidableSubject, decidable
from xinyong.identifiers.resident_id import is_valid
from xinyong.mirror.store import LocalStore, Position

MAX_GROUP = 10_000
"""Checks journaled in one write (a report batch holds at most as many)."""
LOOK_EVERY = 0.1
"""Seconds between looks at the store for what a syncing process applied."""


class NotSynced(RuntimeError):
    """The mirror holds no feed yet: ``xinyong mirror sync`` first."""


class Refusal(ValueError):
    """A check the mirror does not answer (nothing of the group is journaled)."""


class Answer(NamedTuple):
    """A mirror's decision: the platform's decision fields, and how current the feed is."""

    decision_id: str
    subject_id: str
    action: str
    as_of: date
    effect: str
    benefits: tuple[str, ...]
    measures: tuple[dict[str, Any], ...]
    entries: tuple[dict[str, Any], ...]
    policy_version: str
    valid_until: date
    feed_version: int
    feed_age: float
    """Seconds since the platform last confirmed this feed version current."""
    stale: bool
    """Whether the feed was past the action's staleness limit (then ``effect`` is review)."""

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class Mirror:
    """A relying party's local copy of its feed, answering checks in memory."""

    position: Position
    """Where the feed held stands (its version, and when the platform confirmed it)."""

    def __init__(self, folder: Path | str) -> None:
        self.store = LocalStore(Path(folder))
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._held: Position | None = None
        self.grants: dict[str, tuple[Grant, ...]] = {}
        self._reader = GrantReader()
        self._seen = -1
        self._next_look = 0.0
        self.refresh()

    def close(self) -> None:
        self.store.close()

    def refresh(self) -> None:
        """Take in what a syncing process applied since the last look."""
        with self.store.reading():
            self._refresh()

    def _refresh(self) -> None:
        position = self.store.position()
        if position is None:
            raise NotSynced(
                f"{self.store.folder} holds no feed yet: run `xinyong mirror sync` first"
            )
        generation = self.store.generation()
        held = self._held
        if held is None or generation != self._generation:
            self.grants = {}
            since = 0
        else:
            since = held.version
        read = self._reader.read
        for subject, row in self.store.rows(since):
            if row is None:
                self.grants.pop(subject, None)
            else:
                self.grants[subject] = read(row["grants"])
        self._generation = generation
        if held is None or position.policy != held.policy:
            policy = orjson.loads(position.policy)
            self.maker = DecisionMaker(DecisionTable.from_json(policy["decisions"]))
            self.staleness: dict[str, float] = {
                action: float(seconds) for action, seconds in policy["staleness"].items()
            }
        self.position = self._held = position
        self.fresh_until = {
            action: position.confirmed_at + seconds for action, seconds in self.staleness.items()
        }
        self._seen = self.store.changed()

    @property
    def actions(self) -> frozenset[str]:
        """The actions of the key's scope: the only ones this mirror answers."""
        return frozenset(self.staleness)

    def _look(self, now: float) -> None:
        self._next_look = now + LOOK_EVERY
        if self.store.changed() != self._seen:
            self.refresh()

    def holds(self, subject: str) -> bool:
        return subject in self.grants

    def check(self, subject: str, action: str, purpose: str) -> Answer:
        """One check, journaled, then answered."""
        return self.check_all([(subject, action)], purpose)[0]

    def check_all(self, items: Sequence[tuple[str, str]], purpose: str) -> list[Answer]:
        """Checks for one purpose (a flight's passengers): journaled in one write, then
        answered in order. ``Refusal`` (nothing journaled) for an action outside the scope,
        an identifier no decision may rest on, or more than ``MAX_GROUP`` items."""
        if not 3 <= len(purpose) <= 500 or not PLAIN.match(purpose):
            # As the platform takes it in a report: a check it would refuse is never answered.
            raise Refusal("purpose: 3 to 500 characters of plain text (what the check is for)")
        if len(items) > MAX_GROUP:
            raise Refusal(f"at most {MAX_GROUP:,} checks at once")
        if not items:
            return []
        with self._lock:
            now = time.time()
            if now >= self._next_look:
                self._look(now)
            instant = datetime.fromtimestamp(now, UTC)
            day = china_day(instant)
            fresh_until, grants_of, decide = self.fresh_until, self.grants.get, self.maker.decide
            decided: list[tuple[str, str, str, bool]] = []
            full: dict[int, Decision] = {}
            for position, (subject, action) in enumerate(items):
                limit = fresh_until.get(action)
                if limit is None:
                    raise Refusal(
                        f"item {position}: {action!r} is outside this mirror's scope "
                        f"({', '.join(sorted(fresh_until))})"
                    )
                code = subject
                if not is_valid(subject, day):
                    try:
                        code = decidable(subject, day, self.holds)
                    except UndecidableSubject as error:
                        raise Refusal(f"item {position}: subject_id: {error}") from None
                if now >= limit:
                    decided.append((code, action, REVIEW, True))
                    continue
                grants = grants_of(code)
                if grants is None:
                    decided.append((code, action, ALLOW, False))
                    continue
                made = full[position] = decide(code, True, grants, action, day)
                decided.append((code, action, made.effect, False))
            version, policy_version = self.position.version, self.maker.policy_version
            group = self.store.journal(
                instant.isoformat(timespec="microseconds"),
                purpose,
                version,
                policy_version,
                decided,
            )
        prefix = f"{self.store.instance}{group:010x}"
        age = now - self.position.confirmed_at
        valid_until = day + timedelta(days=1)
        make = Answer._make  # tuple.__new__ itself: a plain answer is built without a call
        answers = [
            make(
                (
                    f"{prefix}{position:04x}",
                    code,
                    action,
                    day,
                    effect,
                    (),
                    (),
                    (),
                    policy_version,
                    valid_until,
                    version,
                    age,
                    stale,
                )
            )
            for position, (code, action, effect, stale) in enumerate(decided)
        ]
        for position, decision in full.items():
            answers[position] = answers[position]._replace(
                benefits=decision.benefits,
                measures=decision.measures,
                entries=decision.entries,
                valid_until=decision.valid_until,
            )
        return answers
