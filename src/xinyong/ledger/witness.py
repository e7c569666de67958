"""Witnessing (C2SP tlog-witness): cosign other logs' checkpoints, and get ours cosigned.

As a **witness**, a node keeps, for each log it witnesses (by origin), the latest checkpoint it
cosigned. A log submits a new checkpoint with the size of that one (``old``) and a consistency
proof from it; the witness cosigns only if the signature is the log's and the proof shows the
old tree a prefix of the new one, and then remembers the new one. A signed checkpoint that
contradicts the one it holds (another root at the same size, or a tree that does not extend
it) is a fork: the witness refuses, keeps both signed notes as evidence and raises an alarm.

As a **log**, a node sends its latest checkpoint to each witness with a proof from the size that
witness last cosigned, and keeps the cosignatures, which are then served with the checkpoint.

The request and answer follow tlog-witness's ``add-checkpoint``::

    old 20852014                    (the size last cosigned by this witness, 0 at first)
    <base64 hash>                   (the consistency proof from it, one hash a line, at most 63)
                                    (a blank line)
    <the signed checkpoint>

answered 200 with the cosignature lines, 409 ``text/x.tlog.size`` with the size the witness
holds when ``old`` is not it, 404 for a log it does not witness, 403 for a signature that is
not the log's, 400 for a malformed request, 422 for a proof that does not hold.
"""

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from xinyong.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    SigningKey,
    VerifierKey,
    open_checkpoint,
)
from xinyong.ledger.cosignature import Cosignature, CosignerKey, cosign, note_text
from xinyong.ledger.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency
from xinyong.ledger.models import LedgerCosignature, LedgerWitnessAlarm, LedgerWitnessed
from xinyong.ledger.service import consistency_proof, latest_checkpoint

LOG = logging.getLogger(__name__)

MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 64 * 1024
SIZE_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed add-checkpoint request."""

    old_size: int
    proof: list[bytes]
    note: str


class WitnessRefusal(Exception):
    """The witness does not cosign: the HTTP status, why, and for 409 the size it holds."""

    def __init__(self, status: int, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.size = size


def parse_request(body: bytes) -> AddCheckpoint:
    """An add-checkpoint body, or a 400 refusal saying what is wrong with it."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRefusal(400, f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        document = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "the request is not UTF-8 text") from None
    head, blank, note = document.partition("\n\n")
    lines = head.split("\n")
    if not blank or not _OLD.fullmatch(lines[0]):
        raise WitnessRefusal(
            400, "the request starts with 'old <size>', then the proof, a blank line and the note"
        )
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    proof = []
    for line in lines[1:]:
        try:
            digest = base64.b64decode(line, validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != HASH_SIZE:
            raise WitnessRefusal(400, f"a proof line is one base64 SHA-256 hash, not {line[:60]!r}")
        proof.append(digest)
    return AddCheckpoint(int(lines[0].removeprefix("old ")), proof, note)


def request_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old_size}", *(base64.b64encode(digest).decode() for digest in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def _held(session: Session, origin: str) -> LedgerWitnessed:
    # Inserting the empty tree, then writing to the row, serialises concurrent requests for one
    # log: the check against the held checkpoint and the update are one atomic step.
    session.execute(
        text(
            "INSERT INTO ledger_witnessed (origin, tree_size, root_hash, note) "
            "VALUES (:origin, 0, :root, '') ON CONFLICT (origin) DO NOTHING"
        ),
        {"origin": origin, "root": EMPTY_ROOT},
    )
    session.execute(
        update(LedgerWitnessed)
        .where(LedgerWitnessed.origin == origin)
        .values(tree_size=LedgerWitnessed.tree_size)
    )
    return session.execute(
        select(LedgerWitnessed).where(LedgerWitnessed.origin == origin)
    ).scalar_one()


def _alarm(
    session: Session,
    held: LedgerWitnessed,
    shown: str,
    proof: list[bytes],
    reason: str,
    now: datetime,
) -> None:
    LOG.critical("fork of the log %s: %s", held.origin, reason)
    session.add(
        LedgerWitnessAlarm(
            origin=held.origin,
            reason=reason[:500],
            cosigned_note=held.note,
            shown_note=shown,
            proof="\n".join(base64.b64encode(digest).decode() for digest in proof),
            raised_at=now,
        )
    )


