"""The published search index against a rebuild from the store for the same day.

The live build (``<var>/search/CURRENT``) is what the public search page and ``/v1/public/search``
read: every organisation, and every person who was a published defaulter on the build's day.
A rebuild by the same code (``searchable_subjects``, ``SearchIndex.build``) for the day in the
build's ``meta.json`` must give the same rows, the same code look-up and the same name keys.

A build is a copy made on a day, so the store may have moved on since: a row that differs for a
subject whose records have events logged after the build read the store is reported as stale
(rebuild it with ``xinyong evaluate``), not as an edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from xinyong.clock import as_utc
from xinyong.integrity.records import identifiers_of
from xinyong.integrity.report import Difference, Findings
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent, Subject
from xinyong.search.index import COLUMNS, SearchIndex
from xinyong.search.publish import searchable_subjects

BUILD_NAME = "%Y%m%dT%H%M%S%fZ"
"""How a build's folder is named: the instant it was published (older builds have no
``read_at`` in their meta)."""
AREA = "search_index"
MAX_ID = 2**31 - 1
"""The largest subject id (a 32-bit column): a forged person ref beyond it names nobody."""


def check_search_index(session: Session, pack: Pack, root: Path, findings: Findings) -> None:
    try:
        build = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        findings.notes.append(f"no search index is published under {root}")
        return
    folder = root / build
    try:
        meta = orjson.loads((folder / "meta.json").read_bytes())
        day = date.fromisoformat(meta["as_of"])
        published = SearchIndex.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as error:
        findings.add(
            Difference(
                AREA, None, f"build {build}", "files", str(error), "a readable build",
                "the public search cannot read it",
            )
        )  # fmt: skip
        return
    expected = SearchIndex.build(searchable_subjects(session, pack, day))
    connection = session.connection()
    since = _read_at(meta, build)
    changed = _changed_since(connection, since)
    stale_pack = meta.get("policy_version") != pack.policy_version
    if stale_pack:
        findings.notes.append(
            f"the search index was built under {meta.get('policy_version')}, "
            f"not {pack.policy_version}: rebuild it with `xinyong evaluate`"
        )
    stored_rows = published.table.select(list(COLUMNS)).to_pylist()
    rebuilt_rows = expected.table.select(list(COLUMNS)).to_pylist()
    labels = _labels(connection, [*stored_rows, *rebuilt_rows])

    def report(difference: Difference, ref: str) -> None:
        if stale_pack or ref in changed:
            findings.add_stale(difference)
        else:
            findings.add(difference)

    stored_by_ref = {row["ref"]: row for row in stored_rows}
    rebuilt_by_ref = {row["ref"]: row for row in rebuilt_rows}
    for ref, row in stored_by_ref.items():
        again = rebuilt_by_ref.get(ref)
        if again is None:
            note = "shown by the public search, though not public on the build's day"
            report(Difference(AREA, labels.get(ref), f"row {ref}", "row", row, None, note), ref)
            continue
        for column in COLUMNS:
            if row[column] != again[column]:
                report(
                    Difference(
                        AREA, labels.get(ref), f"row {ref}", column, row[column], again[column],
                        "what the public search shows",
                    ),
                    ref,
                )  # fmt: skip
    for ref, row in rebuilt_by_ref.items():
        if ref not in stored_by_ref:
            note = "public on the build's day, but the public search does not find it"
            report(Difference(AREA, labels.get(ref), f"row {ref}", "row", None, row, note), ref)
    stored_codes = _code_pairs(published, [row["ref"] for row in stored_rows])
    rebuilt_codes = _code_pairs(expected, [row["ref"] for row in rebuilt_rows])
    for ref in sorted({ref for _, ref in stored_codes ^ rebuilt_codes}):
        if ref in stored_by_ref and ref in rebuilt_by_ref:
            report(
                Difference(
                    AREA, labels.get(ref), f"row {ref}", "code look-up",
                    sorted(code for code, at in stored_codes if at == ref),
                    sorted(code for code, at in rebuilt_codes if at == ref),
                    "a search by the full code finds another row",
                ),
                ref,
            )  # fmt: skip
        elif ref not in stored_by_ref and ref not in rebuilt_by_ref:
            findings.add(
                Difference(
                    AREA, None, f"build {build}", "code look-up", ref, None,
                    "the code look-up points past the published rows",
                )
            )  # fmt: skip
    if stored_rows == rebuilt_rows and not _same_name_keys(published, expected):
        findings.add(
            Difference(
                AREA, None, f"build {build}", "name look-up",
                f"{len(published.gram_row)} postings", f"{len(expected.gram_row)} postings",
                "a search by name finds other rows",
            )
        )  # fmt: skip
    findings.checked[AREA] += len(stored_rows)


def _read_at(meta: dict[str, Any], build: str) -> datetime | None:
    text = meta.get("read_at")
    try:
        if isinstance(text, str):
            return as_utc(datetime.fromisoformat(text))
        return as_utc(datetime.strptime(build, BUILD_NAME))
    except ValueError:
        return None


def _changed_since(connection: Connection, since: datetime | None) -> set[str]:
    """Search refs of the subjects with record events logged after ``since``."""
    if since is None:
        return set()
    rows = connection.execute(
        select(Subject.id, Subject.kind, Subject.identifier)
        .join(Record, Record.subject_id == Subject.id)
        .join(RecordEvent, RecordEvent.record_id == Record.id)
        .where(RecordEvent.occurred_at > since)
        .distinct()
    )
    return {
        identifier if kind == "organisation" else str(subject_id)
        for subject_id, kind, identifier in rows
    }


def _labels(connection: Connection, rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Ref -> the subject's identifier: an organisation's ref is its code, a person's its
    subject number (a forged number that is no subject's id is shown as ``#number``)."""
    labels: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for row in rows:
        ref = str(row["ref"])
        labels[ref] = ref
        if row["kind"] == "person" and ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID:
            numbers[ref] = int(ref)
    identifiers = identifiers_of(connection, numbers.values())
    for ref, number in numbers.items():
        labels[ref] = identifiers.get(number, f"#{number}")
    return labels


def _code_pairs(index: SearchIndex, refs: list[str]) -> set[tuple[int, str]]:
    """(code hash, ref of the row it leads to) for every entry of the code look-up."""
    pairs: set[tuple[int, str]] = set()
    for code, row in zip(index.code_hash.tolist(), index.code_row.tolist(), strict=True):
        pairs.add((int(code), refs[row] if 0 <= row < len(refs) else f"row {row}"))
    return pairs


def _same_name_keys(published: SearchIndex, expected: SearchIndex) -> bool:
    return all(
        np.array_equal(getattr(published, name), getattr(expected, name))
        for name in ("gram_key", "gram_start", "gram_row")
    )
