"""Keeping entries and the measures index in step with records, inside the writer's transaction.

``refresh_subjects`` re-derives the entries of the subjects whose records changed (by the
reference rules), stores the difference, logs ``entry.started`` / ``entry.changed`` /
``entry.ended`` on the ledger, and rewrites the index rows that depend on them: the subjects'
own, and those of every person who represents or represented a touched organisation (the
legal-representative extension). The entries that started or ended early are announced
(``entries_changed``), so that whoever listens (subjects' rights) can tell the subjects. It
listens itself to ``records_changed`` (``refresh_changed``), and leaves out the subjects whose
new records no list reads and that hold no entry, since nothing of theirs can change. The
index counter is bumped under a row lock, so readers that poll it see changes in commit order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today, utc_now
from xinyong.enforcement.bundles import Bundle, build_bundles
from xinyong.enforcement.changes import EndedEntry, EntriesChanged, entries_changed
from xinyong.enforcement.grants import Representation, bundles_by_list, subject_grants
from xinyong.enforcement.models import EntryRow, IndexState, MeasureIndexRow
from xinyong.enforcement.rules import EndReason, Entry, derive_entries
from xinyong.ledger import LeafInput, append
from xinyong.policy import Pack
from xinyong.records.changes import RecordsChanged
from xinyong.records.facts import read_records
from xinyong.records.models import LegalRepresentative, Subject
from xinyong.store.base import Base
from xinyong.store.bulk import BulkTable, allocate_ids, among, chunked

STATE_ID = 1

ENTRIES = Base.metadata.tables[EntryRow.__tablename__]
INDEX = Base.metadata.tables[MeasureIndexRow.__tablename__]


@dataclass
class RefreshSummary:
    subjects: int = 0
    started: int = 0
    changed: int = 0
    ended: int = 0
    index_rows: int = 0


def refresh_subjects(
    session: Session,
    pack: Pack,
    subject_ids: Collection[int],
    *,
    today: date | None = None,
    derived: Mapping[int, Sequence[Entry]] | None = None,
    events: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]] = (),
) -> RefreshSummary:
    """Bring the entries of ``subject_ids`` and every index row depending on them up to date.

    ``derived`` gives the subjects' entries when a batch engine has already computed them
    (``xinyong.evaluate``); by default the reference rules derive them from the store.
    ``events`` are the record events that touched the subjects, as ``(event, record)`` rows,
    when the caller has them: they spare the subjects none of whose entries can change
    (``_unchanging``).
    """
    summary = RefreshSummary(subjects=len(subject_ids))
    if not subject_ids:
        return summary
    connection = session.connection()
    day = today or china_today()
    now = utc_now()
    stored = _stored_entries(connection, sorted(subject_ids))
    ids = sorted(set(subject_ids) - _unchanging(pack, events, stored))
    identifiers = _identifiers(connection, ids)
    if derived is None:
        derived = derive_entries_of(connection, pack, ids)
    leaves: list[LeafInput] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    endings: list[EndedEntry] = []
    for subject_id in ids:
        current = {(entry.list_code, entry.document_key): entry for entry in derived[subject_id]}
        previous = stored.get(subject_id, {})
        for key, entry in current.items():
            before = previous.get(key)
            if before is None:
                inserts.append(_row(subject_id, entry, now))
            elif before[1] != entry:
                updates.append({"b_id": before[0], **_values(entry, now)})
                kind = "entry.ended" if entry.end_reason != EndReason.PERIOD else "entry.changed"
                leaves.append(_leaf(kind, before[0], identifiers[subject_id], entry))
                summary.ended += kind == "entry.ended"
                summary.changed += kind == "entry.changed"
                if kind == "entry.ended":
                    endings.append((before[0], subject_id, before[1], entry))
        for key, (entry_id, entry) in previous.items():
            if key not in current and entry.end_reason != EndReason.CORRECTED:
                # The grounding record was corrected out of the list's rule: the entry ends
                # from today, not retroactively, since it did hold until the correction.
                ended = _corrected(entry, day)
                updates.append({"b_id": entry_id, **_values(ended, now)})
                leaves.append(_leaf("entry.ended", entry_id, identifiers[subject_id], ended))
                summary.ended += 1
                endings.append((entry_id, subject_id, entry, ended))
    # The first write takes SQLite's write lock, so the ids allocated next cannot collide.
    seq = _bump(connection, pack)
    if inserts:
        new_ids = allocate_ids(connection, ENTRIES, len(inserts))
        for entry_id, row in zip(new_ids, inserts, strict=True):
            row["id"] = entry_id
            leaves.append(
                _leaf("entry.started", entry_id, identifiers[row["subject_id"]], row["_entry"])
            )
        BulkTable(connection, ENTRIES).insert(inserts)
        summary.started = len(inserts)
    if updates:
        connection.execute(
            update(ENTRIES)
            .where(ENTRIES.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in _ENTRY_VALUES}),
            updates,
        )
    append(session, leaves)
    started = [(row["id"], row["subject_id"], row["_entry"]) for row in inserts]
    entries_changed.send(EntriesChanged(connection, pack, day, started, endings))
    summary.index_rows = _rewrite_index(connection, pack, ids, seq)
    return summary


def refresh_changed(change: RecordsChanged) -> None:
    """Bring entries and the index in step with records that changed (a listener of
    ``records_changed``)."""
    refresh_subjects(
        change.session, change.pack, change.subject_ids, today=change.day, events=change.events
    )


def rebuild_all(
    factory: sessionmaker[Session],
    pack: Pack,
    *,
    batch: int = 2_000,
    progress: Callable[[int], None] | None = None,
) -> RefreshSummary:
    """The reference rebuild: every subject, ``batch`` subjects per transaction."""
    with factory() as session:
        ids = list(session.scalars(select(Subject.id).order_by(Subject.id)))
    total = RefreshSummary()
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        with factory.begin() as session:
            result = refresh_subjects(session, pack, part)
        total.subjects += result.subjects
        total.started += result.started
        total.changed += result.changed
        total.ended += result.ended
        total.index_rows += result.index_rows
        if progress is not None:
            progress(len(part))
    return total


def _identifiers(connection: Connection, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in chunked(ids):
        for subject_id, identifier in connection.execute(
            select(Subject.id, Subject.identifier).where(among(connection, Subject.id, chunk))
        ):
            found[subject_id] = identifier
    return found


_RELEVANT: dict[str, frozenset[str]] = {}


def _relevant_types(pack: Pack) -> frozenset[str]:
    """The record types a list's entry rule or removal reads, once per pack version (by digest)."""
    found = _RELEVANT.get(pack.digest)
    if found is None:
        types = {
            rule.record_type for credit_list in pack.lists.values() for rule in credit_list.entry
        }
        for credit_list in pack.lists.values():
            if credit_list.removal is not None:
                types.update(credit_list.removal.record_types)
        found = _RELEVANT[pack.digest] = frozenset(types)
    return found


