"""Sign-in through an external OpenID Connect identity provider, beside the platform's own
accounts: government portals federate real-name identity, and a person signed in there is a
subject here by the identity number the provider vouches for.

Authorization code flow with PKCE (S256): ``begin`` stores a pending sign-in (the SHA-256 of its
``state``, its nonce and PKCE verifier) and answers the provider's authorize URL; ``finish``
takes the pending sign-in back exactly once and within ``PENDING_LIFETIME``, exchanges the
code at the token endpoint (with the verifier and the client's secret), and verifies the ID
token: its signature against the provider's published keys (JWKS), the issuer, the audience,
the expiry and the nonce. The identity number in ``oidc_identity_claim`` then names the subject;
its subject account is signed in, and made on first use when the platform holds the subject's
file. Discovery and keys are read from the provider each time: a provider's key rotation is seen
at once, and sign-ins are rare next to checks.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Account, FederatedSignIn
from xinyong.accounts.service import SUBJECT, new_password_hash
from xinyong.config import Settings
from xinyong.identifiers import normalise
from xinyong.records.models import Subject

PENDING_LIFETIME = timedelta(minutes=10)
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]
MAX_ANSWER = 2**20
CLOCK_SKEW = 60
"""Seconds an ID token's times may be off the platform's clock."""


class FederationRefused(PermissionError):
    """The sign-in could not be completed: the message says why, for the person."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _fetch(url: str, settings: Settings, data: bytes | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/json"})
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        secret = f"{settings.oidc_client_id}:{settings.oidc_client_secret}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(secret).decode())
    try:
        with urllib.request.urlopen(request, timeout=settings.oidc_timeout) as answer:
            return orjson.loads(answer.read(MAX_ANSWER))
    except (OSError, ValueError) as error:
        raise FederationRefused(
            f"the identity provider did not answer as expected: {error}"
        ) from None


def discover(settings: Settings) -> Provider:
    """The provider's endpoints from its discovery document, which must name the issuer set."""
    issuer = settings.oidc_issuer.rstrip("/")
    if not issuer:
        raise FederationRefused("sign-in through an identity provider is not configured")
    document = _fetch(f"{issuer}/.well-known/openid-configuration", settings)
    try:
        provider = Provider(
            issuer=str(document["issuer"]),
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
        )
    except (KeyError, TypeError):
        raise FederationRefused(
            "the identity provider's discovery document is incomplete"
        ) from None
    if provider.issuer.rstrip("/") != issuer:
        raise FederationRefused("the identity provider's discovery document names another issuer")
    return provider


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def begin(session: Session, settings: Settings, redirect_uri: str, next: str, now: datetime) -> str:
    """Store a pending sign-in and answer where to send the browser."""
    provider = discover(settings)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    session.execute(delete(FederatedSignIn).where(FederatedSignIn.expires_at < now))
    session.add(
        FederatedSignIn(
            state_hash=_hash(state),
            nonce=nonce,
            verifier=verifier,
            next=next[:500],
            expires_at=now + PENDING_LIFETIME,
        )
    )
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{separator}{query}"


def finish(
    session: Session,
    settings: Settings,
    state: str,
    code: str,
    redirect_uri: str,
    now: datetime,
) -> tuple[Account, str]:
    """The account the provider's answer signs in, and where to go next."""
    pending = session.scalars(
        select(FederatedSignIn).where(FederatedSignIn.state_hash == _hash(state)).with_for_update()
    ).first()
    if pending is None or pending.expires_at <= now:
        raise FederationRefused("this sign-in is unknown, already used or too old: start again")
    session.delete(pending)
    session.flush()
    provider = discover(settings)
    answer = _fetch(
        provider.token_endpoint,
        settings,
        urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier,
                "client_id": settings.oidc_client_id,
            }
        ).encode(),
    )
    raw = answer.get("id_token") if isinstance(answer, dict) else None
    if not isinstance(raw, str):
        raise FederationRefused("the identity provider sent no ID token")
    claims = _verified(raw, provider, settings, pending.nonce, now)
    identity = claims.get(settings.oidc_identity_claim)
    if not isinstance(identity, str) or not identity.strip():
        raise FederationRefused(
            f"the identity provider did not vouch for an identity number "
            f"(claim {settings.oidc_identity_claim!r})"
        )
    return _account_of(
        session, normalise(identity), str(claims.get("name") or ""), now
    ), pending.next


def _verified(
    raw: str, provider: Provider, settings: Settings, nonce: str, now: datetime
) -> dict[str, Any]:
    keys = KeySet.import_key_set(_fetch(provider.jwks_uri, settings))
    try:
        token = jwt.decode(raw, keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=CLOCK_SKEW,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": settings.oidc_client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as error:
        raise FederationRefused(f"the ID token does not verify: {error}") from None
    return dict(token.claims)


def _account_of(session: Session, identifier: str, name: str, now: datetime) -> Account:
    subject = session.scalars(select(Subject).where(Subject.identifier == identifier)).first()
    if subject is None:
        raise FederationRefused(
            "the platform holds no credit file on you, so there is nothing to sign in to"
        )
    account = session.scalars(
        select(Account).where(Account.subject_id == subject.id, Account.role == SUBJECT)
    ).first()
    if account is None:
        # No password works for it: the provider is how this person signs in.
        account = Account(
            username=f"id-{subject.id}",
            password_hash=new_password_hash(secrets.token_urlsafe(32)),
            role=SUBJECT,
            display_name=name or subject.name,
            subject_id=subject.id,
            authority_code=None,
            created_at=now,
        )
        session.add(account)
        session.flush()
    return account
