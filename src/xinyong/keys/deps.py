"""Admitting a caller by API key: the dependencies of the routes that authorities and relying
parties call (``Authorization: Bearer <key>``)."""

from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, Header, HTTPException
from sqlalchemy.orm import Session

from xinyong.keys.service import Caller, authenticate
from xinyong.web.deps import get_session


def bearer_token(authorization: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header, or a 401 that says how to send it."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            401,
            "send an API key as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token


def admit(session: Session, token: str, roles: Sequence[str]) -> Caller:
    """The caller a key names, if the key is valid and of one of ``roles``; else a 401 or 403."""
    return admitted(authenticate(session, token), roles)


def admitted(caller: Caller | None, roles: Sequence[str]) -> Caller:
    """``caller`` if it is a key of one of ``roles``; a 401 for no valid key, else a 403."""
    if caller is None:
        raise HTTPException(
            401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    if caller.role not in roles:
        raise HTTPException(403, f"this route is for {' or '.join(roles)} keys, not {caller.role}")
    return caller


def require_role(*roles: str) -> Callable[..., Caller]:
    """A dependency that admits only a valid ``Authorization: Bearer`` key of one of ``roles``."""

    def dependency(
        session: Annotated[Session, Depends(get_session)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Caller:
        return admit(session, bearer_token(authorization), roles)

    return dependency
