"""Tables of scoring: evaluation versions, the scores of each, and their contributions.

An evaluation is written beside the one being served and published by one update of its
status to ``complete``: readers take the newest complete evaluation, so a run that crashes
half-way (left ``running``) never replaces the scores people see.
"""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class Evaluation(Base):
    """One evaluation run: which engine, for which day, under which policy, and its state."""

    __tablename__ = "evaluations"
    __table_args__ = (Index(None, "status", "completed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    engine: Mapped[str] = mapped_column(String(20))  # reference | duckdb | spark
    as_of: Mapped[date] = mapped_column(Date)
    policy_digest: Mapped[str] = mapped_column(String(64))
    """sha256 over the ``policy_version`` of every pack evaluated, in name order."""
    policies: Mapped[str] = mapped_column(String(1000))
    """The ``policy_version`` of every pack evaluated, comma-separated."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # running | complete | failed


class ScoreRow(Base):
    """A subject's score under one scheme version in one evaluation."""

    __tablename__ = "scores"
    __table_args__ = (Index(None, "evaluation_id", "scheme", "grade"),)

    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(80), primary_key=True)
    scheme_version: Mapped[str] = mapped_column(String(120))
    """``policy_version`` of the pack the scheme was read from."""
    value: Mapped[int | None] = mapped_column(Integer)
    """``None`` for tiers, which give a grade only."""
    grade: Mapped[str] = mapped_column(String(20))


class ContributionRow(Base):
    """One reason behind a stored score: record (or none, for a model feature), rule, points,
    window (``window_start <= day < window_end``)."""

    __tablename__ = "score_contributions"
    __table_args__ = (Index(None, "evaluation_id", "subject_id", "scheme"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"))
    subject_id: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(80))
    record_id: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(120))
    points: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
