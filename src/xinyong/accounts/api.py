"""``POST /v1/auth/login`` and ``POST /v1/auth/logout``: sessions for people."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, StringConstraints
from sqlalchemy.orm import Session

from xinyong.accounts.deps import (
    COOKIE,
    Person,
    client_address,
    session_token,
    set_session_cookie,
)
from xinyong.accounts.service import (
    LoginRefused,
    SessionInvalid,
    SignInBusy,
    logout,
    sign_in,
)
from xinyong.accounts.throttle import SignInThrottled
from xinyong.config import Settings
from xinyong.web.deps import get_session, get_sessionmaker
from xinyong.web.types import Line

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


class Credentials(BaseModel):
    username: Annotated[Line, StringConstraints(min_length=1, max_length=80)]
    password: Annotated[Line, StringConstraints(min_length=1, max_length=1000)]


class SignInAnswer(BaseModel):
    token: str
    expires_at: datetime
    role: str
    username: str
    subject_identifier: str | None
    authority_code: str | None


@router.post(
    "/login",
    response_model=SignInAnswer,
    responses={
        401: {"description": "wrong username or password"},
        429: {
            "description": "too many failed sign-ins for this account or from this address; "
            "`Retry-After` says when to try again"
        },
        503: {"description": "too many sign-ins at once; retry after `Retry-After` seconds"},
    },
)
async def login_route(
    credentials: Credentials, request: Request, response: Response
) -> SignInAnswer:
    """Sign in: returns a session token and sets it as the ``xinyong_session`` cookie.

    Failed attempts are throttled per account name and per address (see docs/rights.md).
    """
    settings: Settings = request.app.state.settings
    try:
        token, live = await sign_in(
            get_sessionmaker(request),
            credentials.username,
            credentials.password,
            client_address(request),
            lifetime=timedelta(hours=settings.session_hours),
        )
    except (SignInThrottled, SignInBusy) as error:
        status = 429 if isinstance(error, SignInThrottled) else 503
        raise HTTPException(
            status, str(error), headers={"Retry-After": str(error.retry_after)}
        ) from None
    except LoginRefused as error:
        raise HTTPException(401, str(error)) from None
    person = Person.of(live)
    set_session_cookie(request, response, token, settings.session_hours)
    return SignInAnswer(
        token=token,
        expires_at=live.expires_at,
        role=person.role,
        username=person.username,
        subject_identifier=person.subject_identifier,
        authority_code=person.authority_code,
    )


@router.post("/logout", status_code=204, responses={401: {"description": "not signed in"}})
def logout_route(
    session: Annotated[Session, Depends(get_session)],
    authorization: Annotated[str | None, Header()] = None,
    xinyong_session: Annotated[str | None, Cookie()] = None,
) -> Response:
    """Sign out: the session ends at once, and the cookie is cleared."""
    try:
        logout(session, session_token(authorization, xinyong_session))
    except SessionInvalid as error:
        raise HTTPException(401, str(error)) from None
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, httponly=True, samesite="lax")
    return response
