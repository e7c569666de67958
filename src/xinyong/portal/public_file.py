"""A subject's public file and the published defaulters, as the portal and ``/v1/public`` show them.

Only what ``xinyong.search.publicity`` allows leaves this module: public record types at
published grades inside their publicity period, entries grounded by such records, registration
data, and the legal representative's name. Resident identity numbers are masked; record fields
that name another subject's identifier are never shown. A person has a public file only while a
published defaulter, and then it holds just the entries and the records behind them.

Each record links to its proof of inclusion ("收录证明"), which opens on the ledger no more
than the file shows of the record: the decision, the masked identifier and the shown fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.enforcement.models import EntryRow
from xinyong.identifiers import normalise
from xinyong.identifiers.regions import region_name
from xinyong.policy import Pack
from xinyong.policy.catalogue import Category
from xinyong.records.history import public_members, shown_identifier
from xinyong.records.models import LegalRepresentative, Record, RecordEvent, RecordHead, Subject
from xinyong.rights.events import disputed_records
from xinyong.search.publicity import (
    black_lists,
    is_public,
    list_published,
    public_clause,
    publication_ends,
)
from xinyong.store.bulk import chunked
from xinyong.subjects.proofs import logged_record
from xinyong.web.types import MAX_ID

REGISTRATION_FIELDS = ("name", "org_type", "registered_capital", "address", "established_on")
PAGE_SIZE = 50


def shown_id(subject: Subject) -> str:
    return shown_identifier(subject.identifier, subject.kind)


def ref_of(subject: Subject) -> str:
    """How public links name a subject: the USCC, or for a person the subject number (a
    resident identity number never appears in a link)."""
    return str(subject.id) if subject.kind == "person" else subject.identifier


def find_subject(session: Session, ref: str) -> Subject | None:
    text = ref.strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
        return session.get(Subject, int(text))
    return session.scalars(select(Subject).where(Subject.identifier == normalise(text))).first()


def public_file(session: Session, pack: Pack, ref: str, day: date) -> dict[str, Any] | None:
    """The subject's public file on ``day``, or None when there is none to show."""
    subject = find_subject(session, ref)
    if subject is None:
        return None
    entries = _public_entries(session, pack, [subject.id], day).get(subject.id, [])
    if not _has_public_file(subject, entries):
        return None
    records = _shown_records(
        subject, entries, _public_records(session, pack, [subject.id], day).get(subject.id, [])
    )
    person = subject.kind == "person"
    return {
        "subject": {
            **public_subject(subject),
            "region": subject.region,
            "region_name": region_name(subject.region),
        },
        "as_of": day.isoformat(),
        "registration": None if person else _registration(records),
        "legal_representative": None if person else _representative(session, subject),
        "record_groups": _groups(records),
        "entries": entries,
    }


def public_subject(subject: Subject) -> dict[str, Any]:
    """How public views name a subject: its link, kind, name and shown identifier."""
    return {
        "ref": ref_of(subject),
        "kind": subject.kind,
        "name": subject.name,
        "id": shown_id(subject),
    }


def _has_public_file(subject: Subject, entries: list[dict[str, Any]]) -> bool:
    """Organisations always; a person only while a published defaulter."""
    return subject.kind != "person" or any(entry["kind"] == "black" for entry in entries)


