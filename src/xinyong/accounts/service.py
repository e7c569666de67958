"""Accounts, sign-in and sessions.

Passwords are hashed with argon2. A session token is ``xs_<secret>``, shown once at sign-in;
the store keeps its SHA-256, its expiry and when it was ended by signing out.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Account, AccountSession
from xinyong.clock import utc_now
from xinyong.identifiers import normalise
from xinyong.store.models import Subject

SUBJECT = "subject"
AUTHORITY = "authority"
STAFF_ROLES = ("operator", "reviewer", "auditor", AUTHORITY)
ROLES = (SUBJECT, *STAFF_ROLES)
TOKEN_PREFIX = "xs_"
DEFAULT_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


@cache
def _decoy_hash() -> str:
    """Verified against when the username is unknown, so both failures take the same time.

    Made on first use: hashing is slow on purpose, and most processes never sign anyone in."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account that cannot be created as asked."""


class LoginRefused(PermissionError):
    """Wrong username or password; deliberately silent about which."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class SessionInvalid(PermissionError):
    """A token that names no live session: unknown, expired or signed out."""


@dataclass(frozen=True)
class SignedIn:
    """A live session and the account it belongs to."""

    account: Account
    subject_identifier: str | None
    expires_at: datetime


def _now() -> datetime:
    return utc_now()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    subject_identifier: str | None = None,
    authority_code: str | None = None,
    display_name: str | None = None,
) -> int:
    """Create an account and return its id. A subject account names an existing subject; an
    authority account names its authority."""
    username = username.strip()
    if not username:
        raise AccountError("a username is required")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if (role == SUBJECT) != (subject_identifier is not None):
        raise AccountError("a subject account, and only a subject account, names a subject")
    if (role == AUTHORITY) != (authority_code is not None):
        raise AccountError(
            "an authority account, and only an authority account, names an authority"
        )
    subject_id = None
    if subject_identifier is not None:
        identifier = normalise(subject_identifier)
        subject_id = session.scalar(select(Subject.id).where(Subject.identifier == identifier))
        if subject_id is None:
            raise AccountError(f"no subject with identifier {identifier}")
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise AccountError(f"the username {username!r} is taken")
    account = Account(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        display_name=display_name or username,
        subject_id=subject_id,
        authority_code=authority_code,
        created_at=_now(),
    )
    session.add(account)
    session.flush()
    return account.id


def login(
    session: Session,
    username: str,
    password: str,
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Start a session and return its token; raises LoginRefused on any wrong credential."""
    account = session.scalars(select(Account).where(Account.username == username.strip())).first()
    try:
        _hasher.verify(account.password_hash if account else _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise LoginRefused() from None
    if account is None:
        raise LoginRefused()
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    started = now or _now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AccountSession(
            token_hash=_token_hash(token),
            account_id=account.id,
            created_at=started,
            expires_at=started + lifetime,
        )
    )
    session.flush()
    return token


def _live(session: Session, token: str) -> AccountSession | None:
    return session.scalars(
        select(AccountSession).where(AccountSession.token_hash == _token_hash(token))
    ).first()


def signed_in(session: Session, token: str, *, now: datetime | None = None) -> SignedIn:
    """The account behind a live session token; raises SessionInvalid with the reason."""
    row = _live(session, token) if token.startswith(TOKEN_PREFIX) else None
    if row is None:
        raise SessionInvalid("not signed in: unknown session")
    if row.ended_at is not None:
        raise SessionInvalid("not signed in: this session was signed out")
    expires_at = row.expires_at
    if expires_at <= (now or _now()):
        raise SessionInvalid("not signed in: this session has expired; sign in again")
    account = session.get_one(Account, row.account_id)
    identifier = (
        None
        if account.subject_id is None
        else session.scalar(select(Subject.identifier).where(Subject.id == account.subject_id))
    )
    return SignedIn(account, identifier, expires_at)


def session_expiry(session: Session, token: str) -> datetime:
    """When the session of ``token`` expires (for a fresh token, as returned by ``login``)."""
    row = _live(session, token)
    if row is None:
        raise SessionInvalid("not signed in: unknown session")
    return row.expires_at


def logout(session: Session, token: str) -> None:
    """End the session of ``token`` at once; raises SessionInvalid if it is not live."""
    row = _live(session, token) if token.startswith(TOKEN_PREFIX) else None
    if row is None or row.ended_at is not None:
        raise SessionInvalid("not signed in")
    row.ended_at = _now()


def list_accounts(session: Session) -> list[tuple[Account, str | None]]:
    """Every account with its subject's identifier (None for staff), oldest first."""
    return [
        (account, identifier)
        for account, identifier in session.execute(
            select(Account, Subject.identifier)
            .outerjoin(Subject, Subject.id == Account.subject_id)
            .order_by(Account.id)
        )
    ]
