"""Notices to subjects: written to an outbox with the change they report, delivered later.

``enqueue_notice`` and ``enqueue_notices`` add to the outbox in the caller's transaction, so a
notice exists exactly when the change that caused it committed, and is never lost with it.
``deliver_due`` sends what is due through a transport, retrying failures with backoff.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select, update
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.rights.notices_models import NoticeRow, SubjectContact
from xinyong.rights.transports import OutgoingNotice, Transport
from xinyong.store.bulk import BulkTable

# The kinds this platform sends; the kind is also the template family a transport may use.
RECORD = "record"
LISTING = "listing"
DELISTING = "delisting"
EXPIRY = "expiry"
# Objection and repair notices are written by ``rights.objections``, ``rights.reviews`` and
# ``rights.repairs`` as ``<procedure>_<outcome>``.
OBJECTION_RECEIVED = "objection_received"
OBJECTION_UPHELD = "objection_upheld"
OBJECTION_REJECTED = "objection_rejected"
REPAIR_GRANTED = "repair_granted"
REPAIR_REFUSED = "repair_refused"

PENDING, SENT, NO_ADDRESS = "pending", "sent", "no_address"

NOTICES: Table = NoticeRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """A notice before it is in the outbox."""

    subject_id: int
    kind: str
    title: str
    body: str
    reference: str | None = None


def _row(draft: NoticeDraft, now: datetime) -> dict[str, object]:
    return {
        "subject_id": draft.subject_id,
        "kind": draft.kind,
        "title": draft.title,
        "body": draft.body,
        "reference": draft.reference,
        "created_at": now,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "claimed_by": None,
        "claimed_until": None,
        "sent_at": None,
        "sent_to": None,
    }


def enqueue_notice(
    session: Session,
    *,
    subject_id: int,
    kind: str,
    title: str,
    body: str,
    reference: str | None = None,
) -> None:
    """Add one notice to the outbox, committed (or rolled back) with the caller's transaction."""
    draft = NoticeDraft(subject_id, kind, title, body, reference)
    session.add(NoticeRow(**_row(draft, utc_now())))


def enqueue_notices(connection: Connection, drafts: Sequence[NoticeDraft]) -> None:
    """Add a batch of notices with one INSERT (ingest and refresh write thousands at a time)."""
    if not drafts:
        return
    now = utc_now()
    BulkTable(connection, NOTICES, omit=("id",)).insert(_row(draft, now) for draft in drafts)


def set_contact(session: Session, subject_id: int, email: str) -> int:
    """Set where ``subject_id``'s notices go; notices held for want of an address are released.

    Returns how many held notices become due again.
    """
    now = utc_now()
    contact = session.get(SubjectContact, subject_id)
    if contact is None:
        session.add(SubjectContact(subject_id=subject_id, email=email, updated_at=now))
    else:
        contact.email, contact.updated_at = email, now
    released: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(NoticeRow)
        .where(NoticeRow.subject_id == subject_id, NoticeRow.status == NO_ADDRESS)
        .values(status=PENDING, next_attempt_at=now)
    )
    return int(released.rowcount)