def _unchanging(
    pack: Pack,
    events: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    stored: Mapping[int, object],
) -> set[int]:
    """The subjects ``events`` touched only with records of types that no list's entry rule
    or removal reads, and that hold no entry: the rules derive the same (no) entries from
    their records as before, and no index row reads their entries, so neither theirs nor
    their representatives' can change. (A new representative is named by its organisation's
    record, which touches the organisation, not the person.) Most subjects of a batch are
    such; a subject holding an entry is refreshed whatever touched it, as it always was."""
    relevant = _relevant_types(pack)
    touched: set[int] = set()
    read: set[int] = set()
    for _, record in events:
        touched.add(record["subject_id"])
        if record["record_type"] in relevant:
            read.add(record["subject_id"])
    return {subject_id for subject_id in touched - read if subject_id not in stored}


def derive_entries_of(
    connection: Connection, pack: Pack, ids: Sequence[int]
) -> dict[int, list[Entry]]:
    """The entries the reference rules give each subject, from its current record versions."""
    current = read_records(connection, ids, _relevant_types(pack))
    return {subject_id: derive_entries(pack, current.facts(pack, subject_id)) for subject_id in ids}


def _stored_entries(
    connection: Connection, ids: Sequence[int]
) -> dict[int, dict[tuple[str, str], tuple[int, Entry]]]:
    stored: dict[int, dict[tuple[str, str], tuple[int, Entry]]] = defaultdict(dict)
    for chunk in chunked(ids):
        for row in connection.execute(
            select(ENTRIES).where(among(connection, ENTRIES.c.subject_id, chunk))
        ):
            stored[row.subject_id][(row.list_code, row.document_key)] = (row.id, stored_entry(row))
    return stored


