"""The in-memory measures index: one snapshot per process, kept fresh by a change counter.

The store holds the index (``measure_index``, one row per subject with grants, and a counter
in ``measure_index_state`` that every refresh bumps). A process loads it once, then polls the
counter at most every ``poll_seconds`` and loads only the rows changed since; a check is two
dictionary look-ups and a short scan of one subject's grants, never a query.

Whether a subject is known at all (``known: false`` for an identifier the platform has never
seen) is answered from a sorted array of 64-bit hashes of every identifier in the store, plus
a set of those added since: 8 bytes per subject instead of a Python string each. The hashes
are the process's own string hashes, so the array is never shared between processes.
"""

from __future__ import annotations

import gc
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import accumulate

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.bundles import build_bundles, decision_table
from xinyong.enforcement.decisions import Decision, DecisionMaker, Grant, GrantReader
from xinyong.enforcement.models import IndexState, MeasureIndexRow
from xinyong.policy import Pack
from xinyong.records.models import Subject

CHUNK = 50_000


def identifier_hash(identifier: str) -> int:
    # Python's own string hash: 64 bits, cached on the string, and stable within the process
    # that builds and queries the array (each process builds its own).
    return hash(identifier)


class KnownSubjects:
    """Membership of identifiers by 64-bit hash: a stranger passes for known with odds ~10^-12.

    The sorted hashes are cut into ``2**BUCKET_BITS`` buckets by their top bits, with the
    position where each bucket starts: a look-up bisects one bucket (a few hundred hashes at
    10^7 subjects) instead of the whole array.
    """

    BUCKET_BITS = 16
    _SHIFT = 64 - BUCKET_BITS
    _OFFSET = 1 << (BUCKET_BITS - 1)  # hashes are signed: the lowest bucket holds -2**63

    def __init__(self, identifiers: Iterable[str] = ()) -> None:
        self._sorted = array("q", sorted(identifier_hash(code) for code in identifiers))
        self._starts = self._bucket_starts()
        self._recent: set[int] = set()

    def _bucket_starts(self) -> array[int]:
        """Where each bucket starts in the sorted hashes, and their count after the last."""
        if len(self._sorted) < 1 << self.BUCKET_BITS:
            # Fewer hashes than buckets (every index starts empty, and a small store's stays
            # small): counted into their buckets, not 65,536 bisections of mostly empty ones.
            counts = [0] * (1 << self.BUCKET_BITS)
            for value in self._sorted:
                counts[(value >> self._SHIFT) + self._OFFSET] += 1
            return array("q", accumulate(counts, initial=0))
        starts = array(
            "q",
            (
                bisect_left(self._sorted, (bucket - self._OFFSET) << self._SHIFT)
                for bucket in range(1 << self.BUCKET_BITS)
            ),
        )
        starts.append(len(self._sorted))
        return starts

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def add(self, identifier: str) -> None:
        value = identifier_hash(identifier)
        if value not in self:
            self._recent.add(value)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        bucket = (value >> self._SHIFT) + self._OFFSET
        low, high = self._starts[bucket], self._starts[bucket + 1]
        position = bisect_left(self._sorted, value, low, high)
        found = position < high and self._sorted[position] == value
        return found or value in self._recent

    def knows(self, identifier: str) -> bool:
        return identifier_hash(identifier) in self


