"""A subject's file: identity, flags, representation history, and every record with its history."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from xinyong.identifiers import normalise
from xinyong.policy import Pack
from xinyong.store.bulk import among, chunked
from xinyong.store.models import (
    LegalRepresentative,
    Record,
    RecordEvent,
    RecordHead,
    Subject,
    Submission,
)


class UnknownSubject(LookupError):
    pass


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def subject_file(session: Session, raw_identifier: str, pack: Pack) -> dict[str, Any]:
    identifier = normalise(raw_identifier)
    subject = session.scalars(select(Subject).where(Subject.identifier == identifier)).first()
    if subject is None:
        raise UnknownSubject(f"no subject with identifier {identifier}")
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
        for head in session.scalars(select(RecordHead).where(RecordHead.subject_id == subject.id))
    }
    versions = session.execute(
        select(Record, Submission.source, Submission.channel)
        .join(Submission, Submission.id == Record.submission_id)
        .where(Record.document_key.in_(list(heads)) if heads else Record.subject_id == subject.id)
        .order_by(Record.document_key, Record.version)
    ).all()
    record_ids = [record.id for record, _, _ in versions]
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
                    "proof": None
                    if event.ledger_leaf is None
                    else f"/v1/ledger/proof/inclusion?event={event.ledger_leaf}",
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
                },
                "events": events[record.id],
            }
        )
    return sorted(documents.values(), key=lambda d: d["versions"][-1]["decided_on"], reverse=True)
