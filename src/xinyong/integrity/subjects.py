"""Subjects and their legal representatives, recomputed from the record versions that named them.

Ingest creates a subject the first time a stored row names it, as the row's subject or as an
organisation's legal representative, and a registration record (a type that
``confirms_subject``) confirms an organisation and sets its registered name; the last one
wins. Everything else a subject row holds (kind, region, organisation type, birth date, sex,
whether the identifier is suspect) is read from the identifier itself. A subject no logged
record names is a fabrication: it would make a check answer ``known: true``.

A registration record that names a legal representative other than the one in office ends the
current representation on its effective day and opens the next; ingest's writer applies them a
batch at a time, ordered by effective day and row within the batch (``representation_periods``
replays exactly that). Representations extend an organisation's listing to the person, so a
period added, moved or deleted changes decisions about that person.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, func, select

from xinyong.identifiers import IdentifierKind, normalise, parse
from xinyong.integrity.records import identifiers_of, subject_label
from xinyong.integrity.report import Difference, Findings
from xinyong.policy import Pack
from xinyong.records.models import LegalRepresentative, Record, Subject, of_types
from xinyong.store.bulk import among, chunked

REPRESENTATIVE_FIELD = "legal_representative_id"
REPRESENTATIVE_NAME_FIELD = "legal_representative_name"
KIND_OF_IDENTIFIER = {IdentifierKind.RESIDENT_ID: "person", IdentifierKind.USCC: "organisation"}
OPEN = "open"
"""How a period still running shows where its end would."""


class Appointment(NamedTuple):
    """A record version that names an organisation's legal representative."""

    record_id: int
    organisation_id: int
    batch: tuple[int, datetime]
    """The ingest batch that stored it: (submission, the instant stamped on the batch)."""
    effective_on: date
    row_no: int
    person: str
    """The representative's identifier, normalised as ingest resolves it."""
    name: str


class Period(NamedTuple):
    person_id: int
    started_on: date
    ended_on: date | None
    record_id: int


