"""Accounts, sign-in and sessions.

Passwords are hashed with argon2. A session token is ``xs_<secret>``, shown once at sign-in;
the store keeps its SHA-256, its expiry and when it was ended by signing out.

A password check costs about 64 MiB and a fifth of a second of CPU, on purpose. The server
signs people in with ``sign_in``: throttled per account name and address (``throttle``), with
the hash computed in a helper process of low CPU priority per worker (``HASHING_SLOTS``), at
most ``HASHING_QUEUE`` attempts waiting for it (more are told to come back), one check at a
time on the whole machine, and no store connection held while hashing. A process rather than
a thread: a low-priority thread of the worker would take the interpreter lock from the event
loop and then wait for the scheduler while holding it.
"""

import asyncio
import fcntl
import hashlib
import multiprocessing
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts import throttle
from xinyong.accounts.models import Account, AccountSession
from xinyong.clock import utc_now
from xinyong.config import get_settings
from xinyong.identifiers import normalise
from xinyong.records.models import Subject

SUBJECT = "subject"
AUTHORITY = "authority"
STAFF_ROLES = ("operator", "reviewer", "auditor", AUTHORITY)
ROLES = (SUBJECT, *STAFF_ROLES)
TOKEN_PREFIX = "xs_"
DEFAULT_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
HASHING_SLOTS = 1
"""Password checks computed at once per worker process."""
HASHING_NICENESS = 19
"""How much lower the password checker's CPU priority is: checks come first, and sign-ins
take what CPU the checks leave."""
HASHING_QUEUE = 16
"""Attempts per process that may wait for a hashing slot; beyond, ``SignInBusy``."""
STORE_THREADS = 2
"""Threads per process that read and write the store for sign-ins: a flood of attempts queues
for them instead of putting dozens of threads between the event loop and the interpreter
lock."""


@cache
def _hasher_of(hashing: str) -> PasswordHasher:
    if hashing == "insecure-for-tests":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    # One lane: argon2's default of four spreads a single check over every core of a small
    # machine, beside the checks it must not slow.
    return PasswordHasher(parallelism=1)


def _hasher() -> PasswordHasher:
    """New hashes and those rehashed at sign-in, as ``XINYONG_PASSWORD_HASHING`` says."""
    return _hasher_of(get_settings().password_hashing)


MACHINE_TURN = Path(tempfile.gettempdir()) / "xinyong-password-checks.lock"
"""Password checks take turns on the whole machine (every worker and server on it), so
that a flood of sign-ins never takes more than one core."""


@cache
def _decoy_hash() -> str:
    """Verified against when the username is unknown, so both failures take the same time.

    Made on first use: hashing is slow on purpose, and most processes never sign anyone in."""
    return _hasher().hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account that cannot be created as asked."""


class LoginRefused(PermissionError):
    """Wrong username or password; deliberately silent about which."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class SessionInvalid(PermissionError):
    """A token that names no live session: unknown, expired or signed out."""


class SignInBusy(RuntimeError):
    """Too many sign-ins are waiting for a password check in this process: retry shortly."""

    retry_after = 1

    def __init__(self) -> None:
        super().__init__("too many sign-ins at once; try again in a second")


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
    email: str | None = None,
) -> int:
    """Create an account and return its id. A subject account names an existing subject; an
    authority account names its authority. With an e-mail address, its password can be reset
    by a link sent there."""
    username = username.strip()
    if not username:
        raise AccountError("a username is required")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    password_hash = new_password_hash(password)
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
        password_hash=password_hash,
        role=role,
        display_name=display_name or username,
        subject_id=subject_id,
        authority_code=authority_code,
        created_at=_now(),
        email=email.strip() if email else None,
    )
    session.add(account)
    session.flush()
    return account.id


