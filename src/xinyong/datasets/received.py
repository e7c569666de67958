"""Taking a mirror's signed batch of checks into the check log, once.

A relying party's key speaks for its mirror: the first batch it sends registers the
mirror's verifier key on the API key, and every later batch must be signed by that key (a
new mirror key needs a new API key). A batch id is taken once per API key: the same batch
again (a mirror that lost the answer) is answered ``duplicate`` and logged no second time;
another batch under a taken id is refused. The checks become one check-log group, sealed on
the ledger in the same transaction, and a ``mirror_batches`` row says that the group came
from this mirror, from where, with the digest and the signature it came with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.clock import china_day
from xinyong.datasets.reports import KIND, BadBatch, read_batch
from xinyong.enforcement.checklog import Asker, ReportedRow, log_reported
from xinyong.enforcement.models import MirrorBatch
from xinyong.keys.models import ApiKey
from xinyong.keys.service import Caller
from xinyong.ledger.checkpoint import CheckpointError, VerifierKey
from xinyong.ledger.signed import SignatureError, digest, verify


class Refused(ValueError):
    """A report the platform does not take: ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Accepted:
    status: str
    """``logged``, or ``duplicate`` for a batch taken before."""
    batch_id: str
    checks: int
    group: int


def accept(
    session: Session, caller: Caller, key: str, batch: bytes, signature: str, now: datetime
) -> Accepted:
    """Log the batch's checks (in the caller's transaction), or raise ``Refused``."""
    if caller.actions is None:
        raise Refused(403, "this key has no scope, so it has no mirror: see xinyong keys create")
    try:
        mirror_key = VerifierKey.parse(key)
    except CheckpointError as error:
        raise Refused(422, f"key: not a verifier key: {error}") from None
    try:
        verify(batch, signature, KIND, mirror_key)
    except SignatureError as error:
        raise Refused(422, f"signature: {error}") from None
    try:
        parsed = read_batch(batch, caller.actions, now)
    except BadBatch as error:
        raise Refused(422, str(error)) from None
    _register(session, caller.key_id, mirror_key.encode())
    found = session.scalars(
        select(MirrorBatch).where(
            MirrorBatch.key_id == caller.key_id, MirrorBatch.batch_id == parsed.batch_id
        )
    ).first()
    if found is not None:
        if found.digest != digest(batch):
            raise Refused(409, f"batch {parsed.batch_id} was taken before with other checks")
        return Accepted("duplicate", found.batch_id, found.checks, found.group_id)
    group = log_reported(
        session,
        Asker(caller.key_id, caller.label),
        [
            ReportedRow(
                check.decision_id,
                check.checked_at,
                check.purpose,
                check.subject,
                check.action,
                china_day(check.checked_at),
                check.effect,
                check.policy_version,
            )
            for check in parsed.checks
        ],
    )
    session.add(
        MirrorBatch(
            key_id=caller.key_id,
            batch_id=parsed.batch_id,
            site=parsed.site,
            digest=digest(batch),
            signature=signature,
            checks=len(parsed.checks),
            group_id=group,
            received_at=now,
        )
    )
    session.flush()
    return Accepted("logged", parsed.batch_id, len(parsed.checks), group)


def _register(session: Session, key_id: str, mirror_key: str) -> None:
    """The first batch's key becomes the mirror's; later ones must be signed by it."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.mirror_key.is_(None))
        .values(mirror_key=mirror_key)
        .execution_options(synchronize_session=False)
    )
    registered = session.scalar(select(ApiKey.mirror_key).where(ApiKey.key_id == key_id))
    if registered != mirror_key:
        raise Refused(
            409,
            "this API key's mirror signs with another key (registered by its first report); "
            "a new mirror key needs a new API key",
        )
