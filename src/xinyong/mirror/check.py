"""Deciding locally: ``Mirror`` answers "may subject S do action A?" from the feed it holds.

The decision is the platform's own function (``xinyong.enforcement.decisions``) on the same
grants the check service decides from, cut to the key's scope; a subject the feed does not
hold is a plain ``allow`` without asking the function. On top of it, the staleness rule: for
each action the pack sets how long a mirror may answer from a feed the platform has not
confirmed current (``mirror_staleness_minutes``); past it every answer for that action is
``review``, never a stale ``allow`` (or a stale ``deny``).

The common check, a valid identifier the feed does not hold, costs one validation and one
dictionary miss: ``check_many`` validates a whole group of identifiers over one array
(``resident_id.invalid_positions``), looks them all up at once, and asks the decision
function only about the subjects the feed holds: their effect once per subject, action and
day, the whole decision (measures, entries) when an answer is read.

Every answer is journaled before it is given: ``check_many`` and ``check_all`` commit the
group of checks in one write, then answer all of them; ``check`` is a group of one. The
journal is reported to the platform by ``xinyong mirror sync``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import compress
from pathlib import Path
from typing import Any, NamedTuple, overload

import orjson

from xinyong.clock import china_day
from xinyong.datasets.reports import LINE as PLAIN
from xinyong.enforcement.decisions import (
    ALLOW,
    REVIEW,
    Decision,
    DecisionMaker,
    DecisionTable,
    GrantReader,
)
from xinyong.enforcement.subjects import UndecidableSubject, decidable
from xinyong.identifiers.resident_id import invalid_positions
from xinyong.mirror.store import Journaled, LocalStore, Position

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


class Answers(Sequence[Answer]):
    """The answers to one group of checks: every effect at once, each ``Answer`` when asked
    for (building a million answer objects would cost more than deciding them)."""

    def __init__(
        self,
        prefix: str,
        subjects: list[str],
        actions: str | list[str],
        effects: list[str],
        rows: list[bytes | None],
        decide: Callable[[str, bytes, str], Decision],
        stale: frozenset[str],
        day: date,
        policy_version: str,
        feed_version: int,
        feed_age: float,
    ) -> None:
        self._prefix = prefix
        self.subjects = subjects
        """The identifiers in normal form, as decided and journaled."""
        self._actions = actions
        self.effects = effects
        self._rows = rows
        self._decide = decide
        self._stale = stale
        self._day = day
        self._policy_version = policy_version
        self.feed_version = feed_version
        self.feed_age = feed_age

    def __len__(self) -> int:
        return len(self.effects)

    @overload
    def __getitem__(self, index: int) -> Answer: ...

    @overload
    def __getitem__(self, index: slice) -> list[Answer]: ...

    def __getitem__(self, index: int | slice) -> Answer | list[Answer]:
        if isinstance(index, slice):
            return [self._answer(n) for n in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._answer(index)

    def _answer(self, position: int) -> Answer:
        actions = self._actions
        action = actions if isinstance(actions, str) else actions[position]
        row = self._rows[position]
        subject = self.subjects[position]
        stale = action in self._stale
        # The whole decision, made only now: the check's effect was answered (and journaled)
        # from the same rows, policy and day, and ``effect`` agrees with ``decide``.
        decision = None if row is None or stale else self._decide(subject, row, action)
        return Answer(
            f"{self._prefix}{position:04x}",
            subject,
            action,
            self._day,
            self.effects[position],
            () if decision is None else decision.benefits,
            () if decision is None else decision.measures,
            () if decision is None else decision.entries,
            self._policy_version,
            self._day + timedelta(days=1) if decision is None else decision.valid_until,
            self.feed_version,
            self.feed_age,
            stale,
        )


class StoredRows:
    """The feed's rows read from the store one subject at a time: for a process that answers
    a few checks (``xinyong mirror check``) and should not load the whole feed to do so."""

    def __init__(self, store: LocalStore) -> None:
        self._store = store

    def get(self, subject: str) -> bytes | None:
        return self._store.row(subject)

    def __contains__(self, subject: object) -> bool:
        return isinstance(subject, str) and self._store.row(subject) is not None


class Mirror:
    """A relying party's local copy of its feed, answering checks in memory."""

    position: Position
    """Where the feed held stands (its version, and when the platform confirmed it)."""

    def __init__(self, folder: Path | str, *, load: bool = True) -> None:
        """``load``: hold the whole feed in memory (a process answering many checks), or
        read each subject from the store's index when it is checked (a few checks)."""
        self.store = LocalStore(Path(folder))
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._held: Position | None = None
        self._reader = GrantReader()
        self.rows: dict[str, bytes] | StoredRows = {} if load else StoredRows(self.store)
        """The feed's rows by subject, as the store holds them (JSON): a row is read only
        when its subject is checked, so taking in a snapshot or a delta is a copy."""
        self._effects: dict[tuple[str, str], str] = {}
        """Effects for the subjects the feed holds, found today from the rows held."""
        self._day: date | None = None
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
        rows = self.rows
        if isinstance(rows, dict):
            if held is None or generation != self._generation:
                rows.clear()
                since = 0
            else:
                since = held.version
            for subject, row in self.store.rows(since):
                if row is None:
                    rows.pop(subject, None)
                else:
                    rows[subject] = row
        self._effects.clear()
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
        return subject in self.rows

    def check(self, subject: str, action: str, purpose: str) -> Answer:
        """One check, journaled, then answered."""
        return self._answer([subject], action, purpose)[0]

    def check_many(self, subjects: Sequence[str], action: str, purpose: str) -> Answers:
        """Checks of one action for one purpose (a flight's passengers): journaled in one
        write, then answered in order. ``Refusal`` (nothing journaled) for an action outside
        the scope, an identifier no decision may rest on, or more than ``MAX_GROUP``."""
        return self._answer(subjects, action, purpose)

    def check_all(self, items: Sequence[tuple[str, str]], purpose: str) -> Answers:
        """Checks of any actions in scope for one purpose, as ``check_many``."""
        return self._answer([subject for subject, _ in items], [a for _, a in items], purpose)

    def _answer(self, subjects: Sequence[str], actions: str | list[str], purpose: str) -> Answers:
        if not 3 <= len(purpose) <= 500 or not PLAIN.match(purpose):
            # As the platform takes it in a report: a check it would refuse is never answered.
            raise Refusal("purpose: 3 to 500 characters of plain text (what the check is for)")
        if len(subjects) > MAX_GROUP:
            raise Refusal(f"at most {MAX_GROUP:,} checks at once")
        with self._lock:
            now = time.time()
            if now >= self._next_look:
                self._look(now)
            instant = datetime.fromtimestamp(now, UTC)
            day = china_day(instant)
            if day != self._day:
                self._effects.clear()
                self._day = day
            stale = self._stale(actions, now)
            codes = self._codes(subjects, day)
            count = len(codes)
            found = list(map(self.rows.get, codes))
            effects = [ALLOW] * count
            not_allowed: list[tuple[int, str]] = []
            single = actions if isinstance(actions, str) else None
            day_text = day.isoformat()
            # A subject the feed does not hold is a plain allow.
            for position in compress(range(count), found):
                action = single or actions[position]
                if action in stale:
                    continue
                effect = self._effect(codes[position], found[position] or b"", action, day_text)
                if effect != ALLOW:
                    effects[position] = effect
                    not_allowed.append((position, effect))
            if stale:
                for position in range(count):
                    if (single or actions[position]) in stale:
                        effects[position] = REVIEW
            version, policy_version = self.position.version, self.maker.policy_version
            checks: Journaled = {
                "subjects": codes,
                "actions": actions,
                "not_allowed": not_allowed,
                "stale": sorted(stale),
            }
            at = instant.isoformat(timespec="microseconds")
            group = self.store.journal(at, purpose, version, policy_version, checks) if codes else 0
        return Answers(
            f"{self.store.instance}{group:010x}",
            codes,
            actions,
            effects,
            found,
            partial(self._decide, self.maker, day),
            stale,
            day,
            policy_version,
            version,
            now - self.position.confirmed_at,
        )

    def _stale(self, actions: str | list[str], now: float) -> frozenset[str]:
        """The actions asked for whose answers are past the staleness limit (then review);
        ``Refusal`` for an action outside the scope."""
        fresh_until = self.fresh_until
        stale = set()
        for action in {actions} if isinstance(actions, str) else set(actions):
            limit = fresh_until.get(action)
            if limit is None:
                where = "" if isinstance(actions, str) else f"item {actions.index(action)}: "
                raise Refusal(
                    f"{where}{action!r} is outside this mirror's scope "
                    f"({', '.join(sorted(fresh_until))})"
                )
            if now >= limit:
                stale.add(action)
        return frozenset(stale)

    def _codes(self, subjects: Sequence[str], day: date) -> list[str]:
        """The identifiers in normal form; ``Refusal`` for one no decision may rest on."""
        codes = list(subjects)
        for position in invalid_positions(codes, day):
            try:
                codes[position] = decidable(codes[position], day, self.holds)
            except UndecidableSubject as error:
                raise Refusal(f"item {position}: subject_id: {error}") from None
        return codes

    def _effect(self, subject: str, row: bytes, action: str, day: str) -> str:
        """The decision table's effect for a subject the feed holds, found once a day from
        the row as stored (``DecisionMaker.effect`` reads it without making ``Grant``s)."""
        key = (subject, action)
        effect = self._effects.get(key)
        if effect is None:
            effect = self._effects[key] = self.maker.effect(
                orjson.loads(row)["grants"], action, day
            )
        return effect

    def _decide(
        self, maker: DecisionMaker, day: date, subject: str, row: bytes, action: str
    ) -> Decision:
        grants = self._reader.read(orjson.loads(row)["grants"])
        return maker.decide(subject, True, grants, action, day)
