"""Tables of people who sign in: accounts and their sessions.

Only hashes are kept: the password's argon2 hash, and a SHA-256 of each session token (a
token has 256 bits of entropy, so a slow hash would protect nothing more).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.clock import UTCDateTime
from xinyong.store.base import Base


class Account(Base):
    """A person who signs in, with one role; a subject account is linked to one subject."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(
        String(12)
    )  # subject | operator | reviewer | auditor | authority
    display_name: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    authority_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email: Mapped[str | None] = mapped_column(String(254))
    """Where a password reset link goes; without one, a password is reset by an operator."""


class AccountSession(Base):
    """A signed-in session: ends at ``expires_at`` or when the person signs out."""

    __tablename__ = "account_sessions"
    __table_args__ = (Index(None, "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A password reset link: single use, until ``expires_at``; only its hash is kept."""

    __tablename__ = "password_resets"
    __table_args__ = (Index(None, "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FederatedSignIn(Base):
    """A sign-in sent to the identity provider and not yet back: single use, short-lived.

    Only the SHA-256 of ``state`` is kept; the nonce and the PKCE verifier are checked against
    what comes back, and the row is deleted when it does."""

    __tablename__ = "federated_sign_ins"
    __table_args__ = (Index(None, "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(String(128))
    next: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInThrottle(Base):
    """Recent failed sign-ins of one account name or one network address, and the back-off.

    ``key`` is ``account:<username>`` or ``address:<address or IPv6 /64>``; ``failures`` counts
    attempts since the last success (an attempt counts from when it starts, so that concurrent
    guesses cannot all slip through before the first one fails); no attempt is examined before
    ``blocked_until``. A row idle for ``FORGET_AFTER`` is forgotten.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (Index(None, "last_at"),)

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
