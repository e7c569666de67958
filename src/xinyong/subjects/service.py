"""A subject's file: identity, flags, representation history, and every record with its history;
the whole file a subject sees of itself; and the parts of it each member of staff may see."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from xinyong.audit.service import accesses_of
from xinyong.clock import as_utc
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import EntryRow, checks_and_sites
from xinyong.enforcement.service import checks_in_store
from xinyong.ingest.legacy import links_of
from xinyong.ingest.models import Submission
from xinyong.policy import Pack
from xinyong.records.lookup import find_subject
from xinyong.records.models import LegalRepresentative, Record, RecordEvent, RecordHead, Subject
from xinyong.rights.events import disputed_records
from xinyong.rights.notices import notices_for
from xinyong.scoring.explain import explanations
from xinyong.store.bulk import among, chunked


def _instant(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="seconds")


def subject_file(session: Session, raw_identifier: str, pack: Pack) -> dict[str, Any]:
    subject = find_subject(session, raw_identifier)
    return {
        "subject": {
            "identifier": subject.identifier,
            "kind": subject.kind,
            "name": subject.name,
            "region": subject.region,
            "org_type": subject.org_type,
            "birth_date": subject.birth_date.isoformat() if subject.birth_date else None,
            "sex": subject.sex,
            "flags": {
                "confirmed": subject.confirmed,
                "suspect_identifier": subject.suspect_identifier,
            },
        },
        "representation": _representation(session, subject),
        "records": _records(session, subject, pack),
    }


def _representation(session: Session, subject: Subject) -> list[dict[str, Any]]:
    other = aliased(Subject)
    if subject.kind == "organisation":
        condition = LegalRepresentative.organisation_id == subject.id
        join_on = other.id == LegalRepresentative.person_id
        role = "legal_representative"
    else:
        condition = LegalRepresentative.person_id == subject.id
        join_on = other.id == LegalRepresentative.organisation_id
        role = "represents"
    rows = session.execute(
        select(LegalRepresentative, other.identifier, other.name)
        .join(other, join_on)
        .where(condition)
        .order_by(LegalRepresentative.started_on)
    )
    return [
        {
            "role": role,
            "identifier": identifier,
            "name": name,
            "started_on": period.started_on.isoformat(),
            "ended_on": period.ended_on.isoformat() if period.ended_on else None,
        }
        for period, identifier, name in rows
    ]


def _records(session: Session, subject: Subject, pack: Pack) -> list[dict[str, Any]]:
    heads = {
        head.document_key: head
        for head in session.scalars(
            select(RecordHead)
            .join(Record, Record.id == RecordHead.record_id)
            .where(Record.subject_id == subject.id)
        )
    }
    versions = session.execute(
        select(Record, Submission.source, Submission.channel)
        .join(Submission, Submission.id == Record.submission_id)
        .where(Record.document_key.in_(list(heads)) if heads else Record.subject_id == subject.id)
        .order_by(Record.document_key, Record.version)
    ).all()
    record_ids = [record.id for record, _, _ in versions]
    linked = links_of(session, record_ids)
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in chunked(record_ids):
        for event in session.scalars(
            select(RecordEvent)
            .where(among(session.connection(), RecordEvent.record_id, chunk))
            .order_by(RecordEvent.id)
        ):
            events[event.record_id].append(
                {
                    "id": event.id,
                    "kind": event.kind,
                    "at": _instant(event.occurred_at),
                    "submission": event.submission_id,
                    "row": event.row_no,
                    "ledger_leaf": event.ledger_leaf,
                    "proof": None,  # the bundle, where the reader gets it (subjects.proofs)
                }
            )
    documents: dict[str, dict[str, Any]] = {}
    for record, source, channel in versions:
        head = heads.get(record.document_key)
        record_type = pack.record_types.get(record.record_type)
        authority = pack.authorities.get(record.authority)
        document = documents.setdefault(
            record.document_key,
            {
                "record_type": record.record_type,
                "record_type_name": record_type.name.model_dump() if record_type else None,
                "category": str(record_type.category) if record_type else None,
                "polarity": str(record_type.polarity) if record_type else None,
                "disclosure": str(record_type.disclosure) if record_type else None,
                "authority": record.authority,
                "authority_name": authority.name.model_dump() if authority else None,
                "document_no": record.document_no,
                "status": head.status if head else "active",
                "current_version": head.version if head else record.version,
                "versions": [],
            },
        )
        document["versions"].append(
            {
                "record_id": record.id,
                "version": record.version,
                "subject_name": record.subject_name,
                "decided_on": record.decided_on.isoformat(),
                "effective_on": record.effective_on.isoformat(),
                "severity": record.severity,
                "amount": None if record.amount is None else f"{record.amount:.2f}",
                "fields": record.fields,
                "provenance": {
                    "submission": record.submission_id,
                    "channel": channel,
                    "source": source,
                    "row": record.row_no,
                    "received_at": _instant(record.received_at),
                    # The row named the subject by a code from before the USCC.
                    "linked_by": linked.get(record.id),
                },
                "events": events[record.id],
            }
        )
    return sorted(documents.values(), key=lambda d: d["versions"][-1]["decided_on"], reverse=True)


def _entries(session: Session, subject: Subject, pack: Pack, today: date) -> list[dict[str, Any]]:
    rows = session.execute(
        select(EntryRow, Record.record_type, Record.authority, Record.document_no)
        .join(Record, Record.id == EntryRow.record_id)
        .where(EntryRow.subject_id == subject.id)
        .order_by(EntryRow.started_on.desc(), EntryRow.id)
    )
    entries = []
    for entry, record_type, authority, document_no in rows:
        credit_list = pack.lists.get(entry.list_code)
        if entry.started_on > today:
            state = "pending"
        elif entry.ended_on > today:
            state = "active"
        else:
            state = "ended"
        entries.append(
            {
                "id": entry.id,
                "list": entry.list_code,
                "list_name": credit_list.name.model_dump() if credit_list else None,
                "list_kind": credit_list.kind.value if credit_list else None,
                "state": state,
                "started_on": entry.started_on.isoformat(),
                "period_ends_on": entry.period_ends_on.isoformat(),
                "ended_on": entry.ended_on.isoformat(),
                "end_reason": entry.end_reason if state == "ended" else None,
                "grounds": {
                    "record_type": record_type,
                    "authority": authority,
                    "document_no": document_no,
                },
            }
        )
    return entries


def _decisions(session: Session, subject: Subject, pack: Pack, today: date) -> list[dict[str, Any]]:
    """What a relying party would be told today for every action that concerns this kind of
    subject (the subject's own look: nothing is written to the check log)."""
    concerned = [
        (code, action)
        for code, action in sorted(pack.actions.items())
        if subject.kind in action.subject_kinds
    ]
    if not concerned:
        return []
    decided = checks_in_store(
        session, MeasuresIndex(pack), subject.identifier, [code for code, _ in concerned], today
    )
    return [
        {
            "action": code,
            "action_name": action.name.model_dump(),
            "effect": decision.effect,
            "benefits": list(decision.benefits),
            "measures": list(decision.measures),
            "entries": list(decision.entries),
            "valid_until": decision.valid_until.isoformat(),
            "policy_version": decision.policy_version,
        }
        for (code, action), decision in zip(concerned, decided, strict=True)
    ]


def _accesses(session: Session, subject: Subject) -> list[dict[str, Any]]:
    """Every read of the subject's non-public data: staff reads and relying parties' checks."""
    reads = [
        {
            "at": _instant(row.accessed_at),
            "kind": "staff_read",
            "who": row.username,
            "role": row.role,
            "authority": row.authority_code,
            "purpose": row.purpose,
            "what": row.what,
            "ledger_leaf": row.ledger_leaf,
            "proof": None,
        }
        for row in accesses_of(session, subject.id)
    ]
    checks = [
        {
            "at": _instant(row.checked_at),
            "kind": "check" if site is None else "mirror_check",
            "who": row.relying_party_label
            if site is None
            else f"{row.relying_party_label} · {site}",
            "role": "relying_party",
            "authority": None,
            "purpose": row.purpose,
            "what": f"check {row.action}: {row.effect}",
            "action": row.action,
            "effect": row.effect,
            "ledger_leaf": None,
            "proof": None,
        }
        for row, site in session.execute(checks_and_sites(subject.identifier))
    ]
    return sorted(reads + checks, key=lambda access: access["at"], reverse=True)


def whole_file(
    session: Session,
    raw_identifier: str,
    pack: Pack,
    today: date,
    scheme_packs: Sequence[Pack] | None = None,
) -> dict[str, Any]:
    """Everything held on a subject, as the subject sees it: every record (public or not)
    with its versions, events and disclosure level; list entries with their ends; what every
    action check would decide today; its scores under ``scheme_packs`` (by default the shipped
    scheme packs), each with its explanation; every access to its non-public data; and every
    notice sent to it."""
    subject = find_subject(session, raw_identifier)
    file = {
        **subject_file(session, subject.identifier, pack),
        "as_of": today.isoformat(),
        "entries": _entries(session, subject, pack, today),
        "decisions": _decisions(session, subject, pack, today),
        "scores": [
            explanation.as_dict()
            for explanation in explanations(session, subject.identifier, packs=scheme_packs)
        ],
        "accesses": _accesses(session, subject),
        "notices": notices_for(session, subject.id),
    }
    _mark_disputed(session, file["records"])
    return file


def _mark_disputed(session: Session, records: list[dict[str, Any]]) -> None:
    """Flag each record an objection disputes now: every view of the file shows the mark."""
    ids = [version["record_id"] for record in records for version in record["versions"]]
    disputed = disputed_records(session, ids) if ids else set()
    for record in records:
        record["disputed"] = any(v["record_id"] in disputed for v in record["versions"])


def staff_file(
    session: Session, subject: Subject, pack: Pack, today: date, *, role: str, authority: str | None
) -> dict[str, Any]:
    """A subject's file as a member of staff may see it.

    Operators and reviewers see the records, entries and decisions; auditors also see who
    else looked; a providing authority's staff see only the records their authority provided
    and the entries those ground.
    """
    file = {
        **subject_file(session, subject.identifier, pack),
        "as_of": today.isoformat(),
        "entries": _entries(session, subject, pack, today),
    }
    _mark_disputed(session, file["records"])
    if role == "authority":
        file["records"] = [r for r in file["records"] if r["authority"] == authority]
        file["entries"] = [e for e in file["entries"] if e["grounds"]["authority"] == authority]
        return file
    file["decisions"] = _decisions(session, subject, pack, today)
    if role == "auditor":
        file["accesses"] = _accesses(session, subject)
    return file
