"""Tables of joint enforcement: entries, the measures index and its change counter, the check log.

``entries`` and ``measure_index`` are derived from records by the reference evaluator and can
be rebuilt at any time (``xinyong evaluate``); ``check_log`` is primary data, kept for the
subject to see who asked about them, written in groups (``check_log_groups``) that are sealed
on the ledger.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.enforcement.subjects import subject_key as subject_key
from xinyong.store.base import Base


class EntryRow(Base):
    """A subject on a list: the record that put it there, from when, until when, and why it ended.

    ``period_ends_on`` is the end the list rule sets (duration, extension, the record's own
    maximum period); ``ended_on`` is the actual end, earlier when a record removed the entry
    or the grounding decision was withdrawn. Both are exclusive: the entry holds on
    ``started_on <= day < ended_on``.
    """

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("list_code", "document_key"),
        Index(None, "subject_id"),
        Index(None, "list_code", "ended_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_code: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    document_key: Mapped[str] = mapped_column(String(300))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    started_on: Mapped[date] = mapped_column(Date)
    period_ends_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(
        String(10)
    )  # period | removed | withdrawn | repaired | corrected
    ended_by_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeasureIndexRow(Base):
    """One subject's grants: its entries and those it is bound by as a legal representative.

    ``grants`` is a compact JSON list (see ``xinyong.enforcement.index.Grant``); a subject
    that no longer has any keeps an empty row, so a reader that loads rows changed since its
    last ``seq`` also learns of removals.
    """

    __tablename__ = "measure_index"
    __table_args__ = (Index(None, "seq"),)

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(18), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    grants: Mapped[list[Any]] = mapped_column(JSON)


class IndexState(Base):
    """The change counter of the measures index: one row, bumped by every refresh."""

    __tablename__ = "measure_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[str] = mapped_column(String(120))
    """The pack the index was built under; a different pack needs ``xinyong evaluate``."""


class CheckLogRow(Base):
    """One check: who asked, why, about whom, for which action, and the answer."""

    __tablename__ = "check_log"
    # Rows are appended at ticket-counter rates, one small transaction per group of requests:
    # an index on a random key would cost every commit a page per row, so the subject's rows
    # are found through ``check_log_subjects``, written in key order when groups are sealed.
    __table_args__ = (Index(None, "group_id"),)

    # 64 bits on PostgreSQL: a busy service answers 2^31 checks in weeks, not years.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    """The ``check_log_groups`` row of the transaction that wrote it."""
    decision_id: Mapped[str] = mapped_column(String(32))
    """Unique by construction (``xinyong.tracing.UniqueIds``); an index on it would cost every
    insert a random page."""
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    relying_party: Mapped[str] = mapped_column(String(32))
    """The API key id (or ``cli``) of the asker."""
    relying_party_label: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(18))
    """The identifier asked about, as normalised; known or not."""
    subject_key: Mapped[int] = mapped_column(BigInteger)
    """``subject_key(subject)``: what the subject's log is looked up by."""
    action: Mapped[str] = mapped_column(String(80))
    as_of: Mapped[date] = mapped_column(Date)
    effect: Mapped[str] = mapped_column(String(10))
    policy_version: Mapped[str] = mapped_column(String(120))
    request_id: Mapped[str | None] = mapped_column(String(64))
    """The HTTP request that asked (``X-Request-ID``); not sealed on the ledger."""


class CheckLogSubject(Base):
    """Which groups hold checks about a subject key: the subject's way into the check log."""

    __tablename__ = "check_log_subjects"
    # One B-tree on SQLite: the key is the row.
    __table_args__ = ({"sqlite_with_rowid": False},)

    subject_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


def checks_about(identifier: str) -> Select[CheckLogRow]:
    """The check-log rows about ``identifier`` (those of sealed groups)."""
    return (
        select(CheckLogRow)
        .join(CheckLogSubject, CheckLogSubject.group_id == CheckLogRow.group_id)
        .where(
            CheckLogSubject.subject_key == subject_key(identifier),
            CheckLogRow.subject == identifier,
        )
    )


class CheckLogGroup(Base):
    """One transaction of check-log rows; ``sealed`` once a ledger leaf commits to its rows.

    The group's id is the leaf's reference: ``xinyong ledger verify`` rebuilds the leaf from the
    rows of the group as they are now, so an edited or deleted row shows.
    """

    __tablename__ = "check_log_groups"
    # Only the few groups not yet sealed are in this index (its condition is spelt as the
    # sealing query spells it on each backend, so the planners use it).
    __table_args__ = (
        Index(
            "ix_check_log_groups_unsealed",
            "id",
            sqlite_where=text("sealed = 0"),
            postgresql_where=text("NOT sealed"),
        ),
        # A process that starts asks, of each journal a killed process left, which of its
        # entries the store holds; one row a group, so the index costs a commit little.
        Index("ix_check_log_groups_journal", "journal", "journal_seq"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sealed: Mapped[bool] = mapped_column(Boolean)
    journal: Mapped[str | None] = mapped_column(String(32))
    """The journal of the serving process whose answered requests the group holds (None: a
    command's rows, written before they were shown)."""
    journal_seq: Mapped[int | None] = mapped_column(BigInteger)
    """The last entry of that journal the group holds."""


class MirrorBatch(Base):
    """A signed batch of checks a relying party's mirror answered and reported.

    Its checks are one ``check_log_groups`` group (``group_id``), sealed on the ledger like
    every group; this row says that the group came from a mirror, whose (``key_id``), from
    where (``site``), and keeps the batch's digest and the mirror's signature over it. A batch
    id is taken once per key, so a batch sent again is recognised, not logged twice.
    """

    __tablename__ = "mirror_batches"
    __table_args__ = (UniqueConstraint("key_id", "batch_id"), Index(None, "group_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[str] = mapped_column(String(80))
    site: Mapped[str] = mapped_column(String(200))
    """Where the mirror runs, as it names itself (an airport, a station, a host)."""
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the batch's bytes, as signed."""
    signature: Mapped[str] = mapped_column(String(1000))
    """The mirror's signed note over the digest."""
    checks: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


def checks_and_sites(identifier: str) -> Select[CheckLogRow, str | None]:
    """``checks_about`` with, for each check a mirror answered, the site its mirror reported
    from (None for the platform's own checks)."""
    return (
        checks_about(identifier)
        .add_columns(MirrorBatch.site)
        .outerjoin(MirrorBatch, MirrorBatch.group_id == CheckLogRow.group_id)
    )
