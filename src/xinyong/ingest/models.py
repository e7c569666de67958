"""Tables of ingest: each submission job with its counts, and the quarantine of refused rows."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class Submission(Base):
    """One ingest job (a file or an API call), its progress and its counts."""

    __tablename__ = "submissions"
    __table_args__ = (Index(None, "source_digest", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))  # file | api
    source: Mapped[str] = mapped_column(String(500))
    source_digest: Mapped[str] = mapped_column(String(64))
    authority: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10))  # running | complete
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    corrected: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class QuarantinedRow(Base):
    """A row that was refused, kept with its position, field and a reason a clerk can act on."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source_digest", "row_no"), Index(None, "submission_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    source: Mapped[str] = mapped_column(String(500))
    source_digest: Mapped[str] = mapped_column(String(64))
    row_no: Mapped[int] = mapped_column(Integer)
    authority: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