def stored_entry(row: Any) -> Entry:
    """An ``entries`` row as the rules state it."""
    return Entry(
        row.list_code,
        row.document_key,
        row.record_id,
        row.started_on,
        row.period_ends_on,
        row.ended_on,
        EndReason(row.end_reason),
        row.ended_by_record_id,
    )


def _corrected(entry: Entry, day: date) -> Entry:
    end = min(entry.ended_on, max(entry.started_on, day))
    return Entry(
        entry.list_code,
        entry.document_key,
        entry.record_id,
        entry.started_on,
        entry.period_ends_on,
        end,
        EndReason.CORRECTED,
        None,
    )


_ENTRY_VALUES = (
    "record_id",
    "started_on",
    "period_ends_on",
    "ended_on",
    "end_reason",
    "ended_by_record_id",
    "updated_at",
)
"""The columns of an entry that a refresh may change."""


def _values(entry: Entry, now: datetime) -> dict[str, Any]:
    return {
        "record_id": entry.record_id,
        "started_on": entry.started_on,
        "period_ends_on": entry.period_ends_on,
        "ended_on": entry.ended_on,
        "end_reason": entry.end_reason.value,
        "ended_by_record_id": entry.ended_by_record_id,
        "updated_at": now,
    }


def _row(subject_id: int, entry: Entry, now: datetime) -> dict[str, Any]:
    return {
        "list_code": entry.list_code,
        "subject_id": subject_id,
        "document_key": entry.document_key,
        **_values(entry, now),
        "_entry": entry,
    }


def _leaf(kind: str, entry_id: int, identifier: str, entry: Entry) -> LeafInput:
    payload = {
        "entry": entry_id,
        "list": entry.list_code,
        "subject": identifier,
        "document_key": entry.document_key,
        "record": entry.record_id,
        "started_on": entry.started_on.isoformat(),
        "period_ends_on": entry.period_ends_on.isoformat(),
        "ended_on": entry.ended_on.isoformat(),
        "end_reason": entry.end_reason.value,
        "ended_by_record": entry.ended_by_record_id,
    }
    return LeafInput(kind, str(entry_id), orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))


def _bump(connection: Connection, pack: Pack) -> int:
    # The row lock orders concurrent refreshes on PostgreSQL; SQLite has one writer anyway.
    seq = connection.execute(
        select(IndexState.seq).where(IndexState.id == STATE_ID).with_for_update()
    ).scalar()
    if seq is None:
        connection.execute(
            insert(IndexState).values(id=STATE_ID, seq=1, policy_version=pack.policy_version)
        )
        return 1
    connection.execute(
        update(IndexState)
        .where(IndexState.id == STATE_ID)
        .values(seq=seq + 1, policy_version=pack.policy_version)
    )
    return int(seq) + 1


