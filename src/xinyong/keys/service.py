"""API keys for authorities and relying parties: shown once, stored as a hash, looked up by id.

A key is ``xy_<key_id>_<secret>``. The secret has 256 bits of entropy, so a single SHA-256 is
enough to store it (a slow password hash protects low-entropy secrets, which these are not).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.clock import utc_now
from xinyong.store.models import ApiKey

ROLES = ("authority", "relying_party", "operator")
PREFIX = "xy_"


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, as the presented key says."""

    key_id: str
    role: str
    authority: str | None
    label: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, role: str, authority: str | None, label: str) -> str:
    """Create a key and return the full token; only its hash is kept."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "authority" and not authority:
        raise ValueError("an authority key needs --authority")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            key_id=key_id,
            secret_hash=_hash(secret),
            role=role,
            authority=authority,
            label=label,
            created_at=utc_now(),
        )
    )
    return f"{PREFIX}{key_id}_{secret}"


def authenticate(session: Session, token: str) -> Caller | None:
    if not token.startswith(PREFIX):
        return None
    key_id, _, secret = token[len(PREFIX) :].partition("_")
    if not key_id or not secret:
        return None
    key = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return Caller(key.key_id, key.role, key.authority, key.label)


def revoke_key(session: Session, key_id: str) -> bool:
    key = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utc_now()
    return True


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