def notices_for(session: Session, subject_id: int) -> list[dict[str, Any]]:
    """Every notice to ``subject_id``, newest first, with how its delivery went (for the file)."""
    rows = session.scalars(
        select(NoticeRow)
        .where(NoticeRow.subject_id == subject_id)
        .order_by(NoticeRow.created_at.desc(), NoticeRow.id.desc())
    )
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "title": row.title,
            "body": row.body,
            "reference": row.reference,
            "created_at": row.created_at.isoformat(),
            "status": row.status,
            "attempts": row.attempts,
            "sent_at": None if row.sent_at is None else row.sent_at.isoformat(),
            "sent_to": row.sent_to,
        }
        for row in rows
    ]


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    no_address: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "no_address": self.no_address}


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before the next attempt: ``first`` doubled per failure so far, at most ``cap``."""

    first: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=6)

    def after(self, attempts: int) -> timedelta:
        delay: timedelta = self.first * 2 ** min(attempts - 1, 30)
        return min(self.cap, delay)


def deliver_due(
    factory: sessionmaker[Session],
    transport: Transport,
    *,
    now: Callable[[], datetime] = lambda: utc_now(),
    batch: int = 100,
    lease: timedelta = timedelta(minutes=10),
    backoff: Backoff = Backoff(),
    progress: Callable[[int], None] | None = None,
) -> DeliverySummary:
    """Send every notice due now, ``batch`` claimed at a time, until none is left.

    Each notice is claimed with a lease before it is sent and marked after, each step in its
    own transaction, so concurrent senders never send one notice twice. A sender that dies
    between the send and the mark leaves a claim that lapses after ``lease``: that notice is
    sent again, once.
    """
    sender = _Sender(factory, transport, now, lease, backoff)
    while claimed := sender.claim(batch):
        for notice in claimed:
            sender.deliver(notice)
            if progress is not None:
                progress(1)
    return sender.summary


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    token: str
    to: str | None
    kind: str
    title: str
    body: str
    reference: str | None
    attempts: int


def _claimable(at: datetime) -> ColumnElement[bool]:
    return and_(
        NoticeRow.status == PENDING,
        NoticeRow.next_attempt_at <= at,
        or_(NoticeRow.claimed_until.is_(None), NoticeRow.claimed_until < at),
    )


_RELEASED = {"claimed_by": None, "claimed_until": None}


@dataclass
class _Sender:
    factory: sessionmaker[Session]
    transport: Transport
    now: Callable[[], datetime]
    lease: timedelta
    backoff: Backoff
    summary: DeliverySummary = field(default_factory=DeliverySummary)

    def claim(self, batch: int) -> list[_Claimed]:
        at, token = self.now(), uuid.uuid4().hex
        with self.factory.begin() as session:
            candidates = (
                select(NoticeRow.id)
                .where(_claimable(at))
                .order_by(NoticeRow.next_attempt_at)
                .limit(batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                # Rows another sender is claiming right now are skipped, not waited for.
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(session.scalars(candidates))
            if not ids:
                return []
            # The UPDATE checks the condition again: on SQLite (one writer at a time) a row
            # claimed since the SELECT is left alone, and only rows with our token are ours.
            session.execute(
                update(NoticeRow)
                .where(NoticeRow.id.in_(ids), _claimable(at))
                .values(claimed_by=token, claimed_until=at + self.lease)
            )
            rows = session.execute(
                select(NoticeRow, SubjectContact.email)
                .outerjoin(SubjectContact, SubjectContact.subject_id == NoticeRow.subject_id)
                .where(NoticeRow.id.in_(ids), NoticeRow.claimed_by == token)
                .order_by(NoticeRow.id)
            ).all()
        return [
            _Claimed(
                row.id, token, email, row.kind, row.title, row.body, row.reference, row.attempts
            )
            for row, email in rows
        ]

    def deliver(self, notice: _Claimed) -> None:
        mine = and_(NoticeRow.id == notice.id, NoticeRow.claimed_by == notice.token)
        if notice.to is None:
            self._mark(mine, status=NO_ADDRESS, **_RELEASED)
            self.summary.no_address += 1
            return
        # A slow batch may outlive its lease: renew it before the send, unless another sender
        # took the notice over meanwhile (the token is no longer ours).
        if not self._mark(mine, claimed_until=self.now() + self.lease):
            return
        outgoing = OutgoingNotice(
            notice.id, notice.to, notice.kind, notice.title, notice.body, notice.reference
        )
        attempts = notice.attempts + 1
        try:
            self.transport.send(outgoing)
        except Exception as error:  # any failure of any transport: the notice waits for a retry
            self._mark(
                mine,
                attempts=attempts,
                next_attempt_at=self.now() + self.backoff.after(attempts),
                last_error=f"{type(error).__name__}: {error}"[:500],
                **_RELEASED,
            )
            self.summary.failed += 1
            return
        self._mark(
            mine,
            status=SENT,
            attempts=attempts,
            sent_at=self.now(),
            sent_to=notice.to,
            last_error=None,
            **_RELEASED,
        )
        self.summary.sent += 1

    def _mark(self, condition: ColumnElement[bool], **values: Any) -> bool:
        """Update the notice in a transaction of its own; whether the condition held."""
        with self.factory.begin() as session:
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(NoticeRow).where(condition).values(**values)
            )
        return bool(result.rowcount == 1)