def new_password_hash(password: str) -> str:
    """The argon2 hash of a new password, once it is long enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher().hash(password)


def _account(session: Session, username: str) -> Account | None:
    return session.scalars(select(Account).where(Account.username == username.strip())).first()


def _password_check(stored: str | None, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches the ``stored`` hash (None: an unknown name, checked against
    the decoy so that it takes as long), and its new hash when the hashing parameters have
    changed since it was stored. The slow part of signing in."""
    with _machine_turn():
        if stored is None:
            stored = _decoy_hash()
        hasher = _hasher()
        try:
            hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False, None
        return True, hasher.hash(password) if hasher.check_needs_rehash(stored) else None


@contextmanager
def _machine_turn() -> Iterator[None]:
    try:
        turn = MACHINE_TURN.open("ab")
    except OSError:  # another user's file: take turns within this process only
        yield
        return
    with turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)


def _start_session(
    session: Session, account: Account, rehashed: str | None, lifetime: timedelta, now: datetime
) -> str:
    if rehashed is not None:
        account.password_hash = rehashed
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AccountSession(
            token_hash=_token_hash(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def start_session(session: Session, account: Account, lifetime: timedelta, now: datetime) -> str:
    """A session for an account whose person proved who they are elsewhere (an identity
    provider): the token, shown once."""
    return _start_session(session, account, None, lifetime, now)


def login(
    session: Session,
    username: str,
    password: str,
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Start a session and return its token; raises LoginRefused on any wrong credential.

    Unthrottled and hashing in the caller's thread: for commands and tests. The server uses
    ``sign_in``.
    """
    account = _account(session, username)
    matches, rehashed = _password_check(account.password_hash if account else None, password)
    if account is None or not matches:
        raise LoginRefused()
    return _start_session(session, account, rehashed, lifetime, now or _now())


def _checker_starts(worker: int) -> None:
    """In the password checker: low priority, and gone as soon as its worker is (a worker
    killed or stopped without shutting its pool down would otherwise leave it behind)."""
    os.nice(HASHING_NICENESS)

    def watch() -> None:
        while os.getppid() == worker:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="worker-watch", daemon=True).start()


@cache
def _hashing() -> tuple[ProcessPoolExecutor, ThreadPoolExecutor, threading.BoundedSemaphore]:
    """The process's password checker, its sign-in store threads, and the tickets of the
    attempts they may take on."""
    hashing = ProcessPoolExecutor(
        HASHING_SLOTS,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_checker_starts,
        initargs=(os.getpid(),),
    )
    store = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="sign-in-store")
    return hashing, store, threading.BoundedSemaphore(HASHING_SLOTS + HASHING_QUEUE)


async def sign_in(
    factory: sessionmaker[Session],
    username: str,
    password: str,
    address: str,
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> tuple[str, SignedIn]:
    """Start a session for a person at ``address``: the token and what it signs in.

    Raises ``SignInThrottled`` (wait), ``SignInBusy`` (retry shortly) or ``LoginRefused``.
    """
    hashing, store, tickets = _hashing()
    loop = asyncio.get_running_loop()
    if not tickets.acquire(blocking=False):
        raise SignInBusy()
    try:
        keys = throttle.throttle_keys(username, address)

        def admit() -> tuple[int | None, str | None]:
            with factory.begin() as session:
                throttle.begin_attempt(session, keys, _now())
                account = _account(session, username)
                return (account.id, account.password_hash) if account else (None, None)

        account_id, stored = await loop.run_in_executor(store, admit)
        try:
            matches, rehashed = await loop.run_in_executor(
                hashing, _password_check, stored, password
            )
        except BrokenProcessPool:
            _hashing.cache_clear()  # the checker died: a new one for the next attempt
            raise SignInBusy() from None
    finally:
        tickets.release()
    if account_id is None or not matches:
        raise LoginRefused()

    def start() -> tuple[str, SignedIn]:
        now = _now()
        with factory.begin() as session:
            throttle.attempt_succeeded(session, keys)
            account = session.get_one(Account, account_id)
            token = _start_session(session, account, rehashed, lifetime, now)
            return token, signed_in(session, token, now=now)

    return await loop.run_in_executor(store, start)


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
