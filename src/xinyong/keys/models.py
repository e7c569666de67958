"""Tables of API keys: the keys themselves, and the change counter every process that keeps
keys in memory polls."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class ApiKey(Base):
    """An API key: the public ``key_id`` finds it, only a hash of the secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    authority: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actions: Mapped[list[str] | None] = mapped_column(JSON)
    """A relying party's scope: the actions it implements (None: not scoped)."""
    mirror_key: Mapped[str | None] = mapped_column(String(200))
    """The verifier key of the relying party's mirror, set by its first signed report."""


class KeyState(Base):
    """One row whose ``seq`` every key creation and revocation bumps."""

    __tablename__ = "api_key_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
