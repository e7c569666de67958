"""Signing in and out on the pages, and who may open which page.

The sign-in form posts to the same login service as ``POST /v1/auth/login`` and sets the same
``xinyong_session`` cookie, so the JSON routes (the credit report, say) work from a page too.
A page for people admits them by role: someone not signed in is sent to the sign-in form and
back afterwards; someone signed in with the wrong role gets a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.deps import COOKIE, Person, client_address, set_session_cookie
from xinyong.accounts.oidc import FederationRefused, begin, finish
from xinyong.accounts.reset import ResetRefused, request_reset, reset_password
from xinyong.accounts.service import (
    AccountError,
    LoginRefused,
    SessionInvalid,
    SignInBusy,
    logout,
    signed_in,
    start_session,
)
from xinyong.accounts.service import sign_in as sign_person_in
from xinyong.accounts.throttle import SignInThrottled
from xinyong.clock import utc_now
from xinyong.config import Settings
from xinyong.web import csrf
from xinyong.web.deps import get_sessionmaker
from xinyong.web.forms import read_form
from xinyong.web.redirects import safe_next
from xinyong.web.templating import Visitor, render

router = APIRouter(include_in_schema=False)
Factory = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]

HOME_OF_ROLE = {
    "subject": "/me",
    "reviewer": "/console/reviews",
    "authority": "/console/reviews",
    "operator": "/console/operator",
    "auditor": "/console/audit",
}


class PageRefused(Exception):
    """A page for people opened by someone who may not see it."""

    def __init__(self, person: Person | None, roles: tuple[str, ...]) -> None:
        super().__init__("not signed in" if person is None else f"not for a {person.role}")
        self.person = person
        self.roles = roles


def _person(factory: sessionmaker[Session], token: str) -> Person | None:
    with factory() as session:
        try:
            live = signed_in(session, token)
        except SessionInvalid:
            return None
    return Person.of(live)


def page_person(*roles: str) -> Callable[..., Person]:
    """A dependency admitting a person signed in (by the session cookie) with one of ``roles``."""

    def dependency(
        request: Request,
        factory: Factory,
        xinyong_session: Annotated[str | None, Cookie()] = None,
    ) -> Person:
        person = _person(factory, xinyong_session) if xinyong_session else None
        if person is None or person.role not in roles:
            raise PageRefused(person, roles)
        request.state.person = person
        return person

    return dependency


async def page_refused(request: Request, error: Exception) -> Response:
    """The answer to a page opened by someone it is not for: sign in, or a 403 page."""
    assert isinstance(error, PageRefused)
    if error.person is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?{urlencode({'next': back})}", status_code=303)
    context = {"roles": error.roles, "person": error.person}
    return render(request, "accounts/denied.html", context, status_code=403)


def visitor_of(request: Request) -> Visitor | None:
    """Who is signed in on ``request``, for the header of every page (``app.state.visitor``)."""
    token = request.cookies.get(COOKIE)
    person = _person(request.app.state.sessionmaker, token) if token else None
    if person is None:
        return None
    return Visitor(person.username, person.role, HOME_OF_ROLE.get(person.role, "/"))


@router.get("/sign-in", response_class=HTMLResponse, name="sign_in")
def sign_in_form(
    request: Request,
    factory: Factory,
    next: str | None = None,
    xinyong_session: Annotated[str | None, Cookie()] = None,
) -> Response:
    """The sign-in form; someone already signed in goes straight on to their pages."""
    person = _person(factory, xinyong_session) if xinyong_session else None
    if person is not None:
        return RedirectResponse(safe_next(next) or HOME_OF_ROLE.get(person.role, "/"), 303)
    federated = bool(request.app.state.settings.oidc_issuer)
    context = {"next": safe_next(next) or "", "error": None, "federated": federated}
    return render(request, "accounts/sign_in.html", context)


def _federation_refused(request: Request, error: FederationRefused) -> Response:
    context = {"next": "", "error": "federation", "reason": str(error)}
    return render(request, "accounts/sign_in.html", context, status_code=403)


@router.get("/sign-in/oidc", name="federated_sign_in")
def federated_sign_in(request: Request, factory: Factory, next: str | None = None) -> Response:
    """Send the browser to the identity provider, with a pending sign-in to come back to."""
    settings: Settings = request.app.state.settings
    callback = str(request.url_for("federated_callback"))
    try:
        with factory.begin() as session:
            target = begin(session, settings, callback, safe_next(next) or "", utc_now())
    except FederationRefused as error:
        return _federation_refused(request, error)
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in/oidc/callback", name="federated_callback")
def federated_callback(
    request: Request, factory: Factory, state: str = "", code: str = "", error: str = ""
) -> Response:
    """The provider's answer: the person is signed in, or told why not."""
    settings: Settings = request.app.state.settings
    if error or not state or not code:
        refusal = FederationRefused(
            f"the identity provider did not sign you in ({error[:100] or 'no code'})"
        )
        return _federation_refused(request, refusal)
    callback = str(request.url_for("federated_callback"))
    try:
        with factory.begin() as session:
            account, back = finish(session, settings, state[:200], code[:2000], callback, utc_now())
            token = start_session(
                session, account, timedelta(hours=settings.session_hours), utc_now()
            )
            role = account.role
    except FederationRefused as refused:
        return _federation_refused(request, refused)
    response = RedirectResponse(back or HOME_OF_ROLE.get(role, "/"), status_code=303)
    set_session_cookie(request, response, token, settings.session_hours)
    return response


