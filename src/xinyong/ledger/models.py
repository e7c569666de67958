"""The ledger's tables: the logged events, the tree's hashes in tiles, the head and checkpoints.

Events and hashes live apart on purpose: ``ledger_leaves`` says what happened, ``ledger_tiles``
holds the hashes the signed roots were built from, so an edit to one shows against the other.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base

# On SQLite an INTEGER primary key is the rowid itself: no second index to maintain per row.
Position = BigInteger().with_variant(Integer, "sqlite")


class LedgerLeaf(Base):
    """One logged event, by position. The payload is kept only when no source can rebuild it.

    ``salt`` is the event's secret: whoever holds it with the payload can open the leaf's
    commitment (``xinyong.ledger.commitment``). It is never published, and it is forgotten
    (with a kept payload) when the event is erased at the end of its retention.
    """

    __tablename__ = "ledger_leaves"

    leaf_index: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(80))
    ref: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    salt: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class LedgerTile(Base):
    """A tile of tree hashes (``xinyong.ledger.tiles``): up to 256 hashes of one tree level,
    concatenated. Full tiles are written once; the rightmost tile of each level grows in place.
    """

    __tablename__ = "ledger_tiles"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tile_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerHead(Base):
    """The tree size, in one row that appenders lock so that leaf positions never collide."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)


class LedgerCheckpoint(Base):
    """A signed tree head. ``note`` is authoritative; the other columns index it."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerCosignature(Base):
    """A witness's cosignature on one of our checkpoints: the signature line it returned
    (C2SP tlog-cosignature), served after the checkpoint's own signature."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("tree_size", "root_hash", "witness"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    witness: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(Text)  # the witness's cosigner key, served with the line
    line: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerWitnessed(Base):
    """As a witness: the latest checkpoint of another log that we cosigned, per origin. A new
    checkpoint is cosigned only if it is consistent with this one."""

    __tablename__ = "ledger_witnessed"

    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    cosigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LedgerWitnessAlarm(Base):
    """As a witness: a log showed us a signed checkpoint that contradicts one we had cosigned
    (a fork). Both signed notes are kept as the evidence."""

    __tablename__ = "ledger_witness_alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    cosigned_note: Mapped[str] = mapped_column(Text)
    shown_note: Mapped[str] = mapped_column(Text)
    proof: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