def representation_periods(
    appointments: Sequence[Appointment], person_ids: Mapping[str, int]
) -> dict[int, list[Period]]:
    """Each organisation's representation periods, as ingest's writer opens and closes them.

    ``appointments`` are in the order they were stored (record id); batches apply in that
    order, and within a batch by effective day, then row. A new representative ends the open
    period on the appointment's effective day; naming the one in office changes nothing.
    """
    batches: dict[tuple[int, datetime], list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        batches[appointment.batch].append(appointment)
    periods: dict[int, list[Period]] = defaultdict(list)
    for batch in batches.values():
        for appointment in sorted(batch, key=lambda item: (item.effective_on, item.row_no)):
            person = person_ids.get(appointment.person)
            if person is None:
                continue  # reported as a missing subject
            held = periods[appointment.organisation_id]
            current = next((i for i, period in enumerate(held) if period.ended_on is None), None)
            if current is not None:
                if held[current].person_id == person:
                    continue
                held[current] = held[current]._replace(ended_on=appointment.effective_on)
            held.append(Period(person, appointment.effective_on, None, appointment.record_id))
    return periods


@dataclass
class Namings:
    """What the store-wide pass over registration records gives the per-chunk checks."""

    periods: dict[int, list[Period]] = field(default_factory=dict)
    organisations: list[int] = field(default_factory=list)
    """The keys of ``periods``, sorted: a range of ids is found by bisection."""
    first_as_representative: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Identifier -> (record id, name) of the first record naming it as a representative."""
    unknown_people: list[Appointment] = field(default_factory=list)


def representing_types(pack: Pack) -> list[str]:
    """Record types whose fields can name a legal representative."""
    return sorted(
        code
        for code, record_type in pack.record_types.items()
        if REPRESENTATIVE_FIELD in _properties(record_type.fields)
    )


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = schema.get("properties")
    return properties if isinstance(properties, Mapping) else {}


def load_namings(connection: Connection, pack: Pack) -> Namings:
    """Every appointment of a legal representative in the store, replayed."""
    appointments: list[Appointment] = []
    types = representing_types(pack)
    if types:
        rows = connection.execute(
            select(
                Record.id,
                Record.subject_id,
                Record.submission_id,
                Record.received_at,
                Record.effective_on,
                Record.row_no,
                Record.fields,
            )
            .where(Record.record_type.in_(types))
            .order_by(Record.id)
        )
        for row in rows:
            raw = row.fields.get(REPRESENTATIVE_FIELD)
            if not isinstance(raw, str):
                continue
            name = row.fields.get(REPRESENTATIVE_NAME_FIELD)
            appointments.append(
                Appointment(
                    row.id,
                    row.subject_id,
                    (row.submission_id, row.received_at),
                    row.effective_on,
                    row.row_no,
                    normalise(raw),
                    name if isinstance(name, str) else "",
                )
            )
    namings = Namings()
    for appointment in appointments:
        namings.first_as_representative.setdefault(
            appointment.person, (appointment.record_id, appointment.name)
        )
    person_ids: dict[str, int] = {}
    for chunk in chunked(sorted(namings.first_as_representative)):
        for subject_id, identifier in connection.execute(
            select(Subject.id, Subject.identifier).where(
                among(connection, Subject.identifier, chunk)
            )
        ):
            person_ids[identifier] = subject_id
    namings.unknown_people = [item for item in appointments if item.person not in person_ids]
    namings.periods = representation_periods(appointments, person_ids)
    namings.organisations = sorted(namings.periods)
    return namings


def check_unknown_people(connection: Connection, namings: Namings, findings: Findings) -> None:
    identifiers = identifiers_of(
        connection, [item.organisation_id for item in namings.unknown_people]
    )
    for item in namings.unknown_people:
        findings.add(
            Difference(
                "subjects",
                item.person,
                f"legal representative named by record {item.record_id}",
                "row",
                None,
                {"organisation": subject_label(identifiers, item.organisation_id)},
                "a person a logged record names has no subject row",
            )
        )


def id_range(column: Any, low: int | None, high: int | None) -> ColumnElement[bool]:
    """``low < column <= high``, either end open when None."""
    condition: ColumnElement[bool] = column.isnot(None)
    if low is not None:
        condition = condition & (column > low)
    if high is not None:
        condition = condition & (column <= high)
    return condition


SUBJECT_COLUMNS = (
    Subject.id,
    Subject.identifier,
    Subject.kind,
    Subject.name,
    Subject.region,
    Subject.org_type,
    Subject.birth_date,
    Subject.sex,
    Subject.confirmed,
    Subject.suspect_identifier,
)


def check_subjects(
    connection: Connection,
    pack: Pack,
    subject_ids: Sequence[int],
    namings: Namings,
    findings: Findings,
) -> None:
    """Names, confirmation and identifier facts of the subjects ``subject_ids`` (ascending)."""
    if not subject_ids:
        return
    low, high = subject_ids[0] - 1, subject_ids[-1]
    subjects = connection.execute(
        select(*SUBJECT_COLUMNS).where(id_range(Subject.id, low, high)).order_by(Subject.id)
    ).all()
    in_range = id_range(Record.subject_id, low, high)
    first = dict(
        connection.execute(
            select(Record.subject_id, func.min(Record.id))
            .where(in_range)
            .group_by(Record.subject_id)
        ).all()
    )
    confirming_types = sorted(
        code for code, record_type in pack.record_types.items() if record_type.confirms_subject
    )
    last_confirming = dict(
        connection.execute(
            select(Record.subject_id, func.max(Record.id))
            .where(in_range, of_types(confirming_types))
            .group_by(Record.subject_id)
        ).all()
    )
    names: dict[int, str] = {}
    for chunk in chunked(sorted(first.values())):
        names.update(
            connection.execute(
                select(Record.id, Record.subject_name).where(among(connection, Record.id, chunk))
            ).all()
        )
    registered: dict[int, str] = {}
    for chunk in chunked(sorted(last_confirming.values())):
        for record_id, subject_name, fields in connection.execute(
            select(Record.id, Record.subject_name, Record.fields).where(
                among(connection, Record.id, chunk)
            )
        ):
            name = fields.get("name") if isinstance(fields, Mapping) else None
            registered[record_id] = name if isinstance(name, str) else subject_name
    for subject in subjects:
        as_subject = first.get(subject.id)
        as_representative = namings.first_as_representative.get(subject.identifier)
        namings_found = [
            *([] if as_subject is None else [(as_subject, names[as_subject], False)]),
            *([] if as_representative is None else [(*as_representative, True)]),
        ]
        if not namings_found:
            findings.add(
                Difference(
                    "subjects", subject.identifier, f"subject #{subject.id}", "row",
                    {"name": subject.name}, None,
                    "no logged record names this subject: checks would answer known:true",
                )
            )  # fmt: skip
            continue
        _, first_name, representative = min(namings_found)
        confirmed_by = last_confirming.get(subject.id)
        parsed = parse(subject.identifier, IdentifierKind.RESIDENT_ID if representative else None)
        kind = KIND_OF_IDENTIFIER.get(parsed.kind, str(parsed.kind))
        expected = {
            "name": first_name if confirmed_by is None else registered[confirmed_by],
            "confirmed": kind == "person" or confirmed_by is not None,
            "kind": kind,
            "region": parsed.region_code,
            "org_type": parsed.code[:2] if parsed.kind is IdentifierKind.USCC else None,
            "birth_date": parsed.birth_date,
            "sex": parsed.sex,
            "suspect_identifier": parsed.suspect,
        }
        for column, recomputed in expected.items():
            stored = getattr(subject, column)
            if stored != recomputed:
                findings.add(
                    Difference(
                        "subjects", subject.identifier, f"subject #{subject.id}", column,
                        stored, recomputed, _SUBJECT_NOTES.get(column, ""),
                    )
                )  # fmt: skip
    findings.checked["subjects"] += len(subjects)


_SUBJECT_NOTES = {
    "name": "the name public pages and files show",
    "kind": "a person's file is public only while a published defaulter",
    "confirmed": "an organisation is confirmed only by a registration record",
}


def check_representatives(
    connection: Connection,
    low: int | None,
    high: int | None,
    namings: Namings,
    identifiers: Mapping[int, str],
    findings: Findings,
) -> None:
    """``legal_representatives`` of the organisations with ids in (low, high]."""
    stored: dict[int, list[tuple[int, Period]]] = defaultdict(list)
    rows = connection.execute(
        select(LegalRepresentative)
        .where(id_range(LegalRepresentative.organisation_id, low, high))
        .order_by(LegalRepresentative.id)
    )
    for row in rows:
        period = Period(row.person_id, row.started_on, row.ended_on, row.record_id)
        stored[row.organisation_id].append((row.id, period))
    ordered = namings.organisations
    start = 0 if low is None else bisect_right(ordered, low)
    stop = len(ordered) if high is None else bisect_right(ordered, high)
    organisations = set(stored) | set(ordered[start:stop])
    people = {
        period.person_id
        for organisation in organisations
        for period in (
            *namings.periods.get(organisation, ()),
            *(item for _, item in stored.get(organisation, ())),
        )
    }
    names = {**identifiers, **identifiers_of(connection, people - identifiers.keys())}
    checked = 0
    for organisation in sorted(organisations):
        subject = subject_label(names, organisation)
        recomputed = {
            (period.person_id, period.started_on, period.record_id): period
            for period in namings.periods.get(organisation, ())
        }
        for row_id, period in stored.get(organisation, ()):
            checked += 1
            key = (period.person_id, period.started_on, period.record_id)
            expected = recomputed.pop(key, None)
            where = _period_label(names, period)
            if expected is None:
                findings.add(
                    Difference(
                        "legal_representatives", subject, f"period #{row_id}: {where}", "row",
                        _period_json(names, period), None,
                        "no logged registration record appoints this representative then",
                    )
                )  # fmt: skip
            elif expected.ended_on != period.ended_on:
                findings.add(
                    Difference(
                        "legal_representatives", subject, f"period #{row_id}: {where}",
                        "ended_on", period.ended_on or OPEN, expected.ended_on or OPEN,
                        "the representative is bound by the organisation's listings until then",
                    )
                )  # fmt: skip
        for period in recomputed.values():
            findings.add(
                Difference(
                    "legal_representatives", subject, _period_label(names, period), "row",
                    None, _period_json(names, period),
                    "a logged registration record appoints this representative",
                )
            )  # fmt: skip
    findings.checked["legal_representatives"] += checked


def _period_label(names: Mapping[int, str], period: Period) -> str:
    person = subject_label(names, period.person_id)
    return f"{person} from {period.started_on.isoformat()} (record {period.record_id})"


def _period_json(names: Mapping[int, str], period: Period) -> dict[str, Any]:
    return {
        "person": subject_label(names, period.person_id),
        "started_on": period.started_on.isoformat(),
        "ended_on": None if period.ended_on is None else period.ended_on.isoformat(),
        "record": period.record_id,
    }