@router.post("/sign-in", name="sign_in_post")
async def sign_in(request: Request, factory: Factory) -> Response:
    form = await read_form(request)
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    back = safe_next(str(form.get("next") or ""))
    settings: Settings = request.app.state.settings
    context: dict[str, object] = {"next": back or "", "username": username}
    try:
        token, live = await sign_person_in(
            factory,
            username,
            password,
            client_address(request),
            lifetime=timedelta(hours=settings.session_hours),
        )
    except (SignInThrottled, SignInBusy) as error:
        context |= {"error": "throttled", "retry_after": error.retry_after}
        status = 429 if isinstance(error, SignInThrottled) else 503
        answer = render(request, "accounts/sign_in.html", context, status_code=status)
        answer.headers["Retry-After"] = str(error.retry_after)
        return answer
    except LoginRefused:
        context["error"] = "wrong"
        return render(request, "accounts/sign_in.html", context, status_code=401)
    role = live.account.role
    response = RedirectResponse(back or HOME_OF_ROLE.get(role, "/"), status_code=303)
    set_session_cookie(request, response, token, settings.session_hours)
    return response


@router.post("/sign-out", name="sign_out")
async def sign_out(
    request: Request, factory: Factory, xinyong_session: Annotated[str | None, Cookie()] = None
) -> Response:
    form = await read_form(request)
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)

    def end() -> None:
        with factory.begin() as session:
            try:
                logout(session, xinyong_session or "")
            except SessionInvalid:
                return  # already ended: signing out again changes nothing

    await run_in_threadpool(end)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="lax")
    return response


@router.get("/sign-in/reset", response_class=HTMLResponse, name="reset_request")
def reset_request_form(request: Request) -> Response:
    return render(request, "accounts/reset_request.html", {"sent": False, "error": None})


@router.post("/sign-in/reset", name="reset_request_post")
async def reset_request(request: Request, factory: Factory) -> Response:
    """Send a reset link to the account's address; the answer is the same for every name."""
    form = await read_form(request)
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    username = str(form.get("username") or "")[:80]
    settings: Settings = request.app.state.settings
    page = str(request.url_for("reset_form"))

    def ask() -> None:
        with factory.begin() as session:
            request_reset(session, username, client_address(request), page, settings, utc_now())

    try:
        await run_in_threadpool(ask)
    except SignInThrottled as error:
        context = {"sent": False, "error": "throttled", "retry_after": error.retry_after}
        answer = render(request, "accounts/reset_request.html", context, status_code=429)
        answer.headers["Retry-After"] = str(error.retry_after)
        return answer
    return render(request, "accounts/reset_request.html", {"sent": True, "error": None})


@router.get("/sign-in/reset/new", response_class=HTMLResponse, name="reset_form")
def reset_form(request: Request, token: str = "") -> Response:
    context = {"token": token[:200], "error": None, "done": False}
    return render(request, "accounts/reset_new.html", context)


@router.post("/sign-in/reset/new", name="reset_form_post")
async def reset(request: Request, factory: Factory) -> Response:
    """Set a new password with a reset link's token; every session of the account ends."""
    form = await read_form(request)
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    token = str(form.get("token") or "")[:200]
    password = str(form.get("password") or "")

    def use() -> str:
        with factory.begin() as session:
            return reset_password(session, token, password, utc_now())

    try:
        await run_in_threadpool(use)
    except (ResetRefused, AccountError) as error:
        refused = "refused" if isinstance(error, ResetRefused) else "short"
        context = {"token": token, "error": refused, "done": False}
        return render(request, "accounts/reset_new.html", context, status_code=422)
    return render(request, "accounts/reset_new.html", {"token": "", "error": None, "done": True})
