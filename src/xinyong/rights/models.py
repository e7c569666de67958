"""Tables of the subject's cases: objections and repair applications, and their evidence.

An objection and a repair application share one table (``rights_cases``, told apart by
``kind``): they share the review queue, its deadlines and its decision, so one id names a case
in ``/v1/reviews/{id}`` whatever its kind. Accounts live in another feature's tables; a case
keeps the account id as a plain number.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class RightsCase(Base):
    """One objection or repair application, from receipt to decision."""

    __tablename__ = "rights_cases"
    __table_args__ = (
        Index(None, "status", "due_on"),
        Index(None, "subject_id"),
        Index(None, "authority", "status"),
        Index(None, "document_key"),
        Index(None, "application_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # objection | repair
    application_id: Mapped[int | None] = mapped_column(Integer)
    """Objections sent together about records of one case (same case number): the id of the
    application's first case, on every case of it. ``None``: a case sent on its own."""
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    account_id: Mapped[int] = mapped_column(Integer)
    document_key: Mapped[str] = mapped_column(String(300))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    """The record version the case is about (the current one when it was received)."""
    authority: Mapped[str] = mapped_column(String(64))
    """The providing authority of the record: its staff see and decide the case."""
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    """Objections against an entry: the entry named (its grounding record is disputed)."""
    grounds: Mapped[str] = mapped_column(Text)
    """Objections: why the record is wrong. Repairs: how the conduct was corrected."""
    obligations_declared: Mapped[bool | None] = mapped_column(Boolean)
    """Repairs: the applicant declares the obligations performed (where no record shows it)."""
    obligation_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    """Repairs: the record showing the obligation performed, where the list's rule names one."""
    commitment: Mapped[str | None] = mapped_column(Text)
    """Repairs: the text of the credit commitment the applicant signed."""
    status: Mapped[str] = mapped_column(String(10))  # open | upheld | rejected | granted | refused
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_on: Mapped[date] = mapped_column(Date)
    """The calendar day in China the case was received: deadlines count from it."""
    mark_due_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    """The deciding authority decides by this day."""
    limit_on: Mapped[date] = mapped_column(Date)
    """The whole case ends by this day at the latest."""
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    withdraw: Mapped[bool] = mapped_column(Boolean, default=False)
    result_record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    """Upheld with a correction: the new record version."""


class EvidenceFile(Base):
    """A file the subject sent with an objection, stored by content under the var folder."""

    __tablename__ = "rights_evidence"
    __table_args__ = (Index(None, "case_id", "position", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("rights_cases.id"))
    position: Mapped[int] = mapped_column(Integer)
    """1-based, in the order the files were sent; ``/evidence/{n}`` names it."""
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
