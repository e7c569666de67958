"""Search results as the portal shows them: every hit the index finds counted, facets by kind
and province, a page of rows made rich from the store (legal representative, established date,
region name, the lists the subject itself is on)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.enforcement.models import EntryRow
from xinyong.identifiers.regions import region_name
from xinyong.policy import Pack
from xinyong.policy.catalogue import Category
from xinyong.records.models import LegalRepresentative, Record, RecordHead, Subject, of_types
from xinyong.search.index import Hit
from xinyong.search.publicity import is_public, list_published

SEARCH_PAGE = 20


@dataclass(frozen=True)
class Facet:
    value: str
    label: str
    count: int


def province(region: str | None) -> str:
    return region[:2] if region and len(region) >= 2 else ""


def facets(hits: Sequence[Hit]) -> dict[str, list[Facet]]:
    """How many hits of each kind and in each province, most first."""
    kinds = Counter(hit.kind for hit in hits)
    provinces = Counter(province(hit.region) for hit in hits if province(hit.region))
    return {
        "kind": [Facet(kind, kind, count) for kind, count in kinds.most_common()],
        "region": [
            Facet(code, region_name(code + "0000") or code, count)
            for code, count in provinces.most_common()
        ],
    }


def narrowed(hits: Sequence[Hit], kind: str, region: str) -> list[Hit]:
    return [
        hit
        for hit in hits
        if (not kind or hit.kind == kind) and (not region or province(hit.region) == region)
    ]


def rich_rows(session: Session, pack: Pack, hits: Sequence[Hit], day: date) -> list[dict[str, Any]]:
    """The hits of one page with what a visitor wants to see beside each name."""
    people = [int(hit.ref) for hit in hits if hit.kind == "person" and hit.ref.isdigit()]
    orgs = [hit.ref for hit in hits if hit.kind != "person"]
    subjects = session.scalars(
        select(Subject).where(Subject.id.in_(people) | Subject.identifier.in_(orgs))
    ).all()
    by_ref = {str(s.id) if s.kind == "person" else s.identifier: s for s in subjects}
    ids = [subject.id for subject in subjects]
    representatives = dict(
        session.execute(
            select(LegalRepresentative.organisation_id, Subject.name)
            .join(Subject, Subject.id == LegalRepresentative.person_id)
            .where(
                LegalRepresentative.organisation_id.in_(ids),
                LegalRepresentative.ended_on.is_(None),
            )
        ).all()
    )
    registration = [
        c for c, kind in pack.record_types.items() if kind.category == Category.REGISTRATION
    ]
    established: dict[int, str] = {}
    for subject_id, fields in session.execute(
        select(Record.subject_id, Record.fields)
        .where(Record.subject_id.in_(ids), of_types(registration))
        .order_by(Record.decided_on)
    ):
        if fields.get("established_on") and subject_id not in established:
            established[subject_id] = fields["established_on"]
    lists: dict[int, list[dict[str, Any]]] = {}
    for entry, record, status in session.execute(
        select(EntryRow, Record, RecordHead.status)
        .join(Record, Record.id == EntryRow.record_id)
        .join(RecordHead, RecordHead.document_key == EntryRow.document_key)
        .where(EntryRow.subject_id.in_(ids), EntryRow.started_on <= day, EntryRow.ended_on > day)
    ):
        credit_list = pack.lists.get(entry.list_code)
        if credit_list and (
            is_public(pack, record.record_type, record.severity, record.decided_on, status, day)
            or list_published(pack, entry.list_code, status)
        ):
            names = lists.setdefault(entry.subject_id, [])
            if credit_list.name.model_dump() not in [n["name"] for n in names]:
                names.append({"name": credit_list.name.model_dump(), "kind": str(credit_list.kind)})
    rows = []
    for hit in hits:
        subject = by_ref.get(hit.ref)
        subject_id = subject.id if subject else -1
        rows.append(
            {
                "hit": hit,
                "region_name": region_name(hit.region),
                "representative": representatives.get(subject_id),
                "established_on": established.get(subject_id),
                "lists": lists.get(subject_id, []),
            }
        )
    return rows
