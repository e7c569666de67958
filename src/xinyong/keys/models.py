"""The change counter of API keys: every process that keeps keys in memory polls it."""

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.store.base import Base


class KeyState(Base):
    """One row whose ``seq`` every key creation and revocation bumps."""

    __tablename__ = "api_key_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
