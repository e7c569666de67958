"""The repository's tables: subjects, their legal representatives, authorities as published,
records, their events and heads, and the policy publications.

Records are immutable: a correction is a new row with the next version and a withdrawal is an
event. ``record_heads`` is the one mutable index, pointing each document at its current version;
it is derivable from ``record_events`` and exists so that ingest and reads never scan history.
Each record version and event names the submission it came in (``submissions``, a table of
``xinyong.ingest``), by key only: the records feature knows nothing of how ingest works.
The references that ingest writes for every record are checked per statement on PostgreSQL
(``xinyong.store.references``), not per row.
"""

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base
from xinyong.store.filters import JsonText, unindexed
from xinyong.store.references import checked_per_statement


class AuthorityRow(Base):
    """An authority as published by the active policy pack (copied so records can join to it)."""

    __tablename__ = "authorities"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(6))
    registration_authority: Mapped[bool] = mapped_column(Boolean, default=False)


class Subject(Base):
    """A natural person (resident identity number) or an organisation (unified social credit code)."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # person | organisation
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(6))
    org_type: Mapped[str | None] = mapped_column(String(2))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(6))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    suspect_identifier: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_submission: Mapped[int | None] = mapped_column(Integer)


class LegalRepresentative(Base):
    """Who represented an organisation, from when to when, as its registration records say."""

    __tablename__ = "legal_representatives"
    __table_args__ = (Index(None, "organisation_id", "ended_on"), Index(None, "person_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(checked_per_statement("subjects.id"))
    person_id: Mapped[int] = mapped_column(checked_per_statement("subjects.id"))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    record_id: Mapped[int] = mapped_column(checked_per_statement("records.id"))


class Record(Base):
    """One version of one decision by one authority about one subject. Never updated."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("document_key", "version"),
        # A subject's records of some types (the lists' types, a registration) by both keys,
        # not every record of the subject: one subject may hold thousands of others.
        Index(None, "subject_id", "record_type"),
        # What the public pages filter, count and order by, without reading the wide rows; and
        # the way in for the few readers of all the records of some types (every B-tree here
        # costs each record stored, so there is no second index led by the type).
        Index(None, "record_type", "decided_on", "severity", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # authority|record_type|document_no: the identity of the decision across its versions.
    document_key: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    record_type: Mapped[str] = mapped_column(String(80))
    authority: Mapped[str] = mapped_column(String(64))
    document_no: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[int] = mapped_column(checked_per_statement("subjects.id"))
    subject_name: Mapped[str] = mapped_column(String(200))
    decided_on: Mapped[date] = mapped_column(Date)
    effective_on: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(32))
    submission_id: Mapped[int] = mapped_column(checked_per_statement("submissions.id"))
    row_no: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Provenance of a version another node of the network accepted first (null when accepted
    # here): where, its id and receipt time there, and the neighbour that sent it here.
    origin_node: Mapped[str | None] = mapped_column(String(64))
    origin_record_id: Mapped[int | None] = mapped_column(BigInteger)
    origin_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    via_node: Mapped[str | None] = mapped_column(String(64))


ORGANISATION = literal_column("'organisation'", String)
"""The organisations' kind as a constant, as the partial index on their codes is written."""
REGISTRATION_NUMBER = "registration_no"
"""The field of a registration record that carries the organisation's old registration number."""


def embedded_organisation_code() -> ColumnElement[str]:
    """Positions 9-17 of a subject's USCC: an organisation's code from before 2015. Written
    with constants, as the index on it is (see ``ix_subjects_organisation_code``)."""
    return func.substr(Subject.identifier, literal_column("9"), literal_column("9"), type_=String)


def registration_number() -> ColumnElement[str]:
    """The registration number a record's fields carry, as the index on it is written."""
    return JsonText(Record.fields, REGISTRATION_NUMBER)


# Rows that carry only an old code find their subject by these (``xinyong.ingest.legacy``):
# each a key of what a batch carries, so that finding a few codes reads a few rows.
Index(
    "ix_subjects_organisation_code",
    embedded_organisation_code(),
    sqlite_where=Subject.kind == ORGANISATION,
    postgresql_where=Subject.kind == ORGANISATION,
)
Index(
    "ix_records_registration_no",
    registration_number(),
    sqlite_where=registration_number().is_not(None),
    postgresql_where=registration_number().is_not(None),
)


def of_types(record_types: Collection[str]) -> ColumnElement[bool]:
    """The records of ``record_types``, as a filter beside one on the subjects: the subjects'
    index, not the type's (every record of the type), is the way in (``unindexed``)."""
    return unindexed(Record.record_type).in_(sorted(record_types))


class RecordHead(Base):
    """The current version and status of each decision (an index over ``record_events``).

    Ingest writes one head per new document, so each of its B-trees costs every record: on
    SQLite the heads are one B-tree keyed by the document (no rowid table beside the key's
    index), plus the index by which a record version finds its head. A subject's heads are
    found through the records' index on the subject, joined by ``record_id``: the head's
    subject is its current version's (a correction never changes the subject)."""

    __tablename__ = "record_heads"
    __table_args__ = (Index(None, "record_id", "status"), {"sqlite_with_rowid": False})

    document_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    record_id: Mapped[int] = mapped_column(checked_per_statement("records.id"))
    subject_id: Mapped[int] = mapped_column(checked_per_statement("subjects.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))  # active | withdrawn


class RecordEvent(Base):
    """A step in a record's life: submitted, corrected, withdrawn, disputed, repaired, expired."""

    __tablename__ = "record_events"
    __table_args__ = (Index(None, "record_id"), Index(None, "ledger_leaf"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(checked_per_statement("records.id"))
    kind: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submission_id: Mapped[int | None] = mapped_column(checked_per_statement("submissions.id"))
    row_no: Mapped[int | None] = mapped_column(Integer)
    # The event's leaf in the ledger: a subject's file links every record to its inclusion proof.
    # Leaves are appended under the ledger head's lock, so their order is the commit order:
    # the links of a network read the events after their cursor in this order.
    ledger_leaf: Mapped[int | None] = mapped_column(BigInteger)
    # An event made here because a neighbour sent it: the node where the change was made, and
    # the neighbour it came from (never sent back there).
    origin_node: Mapped[str | None] = mapped_column(String(64))
    via_node: Mapped[str | None] = mapped_column(String(64))


class PolicyPublication(Base):
    """A policy pack as published into this store: which version, with which file digest."""

    __tablename__ = "policy_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
