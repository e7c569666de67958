"""Links that converge after a restore: the sender numbers and resends as the receiver expects.

A node restored from a backup forgets batches: as a sender, the batches its neighbour
acknowledged after the backup (and the events in them, if they were made after it too); as a
receiver, the batches it applied after the backup. Before it builds a new batch, the relay asks
the neighbour which batch it expects next and the digest of the last one it applied, and
:func:`converge` brings the link's cursor to match:

- the receiver expects what this side would send: nothing to do;
- the receiver is **ahead** (this side was restored): number on from what it expects. The
  cursor stays where the backup left it, so every event after it is sent again; the receiver
  counts what it holds already as duplicates;
- the receiver is **behind** (it was restored): go back to the batch it applied last, found by
  its digest among the batches this side signed, and send again every event after it.

What cannot be matched (the receiver's last batch is not one this side signed) stops the link
with an error until an operator runs ``xinyong federation resend --link NAME --from BATCH``
(:func:`resend_from`), which moves the cursor back to where batch ``BATCH`` began; the
numbering then follows the receiver again. Resending more than was lost costs duplicates, never
a record twice: a version the receiver holds already is a duplicate, a mark that changes
nothing is unchanged.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xinyong.federation.batches import FIRST
from xinyong.federation.models import LinkState, SentBatch

LOG = logging.getLogger(__name__)


class CannotResend(Exception):
    """The link cannot be moved where asked; the message says why."""


@dataclass(frozen=True)
class Expected:
    """What the receiving neighbour says: the batch it expects next, and the digest of the last
    batch it applied (64 zeros before the first)."""

    number: int
    last_digest: str


def _start_of(session: Session, link: str, number: int) -> SentBatch | None:
    """The acknowledged batch ``number - 1``, whose end is where batch ``number`` begins."""
    return session.scalar(
        select(SentBatch).where(
            SentBatch.link == link,
            SentBatch.number == number - 1,
            SentBatch.acknowledged_at.is_not(None),
        )
    )


def _rewind(session: Session, state: LinkState, number: int, digest: str, through: int) -> None:
    """Send from batch ``number`` on, after ledger position ``through``; batches this side
    signed under that number or later are forgotten (they are built again)."""
    session.execute(
        delete(SentBatch).where(SentBatch.link == state.name, SentBatch.number >= number)
    )
    state.sent_number, state.sent_through = number - 1, through
    state.sent_digest = "" if digest == FIRST else digest


def converge(session: Session, state: LinkState, expected: Expected) -> str | None:
    """Move the link held in ``state`` to what the receiver expects; why it cannot, or None."""
    ours = state.sent_digest or FIRST
    last = expected.number - 1
    if last == state.sent_number:
        if expected.last_digest == ours:
            return None
        return (
            f"{state.name} applied another batch {last} than the one signed here: run "
            f"`xinyong federation resend --link {state.name} --from BATCH` to send again from "
            "a batch both sides know"
        )
    if last > state.sent_number:
        LOG.warning(
            "link %s: the neighbour applied up to batch %d, this node knows of %d (restored "
            "from a backup?): numbering on from %d and sending again after position %d",
            state.name,
            last,
            state.sent_number,
            expected.number,
            state.sent_through,
        )
        _rewind(session, state, expected.number, expected.last_digest, state.sent_through)
        return None
    if last == 0 and expected.last_digest == FIRST:
        start: SentBatch | None = None
    else:
        start = _start_of(session, state.name, expected.number)
        if start is None or start.digest != expected.last_digest:
            return (
                f"{state.name} expects batch {expected.number} after one this node did not "
                f"sign: run `xinyong federation resend --link {state.name} --from BATCH`"
            )
    LOG.warning(
        "link %s: the neighbour expects batch %d, this node sent up to %d (the neighbour was "
        "restored from a backup?): sending again from batch %d",
        state.name,
        expected.number,
        state.sent_number,
        expected.number,
    )
    _rewind(
        session,
        state,
        expected.number,
        expected.last_digest,
        start.through if start is not None else -1,
    )
    return None


def resend_from(session: Session, state: LinkState, number: int) -> int:
    """Send again everything from batch ``number`` on; the ledger position sending resumes
    after. Raises :class:`CannotResend` when batch ``number - 1`` was not acknowledged here."""
    if number < 1:
        raise CannotResend("batches are numbered from 1")
    if number > state.sent_number + 1:
        raise CannotResend(
            f"{state.name} acknowledged batches up to {state.sent_number}: nothing after "
            f"{number - 1} was sent"
        )
    if number == 1:
        _rewind(session, state, 1, FIRST, -1)
        return -1
    start = _start_of(session, state.name, number)
    if start is None:
        raise CannotResend(
            f"batch {number - 1} to {state.name} is not one this node keeps acknowledged: "
            "choose an earlier batch, or 1 to send everything again"
        )
    _rewind(session, state, number, start.digest, start.through)
    return start.through