def _rewrite_index(connection: Connection, pack: Pack, ids: Sequence[int], seq: int) -> int:
    """Rewrite the index rows of ``ids`` and of their organisations' representatives."""
    affected = set(ids)
    for chunk in chunked(ids):
        affected.update(
            connection.execute(
                select(LegalRepresentative.person_id).where(
                    among(connection, LegalRepresentative.organisation_id, chunk)
                )
            ).scalars()
        )
    rows = sorted(affected)
    existing: dict[int, Any] = {}
    for chunk in chunked(rows):
        for subject_id, grants in connection.execute(
            select(INDEX.c.subject_id, INDEX.c.grants).where(
                among(connection, INDEX.c.subject_id, chunk)
            )
        ):
            existing[subject_id] = grants
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for subject_id, (identifier, grants) in index_grants(connection, pack, rows).items():
        if subject_id not in existing:
            if grants:
                inserts.append(
                    {
                        "subject_id": subject_id,
                        "identifier": identifier,
                        "seq": seq,
                        "grants": grants,
                    }
                )
        elif existing[subject_id] != grants:
            updates.append({"b_subject": subject_id, "b_seq": seq, "b_grants": grants})
    BulkTable(connection, INDEX).insert(inserts)
    if updates:
        connection.execute(
            update(INDEX)
            .where(INDEX.c.subject_id == bindparam("b_subject"))
            .values(seq=bindparam("b_seq"), grants=bindparam("b_grants")),
            updates,
        )
    return len(inserts) + len(updates)


def index_grants(
    connection: Connection, pack: Pack, ids: Sequence[int]
) -> dict[int, tuple[str, list[list[Any]]]]:
    """Each subject's identifier and the grants its index row holds (as stored, in JSON form),
    from its stored entries and those of the organisations it represents or represented."""
    by_list = _bundles_by_list(pack)
    representations = representations_of(connection, ids)
    entry_subjects = set(ids) | {
        organisation for held in representations.values() for organisation, *_ in held
    }
    entries = _entries_by_subject(connection, sorted(entry_subjects))
    identifiers = _identifiers(connection, sorted(entry_subjects))
    found: dict[int, tuple[str, list[list[Any]]]] = {}
    for subject_id in ids:
        held = [
            Representation(identifiers[organisation], started, ended, entries.get(organisation, []))
            for organisation, started, ended in representations.get(subject_id, [])
        ]
        grants = subject_grants(entries.get(subject_id, []), held, by_list)
        found[subject_id] = (identifiers[subject_id], [grant.as_json() for grant in grants])
    return found


_BUNDLES: dict[str, dict[str, list[Bundle]]] = {}


def _bundles_by_list(pack: Pack) -> dict[str, list[Bundle]]:
    """The pack's bundles by list, resolved once per pack version (by digest)."""
    found = _BUNDLES.get(pack.digest)
    if found is None:
        found = _BUNDLES[pack.digest] = bundles_by_list(build_bundles(pack))
    return found


def representations_of(
    connection: Connection, person_ids: Sequence[int]
) -> dict[int, list[tuple[int, date, date | None]]]:
    """Per person, the organisations it represents or represented: (organisation, from, until)."""
    held: dict[int, list[tuple[int, date, date | None]]] = defaultdict(list)
    for chunk in chunked(person_ids):
        for person_id, organisation_id, started, ended in connection.execute(
            select(
                LegalRepresentative.person_id,
                LegalRepresentative.organisation_id,
                LegalRepresentative.started_on,
                LegalRepresentative.ended_on,
            ).where(among(connection, LegalRepresentative.person_id, chunk))
        ):
            held[person_id].append((organisation_id, started, ended))
    return held


def _entries_by_subject(
    connection: Connection, ids: Iterable[int]
) -> dict[int, list[tuple[int, Entry]]]:
    found: dict[int, list[tuple[int, Entry]]] = defaultdict(list)
    for chunk in chunked(list(ids)):
        for row in connection.execute(
            select(ENTRIES)
            .where(
                among(connection, ENTRIES.c.subject_id, chunk),
                ENTRIES.c.ended_on > ENTRIES.c.started_on,
            )
            .order_by(ENTRIES.c.id)
        ):
            found[row.subject_id].append((row.id, stored_entry(row)))
    return found
