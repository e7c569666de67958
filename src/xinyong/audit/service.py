"""Writing and reading the access log.

Each row goes on the ledger as a leaf (kind ``access.read``) in the same transaction (see
``xinyong.audit.history``): a deleted or edited row makes ``xinyong ledger verify`` fail. There
is no update or delete path here, by design.
"""

import secrets
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.audit.history import KIND, access_payload
from xinyong.audit.models import AccessLogRow
from xinyong.clock import utc_now
from xinyong.ledger import LeafInput, append
from xinyong.records.models import Subject
from xinyong.tracing import REQUEST_ID

MAX_PURPOSE = 500
MAX_WHAT = 200


class Reader(Protocol):
    """Who read: a signed-in member of staff (``xinyong.accounts.deps.Person`` is one)."""

    @property
    def account_id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def authority_code(self) -> str | None: ...


def record_access(
    session: Session, *, person: Reader, subject_id: int, purpose: str, what: str
) -> None:
    """Log that ``person`` read ``what`` of subject ``subject_id`` for ``purpose`` (in the
    caller's transaction, so the read and its log commit together)."""
    purpose = purpose.strip()
    if not purpose:
        raise ValueError("an access needs a stated purpose")
    identifier = session.scalar(select(Subject.identifier).where(Subject.id == subject_id))
    if identifier is None:
        raise ValueError(f"no subject with id {subject_id}")
    ref = secrets.token_hex(16)
    row: dict[str, Any] = {
        "ref": ref,
        "accessed_at": utc_now(),
        "account_id": person.account_id,
        "username": person.username,
        "role": person.role,
        "authority_code": person.authority_code,
        "subject_id": subject_id,
        "purpose": purpose[:MAX_PURPOSE],
        "what": what[:MAX_WHAT],
    }
    (leaf,) = append(
        session, [LeafInput(KIND, ref, access_payload({**row, "subject": identifier}))]
    )
    session.add(AccessLogRow(**row, ledger_leaf=leaf, request_id=REQUEST_ID.get()))
    session.flush()


def accesses_of(session: Session, subject_id: int) -> list[AccessLogRow]:
    """Every logged staff read of one subject, newest first."""
    return list(
        session.scalars(
            select(AccessLogRow)
            .where(AccessLogRow.subject_id == subject_id)
            .order_by(AccessLogRow.accessed_at.desc(), AccessLogRow.id.desc())
        )
    )
