"""Everything a report reads about the subjects, read once from the store and never written.

The facts come through the readers the evaluators use (``scoring.store.read_subjects`` for
records and entries, the reference list rules for entries a pack would give), so a report
sees the data exactly as an evaluation does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.refresh import derive_entries_of, representations_of
from xinyong.enforcement.rules import Entry
from xinyong.policy import Pack, SubjectKind
from xinyong.records.models import Subject
from xinyong.reports.groups import Profile, profile
from xinyong.scoring.facts import EntryFact, SubjectFacts
from xinyong.scoring.store import StoredSubjects, read_subjects

Representations = dict[int, list[tuple[int, date, date | None]]]
"""Person id -> (organisation id, from, to) of every organisation the person represented."""


@dataclass
class Population:
    """Every subject of the store with its records, groups and representations."""

    as_of: date
    ids: list[int]
    identifiers: dict[int, str]
    kinds: dict[int, SubjectKind]
    profiles: dict[int, Profile]
    stored: StoredSubjects
    representations: Representations
    _entries: dict[str, dict[int, list[Entry]]] = field(default_factory=dict)
    _factory: sessionmaker[Session] | None = None

    def entries(self, pack: Pack) -> dict[int, list[Entry]]:
        """The entries ``pack``'s list rules give every subject (derived once per pack)."""
        found = self._entries.get(pack.digest)
        if found is None:
            assert self._factory is not None
            with self._factory() as session:
                found = derive_entries_of(session.connection(), pack, self.ids)
            self._entries[pack.digest] = found
        return found

    def facts(self, pack: Pack, subject_id: int, entries: Sequence[Entry]) -> SubjectFacts:
        """The subject's facts as ``pack`` reads them, with ``entries`` as its list entries."""
        return replace(self.stored.facts(pack, subject_id), entries=entry_facts(entries))

    def counts(self, dimension: str) -> Counter[str]:
        """How many subjects each group of ``dimension`` holds."""
        return Counter(
            group for item in self.profiles.values() if (group := item.group(dimension)) is not None
        )


def entry_facts(entries: Sequence[Entry]) -> tuple[EntryFact, ...]:
    """Entries as schemes read them; an entry that never held is left out, as in the store."""
    return tuple(
        EntryFact(entry.list_code, entry.record_id, entry.started_on, entry.ended_on)
        for entry in entries
        if entry.ended_on > entry.started_on
    )


def read_population(factory: sessionmaker[Session], as_of: date) -> Population:
    """Read every subject, its current records and stored entries, in one read transaction."""
    with factory() as session:
        connection = session.connection()
        rows = connection.execute(
            select(Subject.id, Subject.identifier, Subject.kind).order_by(Subject.id)
        ).all()
        ids = [row.id for row in rows]
        stored = read_subjects(connection, ids)
        persons = [row.id for row in rows if row.kind == SubjectKind.PERSON.value]
        representations = representations_of(connection, persons)
    return Population(
        as_of,
        ids,
        {row.id: row.identifier for row in rows},
        {row.id: SubjectKind(row.kind) for row in rows},
        {row.id: profile(row.identifier, as_of) for row in rows},
        stored,
        dict(representations),
        _factory=factory,
    )