def _shown_records(
    subject: Subject, entries: list[dict[str, Any]], records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A person's file shows only the records behind its entries."""
    if subject.kind != "person":
        return records
    grounds = {entry["document_key"] for entry in entries}
    return [record for record in records if record["document_key"] in grounds]


def public_files(
    session: Session, pack: Pack, day: date, chunk: int = 2_000
) -> Iterator[tuple[Subject, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Every public file on ``day``, by subject id: (subject, entries, records), each as
    ``public_file`` shows them; ``chunk`` subjects are read at a time."""
    last = 0
    while True:
        subjects = list(
            session.scalars(
                select(Subject).where(Subject.id > last).order_by(Subject.id).limit(chunk)
            )
        )
        if not subjects:
            return
        ids = [subject.id for subject in subjects]
        entries = _public_entries(session, pack, ids, day)
        records = _public_records(session, pack, ids, day)
        for subject in subjects:
            held = entries.get(subject.id, [])
            if _has_public_file(subject, held):
                yield subject, held, _shown_records(subject, held, records.get(subject.id, []))
        last = ids[-1]


def _public_records(
    session: Session, pack: Pack, subject_ids: list[int], day: date
) -> dict[int, list[dict[str, Any]]]:
    rows = session.execute(
        select(Record, RecordHead.status)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(Record.subject_id.in_(subject_ids))
        .order_by(Record.decided_on.desc(), Record.id.desc())
    ).all()
    shown = [
        record
        for record, status in rows
        if is_public(pack, record.record_type, record.severity, record.decided_on, status, day)
    ]
    proofs: dict[int, int] = {}
    disputed: set[int] = set()
    # An objection marks the record at once, on the public file too.
    for ids in chunked([record.id for record in shown], 5_000):
        proofs.update(_proofs(session, list(ids)))
        disputed |= disputed_records(session, list(ids))
    by_subject: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in shown:
        by_subject[record.subject_id].append(
            {**_record(pack, record, proofs.get(record.id)), "disputed": record.id in disputed}
        )
    return by_subject


def _proofs(session: Session, record_ids: list[int]) -> dict[int, int]:
    """The ledger event that logged each record version: the first of its events (submitted or
    corrected), whose leaf commits to the version as it was decided."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(RecordEvent.record_id, func.min(RecordEvent.ledger_leaf))
        .where(RecordEvent.record_id.in_(record_ids))
        .group_by(RecordEvent.record_id)
    )
    return {record_id: leaf for record_id, leaf in rows if leaf is not None}


def public_proof_members(
    session: Session, pack: Pack, event: int, day: date
) -> frozenset[str] | None:
    """The members a public proof of ``event`` may open: those of the record it logged, as the
    subject's public file shows that record on ``day``; None when no public file shows it (not
    public, no longer public, or not a record event at all)."""
    record_id = logged_record(session, event)
    row = None
    if record_id is not None:
        row = session.execute(
            select(Record, RecordHead.record_id, RecordHead.status, Subject)
            .join(RecordHead, RecordHead.document_key == Record.document_key)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.id == record_id)
        ).one_or_none()
    # Most events an outsider asks about are of records no public file shows: refused cheaply.
    if row is None or row[1] != record_id:
        return None
    record, _, status, subject = row
    if not is_public(pack, record.record_type, record.severity, record.decided_on, status, day):
        return None
    found = public_file(session, pack, ref_of(subject), day)
    if found is None:
        return None
    for group in found["record_groups"]:
        for record in group["records"]:
            if record["ledger_event"] == event:
                return public_members(record["fields"])
    return None


def _record(pack: Pack, record: Record, event: int | None) -> dict[str, Any]:
    kind = pack.record_types[record.record_type]
    authority = pack.authorities.get(record.authority)
    ends = publication_ends(pack, record.record_type, record.severity, record.decided_on)
    return {
        "document_key": record.document_key,
        "record_type": record.record_type,
        "record_type_name": kind.name.model_dump(),
        "category": str(kind.category),
        "polarity": str(kind.polarity),
        "penalty": kind.administrative_penalty,
        "authority": record.authority,
        "authority_name": authority.name.model_dump() if authority else None,
        "document_no": record.document_no,
        "decided_on": record.decided_on.isoformat(),
        "effective_on": record.effective_on.isoformat(),
        "severity": record.severity,
        "amount": None if record.amount is None else f"{record.amount:.2f}",
        "fields": _shown_fields(record.fields),
        "public_until": ends.isoformat() if ends else None,
        "ledger_event": event,
        "proof": None if event is None else f"/v1/public/proof/inclusion?event={event}",
    }


def _shown_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The record's fields without those naming another subject's identifier."""
    return {
        key: value
        for key, value in fields.items()
        if not key.endswith("_id") and not isinstance(value, dict | list)
    }


def _groups(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records by catalogue category, in the catalogue's order (registration first)."""
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_category[record["category"]].append(record)
    return [
        {
            "category": str(category),
            "label": category.label.model_dump(),
            "records": by_category[str(category)],
        }
        for category in Category
        if by_category.get(str(category))
    ]


def _registration(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    registrations = [r for r in records if r["category"] == str(Category.REGISTRATION)]
    if not registrations:
        return None
    first = min(registrations, key=lambda r: r["decided_on"])
    fields = {key: first["fields"].get(key) for key in REGISTRATION_FIELDS}
    for change in sorted(registrations, key=lambda r: r["decided_on"]):
        fields.update({k: v for k, v in change["fields"].items() if k in REGISTRATION_FIELDS})
    return {
        **fields,
        "authority_name": first["authority_name"],
        "document_no": first["document_no"],
        "registered_on": first["decided_on"],
    }


def _representative(session: Session, subject: Subject) -> dict[str, Any] | None:
    row = session.execute(
        select(Subject.name, LegalRepresentative.started_on)
        .join(LegalRepresentative, LegalRepresentative.person_id == Subject.id)
        .where(
            LegalRepresentative.organisation_id == subject.id,
            LegalRepresentative.ended_on.is_(None),
        )
        .order_by(LegalRepresentative.started_on.desc())
    ).first()
    if row is None:
        return None
    return {"name": row.name, "since": row.started_on.isoformat()}


def _public_entries(
    session: Session, pack: Pack, subject_ids: list[int], day: date
) -> dict[int, list[dict[str, Any]]]:
    rows = session.execute(
        select(EntryRow, Record, RecordHead.status)
        .join(Record, Record.id == EntryRow.record_id)
        .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
        .where(
            EntryRow.subject_id.in_(subject_ids),
            EntryRow.started_on <= day,
            EntryRow.ended_on > day,
        )
        .order_by(EntryRow.started_on.desc())
    ).all()
    by_subject: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry, record, status in rows:
        if entry.list_code not in pack.lists:
            continue
        shown = is_public(pack, record.record_type, record.severity, record.decided_on, status, day)
        if shown or list_published(pack, entry.list_code, status):
            by_subject[entry.subject_id].append(public_entry(pack, entry, record, shown))
    return by_subject


def public_entry(
    pack: Pack, entry: EntryRow, record: Record, record_shown: bool = True
) -> dict[str, Any]:
    """An entry as public views show it; the decision that grounds it only when that record is
    public itself (an entry of a published list may rest on a shared record)."""
    credit_list = pack.lists[entry.list_code]
    owner = pack.authorities.get(credit_list.owner)
    return {
        "list": entry.list_code,
        "list_name": credit_list.name.model_dump(),
        "kind": str(credit_list.kind),
        "owner_name": owner.name.model_dump() if owner else None,
        "legal_basis": [basis.model_dump() for basis in credit_list.legal_basis],
        "started_on": entry.started_on.isoformat(),
        "ends_on": entry.ended_on.isoformat(),
        "document_key": entry.document_key if record_shown else None,
        "document_no": record.document_no if record_shown else "",
        "authority": record.authority,
    }


def defaulters(
    session: Session, pack: Pack, day: date, page: int, list_code: str | None = None
) -> dict[str, Any]:
    """Public black-list entries in force on ``day``, newest first, one page at a time."""
    codes = [code for code in black_lists(pack) if list_code in (None, code)]
    published = (
        select(EntryRow, Record, Subject)
        .join(Record, Record.id == EntryRow.record_id)
        .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
        .join(Subject, Subject.id == EntryRow.subject_id)
        .where(
            EntryRow.list_code.in_(codes),
            EntryRow.started_on <= day,
            EntryRow.ended_on > day,
            public_clause(
                pack, day, Record.record_type, Record.severity, Record.decided_on, RecordHead.status
            ),
        )
    )
    total = session.scalar(select(func.count()).select_from(published.subquery())) or 0
    shown = session.execute(
        published.order_by(EntryRow.started_on.desc(), EntryRow.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return {
        "as_of": day.isoformat(),
        "list": list_code,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "total": total,
        "entries": [
            {"subject": public_subject(subject), **public_entry(pack, entry, record)}
            for entry, record, subject in shown
        ],
    }
