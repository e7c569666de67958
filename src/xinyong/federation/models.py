"""The network's tables: each link's state, the batches sent and received, and alarms.

A link is this node's side of the connection to one neighbour. Sending, it remembers the last
batch the neighbour acknowledged (number, digest and the ledger position it covered) and keeps
the batch in flight, and the one built to follow it, until each is acknowledged; receiving, the last batch it applied. A batch
is applied in the same transaction as the link's state moves on, so a batch is applied once.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class LinkState(Base):
    """Where the exchange with one neighbour stands, both ways."""

    __tablename__ = "federation_links"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent_number: Mapped[int] = mapped_column(BigInteger, default=0)
    sent_digest: Mapped[str] = mapped_column(String(64), default="")
    # The last ledger position (a record event's leaf) the acknowledged batches cover.
    sent_through: Mapped[int] = mapped_column(BigInteger, default=-1)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_number: Mapped[int] = mapped_column(BigInteger, default=0)
    received_digest: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class SentBatch(Base):
    """A batch this node signed for a neighbour; its body is kept until it is acknowledged."""

    __tablename__ = "federation_sent"

    link: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    through: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReceivedBatch(Base):
    """A batch a neighbour sent and this node applied: its signed note (which commits to its
    items by digest) and what became of the items."""

    __tablename__ = "federation_received"

    link: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    items: Mapped[int] = mapped_column(Integer)
    stored: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    marked: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alarm(Base):
    """Something a neighbour did that only a fault or an attack explains (a batch whose
    signature fails, two different batches under one number): kept, logged and shown."""

    __tablename__ = "federation_alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