class MeasuresIndex:
    """Subject identifier -> grants, and the decisions made from them."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.bundles = build_bundles(pack)
        self.maker = DecisionMaker(decision_table(pack, self.bundles))
        self.grants: dict[str, tuple[Grant, ...]] = {}
        self.known = KnownSubjects()
        self.seq = 0
        self.max_subject_id = 0
        self._reader = GrantReader()

    def put(self, identifier: str, rows: Sequence[Sequence[object]]) -> None:
        """Replace one subject's grants (from the JSON of its index row)."""
        if rows:
            self.grants[identifier] = self._reader.read(rows)
        else:
            self.grants.pop(identifier, None)

    def holds(self, identifier: str) -> bool:
        """Whether the platform has a subject with exactly this identifier."""
        return identifier in self.grants or self.known.knows(identifier)

    def decide(self, subject_id: str, action: str, as_of: date) -> Decision:
        grants = self.grants.get(subject_id, ())
        known = bool(grants) or self.known.knows(subject_id)
        return self.maker.decide(subject_id, known, grants, action, as_of)

    def decide_all(self, items: Iterable[tuple[str, str]], as_of: date) -> list[Decision]:
        """``decide`` for each (subject, action); most subjects have no grants, and their
        decisions are made here without the per-grant machinery."""
        grants_of, knows, maker = self.grants.get, self.known.knows, self.maker
        allow, valid_until = maker.allow, maker.valid_until(as_of)
        decisions: list[Decision] = []
        for subject_id, action in items:
            grants = grants_of(subject_id)
            decisions.append(
                maker.decide(subject_id, True, grants, action, as_of)
                if grants
                else allow(subject_id, knows(subject_id), action, as_of, valid_until)
            )
        return decisions

    def load(self, session: Session) -> None:
        """Read the whole index and every known identifier from the store."""
        self.seq = session.scalar(select(IndexState.seq)) or 0
        last = 0
        while True:
            rows = session.execute(
                select(
                    MeasureIndexRow.subject_id, MeasureIndexRow.identifier, MeasureIndexRow.grants
                )
                .where(MeasureIndexRow.subject_id > last)
                .order_by(MeasureIndexRow.subject_id)
                .limit(CHUNK)
            ).all()
            for subject_id, identifier, grants in rows:
                self.put(identifier, _json_list(grants))
                last = subject_id
            if len(rows) < CHUNK:
                break
        self.max_subject_id = session.scalar(select(Subject.id).order_by(Subject.id.desc())) or 0
        self.known = KnownSubjects(
            session.scalars(select(Subject.identifier).execution_options(yield_per=CHUNK))
        )

    def catch_up(self, session: Session) -> int:
        """Load the rows changed since the last load; returns how many."""
        seq = session.scalar(select(IndexState.seq)) or 0
        changed = 0
        if seq != self.seq:
            for identifier, grants in session.execute(
                select(MeasureIndexRow.identifier, MeasureIndexRow.grants).where(
                    MeasureIndexRow.seq > self.seq
                )
            ):
                self.put(identifier, _json_list(grants))
                changed += 1
            self.seq = seq
        for subject_id, identifier in session.execute(
            select(Subject.id, Subject.identifier).where(Subject.id > self.max_subject_id)
        ):
            self.known.add(identifier)
            self.max_subject_id = max(self.max_subject_id, subject_id)
        return changed


def _json_list(value: object) -> list[list[object]]:
    assert isinstance(value, list), "measure_index.grants holds a JSON list"
    return value


class FreshIndex:
    """A process's snapshot of the index, caught up with the store at most every ``poll_seconds``."""

    def __init__(self, pack: Pack, factory: sessionmaker[Session], poll_seconds: float = 1.0):
        self.factory = factory
        self.poll_seconds = poll_seconds
        self.index = MeasuresIndex(pack)
        self._lock = threading.Lock()
        self._next_poll = 0.0
        self._loaded = False

    def current(self) -> MeasuresIndex:
        """The snapshot, loaded on first use and caught up when the poll interval has passed."""
        now = time.monotonic()
        if now >= self._next_poll and self._lock.acquire(blocking=not self._loaded):
            try:
                with self.factory() as session:
                    if self._loaded:
                        changed = self.index.catch_up(session)
                    else:
                        self.index.load(session)
                        self._loaded = True
                        changed = len(self.index.grants)
                if changed:
                    # The snapshot lives as long as the process: keep the cyclic garbage
                    # collector from walking its millions of objects on every full pass.
                    gc.freeze()
                self._next_poll = time.monotonic() + self.poll_seconds
            finally:
                self._lock.release()
        return self.index
