"""Build the search index from the store, publish it beside the previous one, switch atomically.

Each build lands in its own folder under ``<var>/search/``; ``CURRENT`` names the live one and
is replaced in one rename, so a reader sees the old index or the new one, never half of each.
Readers (``IndexShelf``) notice the switch on their next query.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.enforcement.models import EntryRow
from xinyong.identifiers import IdentifierKind, mask
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.search.index import Searchable, SearchIndex
from xinyong.search.publicity import black_lists, is_public

KEEP_BUILDS = 2
"""The live build and the one before it (a reader may still hold it open)."""


def searchable_subjects(session: Session, pack: Pack, day: date) -> Searchable:
    """Every organisation, and every person who is a published defaulter on ``day``."""
    refs: list[str] = []
    kinds: list[str] = []
    names: list[str] = []
    identifiers: list[str] = []
    shown: list[str] = []
    regions: list[str | None] = []
    organisations = session.execute(
        select(Subject.identifier, Subject.name, Subject.region)
        .where(Subject.kind == "organisation")
        .order_by(Subject.id)
    )
    for identifier, name, region in organisations:
        refs.append(identifier)
        kinds.append("organisation")
        names.append(name)
        identifiers.append(identifier)
        shown.append(identifier)
        regions.append(region)
    for subject_id, identifier, name, region in published_defaulters(session, pack, day):
        refs.append(str(subject_id))
        kinds.append("person")
        names.append(name)
        identifiers.append(identifier)
        shown.append(mask(identifier, IdentifierKind.RESIDENT_ID))
        regions.append(region)
    return Searchable(refs, kinds, names, identifiers, shown, regions)


def published_defaulters(
    session: Session, pack: Pack, day: date
) -> list[tuple[int, str, str, str | None]]:
    """(subject id, identifier, name, region) of persons on a black list by a public record."""
    rows = session.execute(
        select(
            Subject.id,
            Subject.identifier,
            Subject.name,
            Subject.region,
            Record.record_type,
            Record.severity,
            Record.decided_on,
            RecordHead.status,
        )
        .join(EntryRow, EntryRow.subject_id == Subject.id)
        .join(Record, Record.id == EntryRow.record_id)
        .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
        .where(
            Subject.kind == "person",
            EntryRow.list_code.in_(black_lists(pack)),
            EntryRow.started_on <= day,
            EntryRow.ended_on > day,
        )
        .order_by(Subject.id)
    )
    found: dict[int, tuple[int, str, str, str | None]] = {}
    for subject_id, identifier, name, region, kind, severity, decided_on, status in rows:
        if is_public(pack, kind, severity, decided_on, status, day):
            found[subject_id] = (subject_id, identifier, name, region)
    return list(found.values())


def publish(root: Path, index: SearchIndex, meta: dict[str, Any]) -> Path:
    """Write ``index`` into a new folder under ``root`` and make it the live one."""
    root.mkdir(parents=True, exist_ok=True)
    build = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    index.save(root / build, meta)
    pointer = root / "CURRENT.tmp"
    pointer.write_text(build)
    os.replace(pointer, root / "CURRENT")
    builds = sorted(path for path in root.iterdir() if path.is_dir())
    for old in builds[:-KEEP_BUILDS]:
        shutil.rmtree(old, ignore_errors=True)
    return root / build


@dataclass(frozen=True)
class Published:
    folder: Path
    subjects: int
    persons: int
    seconds: float


def refresh_search_index(
    factory: sessionmaker[Session], pack: Pack, root: Path, day: date
) -> Published:
    """Rebuild the public search index from the store as of ``day`` and publish it."""
    started = time.perf_counter()
    # When the store was read: ``xinyong ledger verify`` tells a build that predates later
    # record events (stale) from one edited after it was published.
    read_at = utc_now()
    with factory() as session:
        subjects = searchable_subjects(session, pack, day)
    index = SearchIndex.build(subjects)
    meta = {
        "as_of": day.isoformat(),
        "policy_version": pack.policy_version,
        "read_at": read_at.isoformat(),
    }
    folder = publish(root, index, meta)
    return Published(
        folder=folder,
        subjects=len(index),
        persons=subjects.kinds.count("person"),
        seconds=round(time.perf_counter() - started, 3),
    )


class IndexShelf:
    """The live index of a folder, reloaded when ``CURRENT`` changes; None until one is built."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._build: str | None = None
        self._index: SearchIndex | None = None

    def current(self) -> SearchIndex | None:
        try:
            build = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        with self._lock:
            if build != self._build:
                self._index = SearchIndex.load(self.root / build)
                self._build = build
            return self._index