def add_checkpoint(
    session: Session,
    request: AddCheckpoint,
    logs: Mapping[str, VerifierKey],
    key: SigningKey,
    now: datetime,
) -> str:
    """Cosign ``request``'s checkpoint and remember it; the cosignature line.

    ``logs`` are the logs this witness witnesses, by origin. Raises WitnessRefusal; an alarm
    raised on the way is in the session, for the caller to commit with the refusal.
    """
    origin = request.note.split("\n", 1)[0]
    log_key = logs.get(origin)
    if log_key is None:
        raise WitnessRefusal(404, f"this witness does not witness the log {origin[:200]!r}")
    try:
        shown = open_checkpoint(request.note, log_key)
    except CheckpointError as error:
        raise WitnessRefusal(403, f"the checkpoint is not signed by {origin}: {error}") from None
    if request.old_size > shown.tree_size:
        raise WitnessRefusal(
            400, f"old size {request.old_size} is larger than the checkpoint's {shown.tree_size}"
        )
    held = _held(session, origin)
    if request.old_size != held.tree_size:
        raise WitnessRefusal(
            409,
            f"the latest checkpoint of {origin} cosigned here is of size {held.tree_size}",
            held.tree_size,
        )
    if shown.tree_size == held.tree_size:
        if shown.root_hash != held.root_hash:
            reason = (
                f"two checkpoints of size {held.tree_size} with different roots, both signed by "
                f"{origin}"
            )
            _alarm(session, held, request.note, request.proof, reason, now)
            raise WitnessRefusal(409, f"fork: {reason}")
    elif held.tree_size == 0 and request.proof:
        raise WitnessRefusal(422, "the consistency proof from size 0 is empty")
    elif held.tree_size > 0:
        try:
            verify_consistency(
                held.tree_size, shown.tree_size, held.root_hash, shown.root_hash, request.proof
            )
        except ProofError as error:
            reason = (
                f"the checkpoint of size {shown.tree_size} does not extend the one of size "
                f"{held.tree_size} cosigned before ({error})"
            )
            _alarm(session, held, request.note, request.proof, reason, now)
            raise WitnessRefusal(422, f"fork: {reason}") from None
    held.tree_size, held.root_hash = shown.tree_size, shown.root_hash
    held.note, held.cosigned_at = request.note, now
    return cosign(note_text(request.note), key, int(now.timestamp()))


def witnessed(session: Session) -> list[LedgerWitnessed]:
    """As a witness: the latest checkpoint cosigned of each log."""
    return list(session.scalars(select(LedgerWitnessed).order_by(LedgerWitnessed.origin)))


def alarms(session: Session) -> list[LedgerWitnessAlarm]:
    """As a witness: every fork seen, the latest first."""
    return list(session.scalars(select(LedgerWitnessAlarm).order_by(LedgerWitnessAlarm.id.desc())))


def cosigned_size(session: Session, witness: str) -> int:
    """As a log: the largest of our tree sizes that ``witness`` cosigned (0 if none)."""
    found = session.scalar(
        select(LedgerCosignature.tree_size)
        .where(LedgerCosignature.witness == witness)
        .order_by(LedgerCosignature.tree_size.desc())
    )
    return found or 0


def submission(session: Session, old_size: int) -> tuple[Checkpoint, bytes] | None:
    """As a log: our latest checkpoint and the add-checkpoint body that proves it from
    ``old_size`` (None before the first checkpoint, or if it is smaller than ``old_size``)."""
    latest = latest_checkpoint(session)
    if latest is None or latest.tree_size < old_size:
        return None
    proof = [] if old_size == 0 else consistency_proof(session, old_size, latest.tree_size)
    bare = note_text(latest.note) + "\n" + _own_signature(latest)
    return latest, request_body(old_size, proof, bare)


def _own_signature(checkpoint: Checkpoint) -> str:
    # A witness needs only the log's own signature: the first line after the text.
    signatures = checkpoint.note[checkpoint.note.rfind("\n\n") + 2 :]
    return signatures.split("\n", 1)[0] + "\n"


def keep_cosignature(
    session: Session,
    checkpoint: Checkpoint,
    cosignature: Cosignature,
    witness: CosignerKey,
    now: datetime,
) -> None:
    """As a log: keep a witness's verified cosignature of ``checkpoint`` (once per witness)."""
    exists = session.scalar(
        select(LedgerCosignature.id).where(
            LedgerCosignature.tree_size == checkpoint.tree_size,
            LedgerCosignature.root_hash == checkpoint.root_hash,
            LedgerCosignature.witness == cosignature.witness,
        )
    )
    if exists is None:
        session.add(
            LedgerCosignature(
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                witness=cosignature.witness,
                key=witness.encode(),
                line=cosignature.line,
                signed_at=now,
            )
        )


__all__ = [
    "SIZE_TYPE",
    "AddCheckpoint",
    "CosignerKey",
    "WitnessRefusal",
    "add_checkpoint",
    "alarms",
    "cosigned_size",
    "keep_cosignature",
    "parse_request",
    "request_body",
    "submission",
    "witnessed",
]
