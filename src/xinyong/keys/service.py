"""API keys for authorities and relying parties: shown once, stored as a hash, looked up by id.

A key is ``xy_<key_id>_<secret>``. A relying party's key may carry a *scope*: the actions the
relying party implements (an airline: ``buy_air_ticket``). A scoped key is answered only for
those actions, and its mirror's feed holds only the subjects whose decision for them is not a
plain allow. The secret has 256 bits of entropy, so a single SHA-256 is
enough to store it (a slow password hash protects low-entropy secrets, which these are not).
Every creation and revocation bumps a counter (``api_key_state``), so processes that keep the
keys in memory (``KeyRing``) learn of it on their next poll.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.keys.models import ApiKey, KeyState

ROLES = ("authority", "relying_party", "operator")
PREFIX = "xy_"


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, as the presented key says."""

    key_id: str
    role: str
    authority: str | None
    label: str
    actions: frozenset[str] | None = None
    """The key's scope (a relying party's actions), or None when it has none."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _parts(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a token shaped like a key, else None."""
    if not token.startswith(PREFIX):
        return None
    key_id, _, secret = token[len(PREFIX) :].partition("_")
    if not key_id or not secret:
        return None
    return key_id, secret


def _bump(session: Session) -> None:
    # One statement on both backends: concurrent bumps neither race nor lose an increment.
    session.execute(
        text(
            "INSERT INTO api_key_state (id, seq) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET seq = api_key_state.seq + 1"
        )
    )


def create_key(
    session: Session,
    *,
    role: str,
    authority: str | None,
    label: str,
    actions: Iterable[str] | None = None,
) -> str:
    """Create a key and return the full token; only its hash is kept.

    ``actions`` (a relying party's scope) must be action codes of the pack in force; the
    caller checks them against it.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "authority" and not authority:
        raise ValueError("an authority key needs --authority")
    scope = None if actions is None else sorted(set(actions))
    if scope is not None and (role != "relying_party" or not scope):
        raise ValueError("only a relying party's key has a scope, of at least one action")
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
            actions=scope,
        )
    )
    _bump(session)
    return f"{PREFIX}{key_id}_{secret}"


def authenticate(session: Session, token: str) -> Caller | None:
    parts = _parts(token)
    if parts is None:
        return None
    key_id, secret = parts
    key = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return caller_of(key)


def caller_of(key: ApiKey) -> Caller:
    scope = None if key.actions is None else frozenset(key.actions)
    return Caller(key.key_id, key.role, key.authority, key.label, scope)


def revoke_key(session: Session, key_id: str) -> bool:
    key = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utc_now()
    _bump(session)
    return True


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


class KeyRing:
    """Every live key in memory, reloaded when the key counter moves.

    A process answering checks admits callers from here: an unknown or malformed key costs no
    query, and a revocation reaches every process within ``poll_seconds`` of its commit (the
    counter is read at most that often, on the first look-up after the interval).
    """

    def __init__(self, factory: sessionmaker[Session], poll_seconds: float) -> None:
        self.factory = factory
        self.poll_seconds = poll_seconds
        self._seq: int | None = None
        self._keys: dict[str, tuple[str, Caller]] = {}
        # Tokens already matched against their hash since the last reload: most callers send
        # the same key all day.
        self._admitted: dict[str, Caller] = {}
        self._next_poll = 0.0
        self._lock = threading.Lock()

    def caller(self, token: str) -> Caller | None:
        """The caller a live key names, or None."""
        if time.monotonic() >= self._next_poll:
            self._poll()
        known = self._admitted.get(token)
        if known is not None:
            return known
        parts = _parts(token)
        if parts is None:
            return None
        key_id, secret = parts
        found = self._keys.get(key_id)
        if found is None or not hmac.compare_digest(found[0], _hash(secret)):
            return None
        self._admitted[token] = found[1]
        return found[1]

    def _poll(self) -> None:
        # Whoever finds the poll due reads the counter; the others keep the keys they have.
        if not self._lock.acquire(blocking=self._seq is None):
            return
        try:
            with self.factory() as session:
                seq = session.scalar(select(KeyState.seq)) or 0
                if seq != self._seq:
                    self._keys = {
                        key.key_id: (key.secret_hash, caller_of(key))
                        for key in session.scalars(
                            select(ApiKey).where(ApiKey.revoked_at.is_(None))
                        )
                    }
                    self._admitted = {}
                    self._seq = seq
            self._next_poll = time.monotonic() + self.poll_seconds
        finally:
            self._lock.release()
