"""List entries and the measures index, recomputed by the service's own derivation.

Entries are what ``derive_entries_of`` (the reference rules the refresh runs) gives each
subject from its current record versions. An entry carries its own end, so the passing of time
changes no stored entry: a check on a later day simply finds it over. The one stored value that
depends on the day of a refresh is the end of an entry whose grounding record was corrected out
of the list's rule (``corrected``: it ends on the day the correction was refreshed, since it did
hold until then); the rules no longer derive such an entry, so it is held instead to the state
the refresh logged on the ledger (``entry.ended``) when it ended it.

Index rows are what ``index_grants`` (the function the refresh writes them with) gives each
subject from its entries and representations; a subject with grants and no row, the deletion
that turns a deny into an allow, is a difference like any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, Table, func, select

from xinyong.enforcement.decisions import Grant
from xinyong.enforcement.models import EntryRow, IndexState, MeasureIndexRow
from xinyong.enforcement.refresh import STATE_ID, derive_entries_of, index_grants, stored_entry
from xinyong.enforcement.rules import EndReason, Entry
from xinyong.integrity.report import Difference, Findings
from xinyong.integrity.subjects import id_range
from xinyong.ledger.models import LedgerLeaf
from xinyong.policy import Pack
from xinyong.store.bulk import among, chunked

ENTRIES: Table = EntryRow.__table__  # type: ignore[assignment]
INDEX: Table = MeasureIndexRow.__table__  # type: ignore[assignment]
ENTRY_EVENTS = ("entry.started", "entry.changed", "entry.ended")
ENTRY_VALUES = tuple(
    item.name for item in fields(Entry) if item.name not in ("list_code", "document_key")
)
"""The values of an entry the rules decide (its key is list and document)."""
LOGGED_VALUES = {
    "record_id": "record",
    "started_on": "started_on",
    "period_ends_on": "period_ends_on",
    "ended_on": "ended_on",
    "end_reason": "end_reason",
    "ended_by_record_id": "ended_by_record",
}
"""Entry value -> its name in the payload of an ``entry.*`` ledger event."""


@dataclass(frozen=True)
class CorrectedEntry:
    entry_id: int
    subject: str | None
    entry: Entry


def _entry_row(entry: Entry) -> str:
    return f"{entry.list_code} {entry.document_key}"


def check_entries(
    connection: Connection,
    pack: Pack,
    subject_ids: Sequence[int],
    low: int | None,
    high: int | None,
    identifiers: Mapping[int, str],
    findings: Findings,
) -> list[CorrectedEntry]:
    """Stored entries of subjects with ids in (low, high] against the rules' entries.

    Returns the entries ended by a correction, to be held to their logged state.
    """
    derived = {
        (subject_id, entry.list_code, entry.document_key): entry
        for subject_id, entries in derive_entries_of(connection, pack, subject_ids).items()
        for entry in entries
    }
    corrected: list[CorrectedEntry] = []
    rows = connection.execute(
        select(ENTRIES).where(id_range(ENTRIES.c.subject_id, low, high)).order_by(ENTRIES.c.id)
    )
    checked = 0
    for row in rows:
        checked += 1
        subject = identifiers.get(row.subject_id, f"#{row.subject_id}")
        try:
            stored = stored_entry(row)
        except ValueError as error:
            findings.add(
                Difference(
                    "entries", subject, f"entry #{row.id} {row.list_code} {row.document_key}",
                    "end_reason", row.end_reason, None, f"unreadable: {error}",
                )
            )  # fmt: skip
            continue
        expected = derived.pop((row.subject_id, row.list_code, row.document_key), None)
        if expected is None:
            if stored.end_reason == EndReason.CORRECTED:
                corrected.append(CorrectedEntry(row.id, subject, stored))
                continue
            findings.add(
                Difference(
                    "entries", subject, f"entry #{row.id} {_entry_row(stored)}", "row",
                    _entry_json(stored), None,
                    "no logged record of this subject grounds this entry",
                )
            )  # fmt: skip
            continue
        for name in ENTRY_VALUES:
            value, recomputed = getattr(stored, name), getattr(expected, name)
            if value != recomputed:
                findings.add(
                    Difference(
                        "entries", subject, f"entry #{row.id} {_entry_row(stored)}", name,
                        _value(value), _value(recomputed), _ENTRY_NOTES.get(name, ""),
                    )
                )  # fmt: skip
    for (subject_id, _, _), entry in derived.items():
        findings.add(
            Difference(
                "entries", identifiers.get(subject_id, f"#{subject_id}"), _entry_row(entry), "row",
                None, _entry_json(entry), "the subject's logged records put it on this list",
            )
        )  # fmt: skip
    findings.checked["entries"] += checked
    return corrected


_ENTRY_NOTES = {
    "started_on": "measures apply from the start",
    "ended_on": "measures apply until the end",
    "end_reason": "why the entry ended",
}


def _value(value: Any) -> Any:
    return value.value if isinstance(value, EndReason) else value


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {name: _value(getattr(entry, name)) for name in ENTRY_VALUES}


def check_corrected_entries(
    connection: Connection, corrected: Sequence[CorrectedEntry], findings: Findings
) -> None:
    """Entries ended by a correction against the state the refresh logged when it ended them."""
    logged: dict[int, tuple[str | None, dict[str, Any] | None]] = {}
    by_id = {item.entry_id: item for item in corrected}
    for chunk in chunked([str(entry_id) for entry_id in sorted(by_id)]):
        for event, ref, payload in connection.execute(
            select(LedgerLeaf.kind, LedgerLeaf.ref, LedgerLeaf.payload)
            .where(LedgerLeaf.kind.in_(ENTRY_EVENTS), among(connection, LedgerLeaf.ref, chunk))
            .order_by(LedgerLeaf.leaf_index)
        ):
            logged[int(ref)] = (event, orjson.loads(payload) if payload is not None else {})
    for entry_id, item in by_id.items():
        where = f"entry #{entry_id} {_entry_row(item.entry)}"
        kind, state = logged.get(entry_id, (None, None))
        if kind != "entry.ended" or state is None:
            findings.add(
                Difference(
                    "entries", item.subject, where, "logged end", kind, "entry.ended",
                    "an entry ended by a correction was not ended on the ledger",
                )
            )  # fmt: skip
            continue
        for name, key in LOGGED_VALUES.items():
            value = _value(getattr(item.entry, name))
            text = value.isoformat() if isinstance(value, date) else value
            if text != state.get(key):
                findings.add(
                    Difference(
                        "entries", item.subject, where, name, text, state.get(key),
                        "as logged when the correction ended it",
                    )
                )  # fmt: skip


def check_index_state(connection: Connection, pack: Pack, findings: Findings) -> int | None:
    """The index counter and the pack it was built under; returns the counter."""
    state = connection.execute(
        select(IndexState.seq, IndexState.policy_version).where(IndexState.id == STATE_ID)
    ).first()
    rows = connection.scalar(select(func.count()).select_from(INDEX)) or 0
    findings.checked["measure_index_state"] += 1
    if state is None:
        if rows:
            findings.add(
                Difference(
                    "measure_index_state", None, "the index counter", "row", None,
                    f"a counter at or above every row's seq ({rows} rows)",
                    "readers poll the counter to load changed rows",
                )
            )  # fmt: skip
        return None
    if state.policy_version != pack.policy_version:
        findings.add(
            Difference(
                "measure_index_state", None, "the index counter", "policy_version",
                state.policy_version, pack.policy_version,
                "the index was built under another pack: run `xinyong evaluate`",
            )
        )  # fmt: skip
    return int(state.seq)


def check_index(
    connection: Connection,
    pack: Pack,
    subject_ids: Sequence[int],
    low: int | None,
    high: int | None,
    seq: int | None,
    findings: Findings,
) -> None:
    """Index rows of subjects with ids in (low, high] against the grants their entries give."""
    expected = index_grants(connection, pack, subject_ids)
    rows = connection.execute(
        select(INDEX.c.subject_id, INDEX.c.identifier, INDEX.c.seq, INDEX.c.grants).where(
            id_range(INDEX.c.subject_id, low, high)
        )
    )
    checked = 0
    for subject_id, identifier, row_seq, grants in rows:
        checked += 1
        recomputed = expected.pop(subject_id, None)
        where = f"row of subject #{subject_id}"
        if recomputed is None:
            findings.add(
                Difference(
                    "measure_index", identifier, where, "row", grants, None,
                    "an index row for no subject",
                )
            )  # fmt: skip
            continue
        known_as, recomputed_grants = recomputed
        depends_on = {known_as, *_via(grants), *_via(recomputed_grants)}
        if identifier != known_as:
            findings.defer(
                Difference(
                    "measure_index", known_as, where, "identifier", identifier, known_as,
                    "checks look the subject up by identifier: its grants are not found",
                ),
                depends_on,
            )  # fmt: skip
        if grants != recomputed_grants:
            findings.defer(
                Difference(
                    "measure_index", known_as, where, "grants", grants, recomputed_grants,
                    "the measures a check applies",
                ),
                depends_on,
            )  # fmt: skip
        if seq is None or row_seq > seq:
            findings.add(
                Difference(
                    "measure_index", known_as, where, "seq", row_seq, f"at most {seq}",
                    "a row newer than the index counter",
                )
            )  # fmt: skip
    for subject_id, (identifier, grants) in expected.items():
        if grants:
            findings.defer(
                Difference(
                    "measure_index", identifier, f"row of subject #{subject_id}", "row", None,
                    grants, "without its row every check about the subject answers allow",
                ),
                {identifier, *_via(grants)},
            )  # fmt: skip
    findings.checked["measure_index"] += checked


def _via(grants: object) -> set[str]:
    """The organisations whose listings the grants bind the subject by (``Grant.via``)."""
    if not isinstance(grants, list):
        return set()
    return {
        grant[VIA]
        for grant in grants
        if isinstance(grant, list) and len(grant) > VIA and isinstance(grant[VIA], str)
    }


VIA = Grant._fields.index("via")
