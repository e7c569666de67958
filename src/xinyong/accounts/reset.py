"""Password reset by e-mail, for accounts that have an address.

Asking for a reset is answered the same whether or not the account exists or has an address,
so that the form tells a stranger nothing; asks are throttled per account name and address like
sign-ins (their own counts). A reset token is ``xr_<secret>`` (256 bits), sent once in a link;
the store keeps its SHA-256. It works once, for ``LIFETIME``; using it sets the new password,
ends every session of the account, and spends every other reset token of the account.

The link leaves through the notice transport (SMTP, or the file in the demo): accounts announce
``reset_requested`` and the assembly connects the sender, as for every cross-feature effect.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.accounts import throttle
from xinyong.accounts.models import Account, AccountSession, PasswordReset
from xinyong.accounts.service import new_password_hash
from xinyong.config import Settings
from xinyong.signals import Signal

LIFETIME = timedelta(minutes=30)
TOKEN_PREFIX = "xr_"


@dataclass(frozen=True)
class ResetLink:
    """A reset link on its way to an account's address."""

    reset_id: int
    to: str
    username: str
    link: str
    expires_at: datetime
    settings: Settings
    """The sender's transport and addresses."""


reset_requested: Signal[ResetLink] = Signal("reset_requested")


class ResetRefused(PermissionError):
    """The token is unknown, used or expired."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_keys(username: str, address: str) -> tuple[str, str]:
    """The throttle's keys for reset asks: the sign-in keys' scopes, counted apart from them."""
    account, place = throttle.throttle_keys(username, address)
    return account.replace(":", ":reset/", 1), place.replace(":", ":reset/", 1)


def request_reset(
    session: Session, username: str, address: str, page: str, settings: Settings, now: datetime
) -> None:
    """Send a reset link (``page?token=...``) to the account's address, if it has one;
    raises ``SignInThrottled`` when this name or address asked too often."""
    throttle.begin_attempt(session, reset_keys(username, address), now)
    account = session.scalars(select(Account).where(Account.username == username.strip())).first()
    if account is None or not account.email:
        return
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    reset = PasswordReset(
        token_hash=_hash(token),
        account_id=account.id,
        created_at=now,
        expires_at=now + LIFETIME,
        used_at=None,
    )
    session.add(reset)
    session.flush()
    reset_requested.send(
        ResetLink(
            reset.id,
            account.email,
            account.username,
            f"{page}?token={token}",
            reset.expires_at,
            settings,
        )
    )


def reset_password(session: Session, token: str, password: str, now: datetime) -> str:
    """Set the password of the token's account, once; the account's username."""
    reset = session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == _hash(token)).with_for_update()
    ).first()
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise ResetRefused("this reset link is unknown, already used or expired: ask for a new one")
    account = session.get(Account, reset.account_id)
    if account is None:
        raise ResetRefused("this reset link is unknown, already used or expired: ask for a new one")
    account.password_hash = new_password_hash(password)
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    session.execute(
        update(AccountSession)
        .where(AccountSession.account_id == account.id, AccountSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return account.username
