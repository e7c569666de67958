"""Who is signed in: the ``Person`` behind a request, and the dependency that admits by role."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Self

from fastapi import Cookie, Depends, Header, HTTPException, Request, Response
from sqlalchemy.orm import Session

from xinyong.accounts import throttle
from xinyong.accounts.service import SessionInvalid, SignedIn, signed_in
from xinyong.clock import utc_now
from xinyong.keys.service import PREFIX as API_KEY_PREFIX
from xinyong.web.credentials import SESSION_COOKIE
from xinyong.web.deps import get_session

COOKIE = SESSION_COOKIE


@dataclass(frozen=True)
class Person:
    """A signed-in person: the account, its role, and what the role is linked to."""

    account_id: int
    username: str
    role: str
    subject_id: int | None
    subject_identifier: str | None
    authority_code: str | None

    @classmethod
    def of(cls, live: SignedIn) -> Self:
        """The person a live session belongs to."""
        account = live.account
        return cls(
            account.id,
            account.username,
            account.role,
            account.subject_id,
            live.subject_identifier,
            account.authority_code,
        )


def client_address(request: Request) -> str:
    """The address a request came from, as sign-in throttling counts it.

    The peer of the connection: behind a reverse proxy, run uvicorn with ``--proxy-headers``
    and ``--forwarded-allow-ips`` so that this is the client's address, not the proxy's.
    """
    return request.client.host if request.client is not None else "unknown"


def count_render(request: Request) -> None:
    """Count one costly render against the client's address, or raise ``SignInThrottled``.

    What a visitor gets for nothing and the platform pays for in processor time: a public
    credit report, a list's download, and an uploaded report printed again to verify it (about
    as much as printing it the first time). One budget for all of them per address, so that
    what one address can take in a burst has one bound (``throttle.FREE_FAILURES["render"]``).
    Blocking (a write to the store): an ``async`` route runs it in a worker thread.
    """
    key = throttle.render_key(client_address(request))
    with request.app.state.sessionmaker.begin() as session:
        throttle.begin_attempt(session, [key], utc_now())


def admit_render(request: Request) -> None:
    """``count_render``, or refuse the request: 429 with ``Retry-After`` and the reason."""
    try:
        count_render(request)
    except throttle.SignInThrottled as error:
        raise HTTPException(
            429, str(error), headers={"Retry-After": str(error.retry_after)}
        ) from None


def set_session_cookie(request: Request, response: Response, token: str, hours: float) -> None:
    """Hand the browser its session token: kept from scripts, sent back only to this site."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def session_token(authorization: str | None, cookie: str | None) -> str:
    """The session token from ``Authorization: Bearer`` or the session cookie; else a 401."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    token = token or (cookie or "").strip()
    if not token:
        raise HTTPException(
            401,
            "not signed in: sign in with POST /v1/auth/login and send the token as "
            f"'Authorization: Bearer <token>' or the {COOKIE} cookie",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if token.startswith(API_KEY_PREFIX):
        raise HTTPException(
            403, "this route is for signed-in people; an API key cannot be used here"
        )
    return token


def person_of(session: Session, token: str) -> Person:
    """The person a live session token names; a 401 with the reason otherwise."""
    try:
        live = signed_in(session, token)
    except SessionInvalid as error:
        raise HTTPException(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    return Person.of(live)


def require_person(*roles: str) -> Callable[..., Person]:
    """A dependency that admits a signed-in person of one of ``roles`` (401 / 403 otherwise)."""

    def dependency(
        session: Annotated[Session, Depends(get_session)],
        authorization: Annotated[str | None, Header()] = None,
        xinyong_session: Annotated[str | None, Cookie()] = None,
    ) -> Person:
        person = person_of(session, session_token(authorization, xinyong_session))
        if person.role not in roles:
            raise HTTPException(
                403, f"this route is for {' or '.join(roles)}, not a signed-in {person.role}"
            )
        return person

    return dependency
