"""Tables of notices: the outbox of what each subject must be told, and where to tell them.

A notice is written in the same transaction as the change it reports, so it exists exactly when
that change committed; delivery happens later and may be retried, never dropped.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class NoticeRow(Base):
    """One notice to one subject, and how its delivery went so far.

    ``status`` is ``pending`` until the transport accepted it (``sent``), or ``no_address``
    while the subject has no contact: kept, shown in the subject's file, and sent once a
    contact is set. ``claimed_by`` and ``claimed_until`` are a sender's lease on the row.
    """

    __tablename__ = "notices"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "subject_id"),
        Index(None, "reference"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # What the notice is about (``entry:12``, ``record:34``): also how a job that may run twice
    # (expiry) knows it already told the subject.
    reference: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))  # pending | sent | no_address
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_to: Mapped[str | None] = mapped_column(String(254))


class SubjectContact(Base):
    """Where a subject's notices go (a person's or an organisation's e-mail address)."""

    __tablename__ = "subject_contacts"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
