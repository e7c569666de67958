"""What the verification of derived state finds: each difference names its subject, the row,
the value stored and the value recomputed from the logged records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

AREAS = (
    "record_events",
    "record_heads",
    "subjects",
    "legal_representatives",
    "entries",
    "measure_index",
    "measure_index_state",
    "search_index",
)
"""Every kind of derived state checked, in the order it is checked (a table, or the search
index's published files)."""


@dataclass(frozen=True)
class Difference:
    """One value that differs between the store and its recomputation from the logged records.

    ``stored`` is ``None`` for a row that should exist and does not; ``recomputed`` is ``None``
    for a row that exists and should not.
    """

    area: str
    subject: str | None
    """The identifier of the subject concerned (``#id`` when no subject row has that id)."""
    row: str
    """Which row of the area: a document key, a list and document key, a period ..."""
    what: str
    """The column (or ``row`` for a row present on one side only)."""
    stored: Any
    recomputed: Any
    note: str = ""
    """Why it matters, for the reader who does not know the table."""
    follows: str | None = None
    """The difference below it that this one follows from (``entries of 11010...``), if any."""

    def describe(self) -> str:
        who = f"subject {self.subject}: " if self.subject else ""
        line = (
            f"{self.area} {who}{self.row}: {self.what} stored {_quoted(self.stored)}, "
            f"recomputed {_quoted(self.recomputed)}"
        )
        if self.follows is not None:
            return f"{line} (follows from the difference in {self.follows})"
        return f"{line} ({self.note})" if self.note else line

    def as_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "subject": self.subject,
            "row": self.row,
            "what": self.what,
            "stored": _plain(self.stored),
            "recomputed": _plain(self.recomputed),
            "note": self.note,
            "follows": self.follows,
            "description": self.describe(),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def shown(value: Any) -> str:
    """A value as a reader scans it: days, a row's columns, an index row's grants as spans."""
    if value is None:
        return "nothing"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return ", ".join(f"{key} {shown(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        if all(isinstance(item, list | tuple) and len(item) >= 3 for item in value):
            # Index grants: (bundle, valid from, valid until, entry, ...).
            return "; ".join(f"{item[0]} {item[1]}..{item[2]}" for item in value)
        return ", ".join(shown(item) for item in value)
    return str(value)


def _quoted(value: Any) -> str:
    return repr(value) if isinstance(value, str) else shown(value)


@dataclass
class Findings:
    """The differences found so far: the first ``limit`` of each kind kept, all counted by area.

    Derived state is built in layers (record heads, then entries, then the index and the
    published search rows), and one edit shows in every layer above it: the recomputation of a
    layer reads the stored layer below. A difference is reported where it starts; one whose
    subject (or an organisation whose listing binds it) already differs in a layer below is
    kept apart as following from it, so the first lines of a report name the edit itself.
    """

    limit: int = 100
    origins: list[Difference] = field(default_factory=list)
    following: list[Difference] = field(default_factory=list)
    following_total: int = 0
    by_area: Counter[str] = field(default_factory=Counter)
    stale: list[Difference] = field(default_factory=list)
    stale_total: int = 0
    checked: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    differing: dict[str, str] = field(default_factory=dict)
    """Subject -> the first area it differs in."""
    deferred: list[tuple[Difference, frozenset[str]]] = field(default_factory=list)

    def add(self, difference: Difference, depends_on: Iterable[str | None] = ()) -> None:
        """Record ``difference``; ``depends_on`` names the subjects whose lower layers it is
        recomputed from (its own subject always counts)."""
        self.by_area[difference.area] += 1
        cause = next(
            (
                (subject, self.differing[subject])
                for subject in (difference.subject, *depends_on)
                if subject is not None and subject in self.differing
            ),
            None,
        )
        if difference.subject is not None:
            self.differing.setdefault(difference.subject, difference.area)
        if cause is None:
            if len(self.origins) < self.limit:
                self.origins.append(difference)
            return
        self.following_total += 1
        if len(self.following) < self.limit:
            subject, area = cause
            self.following.append(replace(difference, follows=f"{area} of {subject}"))

    def defer(self, difference: Difference, depends_on: Iterable[str | None]) -> None:
        """``add`` once every layer below has been checked (the index reads the entries of
        organisations that later chunks check)."""
        if len(self.deferred) < DEFERRED:
            self.deferred.append((difference, frozenset(s for s in depends_on if s)))
        else:
            self.add(difference, depends_on)

    def add_stale(self, difference: Difference) -> None:
        """A difference explained by changes logged after the derived copy was built."""
        self.stale_total += 1
        if len(self.stale) < self.limit:
            self.stale.append(difference)

    def settle(self) -> None:
        deferred, self.deferred = self.deferred, []
        for difference, depends_on in deferred:
            self.add(difference, depends_on)

    def report(self) -> DerivedReport:
        self.settle()
        return DerivedReport(
            checked={area: self.checked[area] for area in AREAS if area in self.checked},
            differences=[*self.origins, *self.following],
            by_area={area: self.by_area[area] for area in AREAS if self.by_area[area]},
            following_total=self.following_total,
            stale=list(self.stale),
            stale_total=self.stale_total,
            notes=list(self.notes),
        )


DEFERRED = 100_000
"""Differences held back for ``settle`` at most; beyond, they are reported at once."""


@dataclass(frozen=True)
class DerivedReport:
    checked: dict[str, int]
    """Rows (or subjects, or documents) checked, by area."""
    differences: list[Difference]
    """The first differences where they start, then the first that follow from them."""
    by_area: dict[str, int]
    """Every difference, counted by area."""
    following_total: int
    """How many differences follow from another one below them."""
    stale: list[Difference]
    stale_total: int
    notes: list[str]

    @property
    def total(self) -> int:
        return sum(self.by_area.values())

    @property
    def ok(self) -> bool:
        return self.total == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "total_differences": self.total,
            "following_total": self.following_total,
            "by_area": self.by_area,
            "differences": [item.as_json() for item in self.differences],
            "stale_total": self.stale_total,
            "stale": [item.as_json() for item in self.stale],
            "notes": self.notes,
        }
