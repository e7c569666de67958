"""The access log table (one row per staff read of a subject's non-public data) and the log of
auditors' own searches. Never updated."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class AccessLogRow(Base):
    """Who read which subject's data, in which role, for what stated purpose, and when."""

    __tablename__ = "access_log"
    __table_args__ = (Index(None, "subject_id", "accessed_at"), Index(None, "accessed_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The row's name in the ledger, known before the insert so the row is written once.
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    accessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # Copied from the account so the row says who read even if the account changes later.
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(12))
    authority_code: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    purpose: Mapped[str] = mapped_column(String(500))
    what: Mapped[str] = mapped_column(String(200))
    # The row's leaf in the ledger: deleting or editing the row breaks `xinyong ledger verify`.
    ledger_leaf: Mapped[int | None] = mapped_column(BigInteger)
    # The HTTP request of the read (``X-Request-ID``): where it came from, not sealed.
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuditSearch(Base):
    """One search or export by an auditor: who looked at the logs, for what, and how much they
    saw. Never updated; each row is also a leaf of the ledger (kind ``audit.search``)."""

    __tablename__ = "audit_searches"
    __table_args__ = (Index(None, "searched_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    searched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))  # search | export
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What was asked: kind, subject, staff member, relying party, period, page or format."""
    results: Mapped[int] = mapped_column(Integer)
    ledger_leaf: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(64))
