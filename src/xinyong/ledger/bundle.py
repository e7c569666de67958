"""Proof bundles: one JSON document holding all a relying party needs to check a proof offline.

``GET /v1/ledger/proof/inclusion`` and ``/consistency`` serve them; ``xinyong ledger
verify-proof FILE`` checks them with no access to the store. The format is documented in
docs/ledger.md.
"""

import base64
import binascii
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from xinyong.ledger.checkpoint import Checkpoint, CheckpointError, VerifierKey, open_checkpoint
from xinyong.ledger.commitment import (
    EVENT_MEMBER,
    check_digests,
    commit,
    leaf_of_digests,
    read_opening,
)
from xinyong.ledger.cosignature import Cosignature, CosignerKey, cosignatures
from xinyong.ledger.events import EventError
from xinyong.ledger.merkle import (
    ProofError,
    fold,
    inclusion_spans,
    span_subtrees,
    verify_consistency,
    verify_inclusion,
)
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import (
    NotInLedger,
    Pending,
    checkpoint_of_size,
    consistency_proof,
    latest_checkpoint,
    pending,
    subtree_hashes,
)
from xinyong.ledger.sources import source, source_prefix
from xinyong.store.bulk import among, chunked

FORMAT: Final = "xinyong-ledger-proof/2"

HexHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

Members = Collection[str] | None
"""Which members of an event to open: these names, or every one (None)."""


class BundleError(ValueError):
    """A bundle that is malformed or does not prove what it claims."""


class EventDisclosure(BaseModel):
    """An event's commitment, opened in whole or in part (docs/ledger.md, "Commitments")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    digests: list[HexHash] = Field(
        min_length=1,
        description="every member digest the leaf commits to, in byte order, hex",
    )
    disclosed: list[str] = Field(
        description="the opened members: base64 of (32-byte member salt || JSON [name, value])"
    )


class InclusionBundle(BaseModel):
    """Proves that a logged event is in the tree a signed checkpoint commits to."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["xinyong-ledger-proof/2"] = FORMAT
    type: Literal["inclusion"] = "inclusion"
    key: str = Field(description="the log's verifier key, <name>+<key id>+<base64 key>")
    checkpoint: str = Field(description="the signed checkpoint note of the tree proved against")
    leaf_index: int = Field(ge=0, description="the event's position in the ledger (its event id)")
    leaf_hash: HexHash = Field(description="the leaf hash logged for the event, hex")
    event: EventDisclosure | None = Field(
        description="the event's commitment, opened as far as the reader may see it; null for "
        "anyone who may not see the event, or once it is erased"
    )
    proof: list[HexHash] = Field(description="the RFC 9162 inclusion path, leaf end first, hex")
    witnesses: list[str] = Field(
        default_factory=list,
        description="the keys of the witnesses whose cosignatures the checkpoint carries "
        "(C2SP tlog-cosignature, <name>+<key id>+<base64(0x04 || key)>)",
    )


class ConsistencyBundle(BaseModel):
    """Proves that an older signed tree is a prefix of a newer one: nothing logged was changed."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["xinyong-ledger-proof/2"] = FORMAT
    type: Literal["consistency"] = "consistency"
    key: str = Field(description="the log's verifier key, <name>+<key id>+<base64 key>")
    old_checkpoint: str = Field(description="the signed checkpoint note of the older tree")
    checkpoint: str = Field(description="the signed checkpoint note of the newer tree")
    proof: list[HexHash] = Field(description="the RFC 9162 consistency proof, hex")
    witnesses: list[str] = Field(
        default_factory=list,
        description="the keys of the witnesses whose cosignatures the checkpoints carry",
    )


class PendingProof(BaseModel):
    """The answer for an event newer than the latest checkpoint: when to ask again."""

    status: Literal["pending"] = "pending"
    event: int = Field(ge=0, description="the event asked about")
    checkpoint_size: int = Field(ge=0, description="how many events the latest checkpoint covers")
    retry_after: int = Field(ge=1, description="seconds until the next checkpoint is due")
    detail: str

    @classmethod
    def of(cls, found: Pending) -> "PendingProof":
        return cls(
            event=found.event,
            checkpoint_size=found.checkpoint_size,
            retry_after=found.retry_after,
            detail=found.describe(),
        )


ProofBundle = Annotated[InclusionBundle | ConsistencyBundle, Field(discriminator="type")]
_BUNDLE: TypeAdapter[InclusionBundle | ConsistencyBundle] = TypeAdapter(ProofBundle)


@dataclass(frozen=True)
class Verdict:
    statement: str
    origin: str
    tree_size: int
    key: str
    key_pinned: bool  # False when the only key at hand was the one the bundle brought
    disclosed: dict[str, Any] = field(default_factory=dict)  # the opened members, by name
    cosigned_by: list[Cosignature] = field(default_factory=list)  # on the (newer) checkpoint
    witnesses_pinned: bool = False  # False when the witness keys were the bundle's own


def parse_bundle(document: str | bytes) -> InclusionBundle | ConsistencyBundle:
    try:
        return _BUNDLE.validate_json(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'bundle'}: {item['msg']}"
            for item in error.errors()
        )
        raise BundleError(f"not a ledger proof bundle ({problems})") from None


def _witnessed(
    note: str, witnesses: list[CosignerKey], quorum: int, pinned: bool
) -> list[Cosignature]:
    """The cosignatures on ``note`` by ``witnesses``; with pinned witnesses, at least ``quorum``."""
    found = cosignatures(note, witnesses)
    if pinned and len(found) < quorum:
        names = ", ".join(cosigner.name for cosigner in witnesses)
        raise BundleError(
            f"the checkpoint carries {len(found)} cosignature(s) by the witnesses {names}; "
            f"{quorum} are required"
        )
    return found


def verify_bundle(
    bundle: InclusionBundle | ConsistencyBundle,
    trusted: VerifierKey | None = None,
    witnesses: list[CosignerKey] | None = None,
    quorum: int | None = None,
) -> Verdict:
    """Check ``bundle`` against ``trusted`` (else the key it carries); raise BundleError.

    Cosignatures are checked against ``witnesses`` (else the keys the bundle carries): every
    cosignature line by one of them must verify, and with pinned witnesses at least ``quorum``
    (default: all of them) must be on the checkpoint.
    """
    try:
        pinned = witnesses is not None
        cosigners = (
            witnesses
            if witnesses is not None
            else [CosignerKey.parse(text) for text in bundle.witnesses]
        )
        needed = len(cosigners) if quorum is None else quorum
        carried = VerifierKey.parse(bundle.key)
        if trusted is not None and carried != trusted:
            raise BundleError(
                f"the bundle was made for the key {carried.encode()}, "
                f"not the trusted {trusted.encode()}"
            )
        key = trusted or carried
        head = open_checkpoint(bundle.checkpoint, key)
        cosigned = _witnessed(bundle.checkpoint, cosigners, needed, pinned)
        disclosed: dict[str, Any] = {}
        if isinstance(bundle, InclusionBundle):
            statement, disclosed = _verify_inclusion(bundle, head)
        else:
            old = open_checkpoint(bundle.old_checkpoint, key)
            cosignatures(bundle.old_checkpoint, cosigners)
            proof = [bytes.fromhex(element) for element in bundle.proof]
            verify_consistency(old.tree_size, head.tree_size, old.root_hash, head.root_hash, proof)
            statement = (
                f"the tree of size {old.tree_size} is a prefix of the tree of size "
                f"{head.tree_size}: nothing logged before was changed or removed"
            )
    except (CheckpointError, ProofError) as error:
        raise BundleError(str(error)) from None
    return Verdict(
        statement,
        head.origin,
        head.tree_size,
        key.encode(),
        trusted is not None,
        disclosed,
        cosigned,
        pinned,
    )


def open_disclosure(event: EventDisclosure, logged: bytes) -> dict[str, Any]:
    """The members ``event`` opens, once its digests make the ``logged`` leaf."""
    try:
        digests = [bytes.fromhex(digest) for digest in event.digests]
        check_digests(digests)
        members = [read_opening(base64.b64decode(text, validate=True)) for text in event.disclosed]
    except (binascii.Error, EventError) as error:
        raise BundleError(f"the event in the bundle is malformed: {error}") from None
    if leaf_of_digests(digests) != logged:
        raise BundleError(
            "the event's member digests do not make its logged leaf: it was changed after it "
            "was logged"
        )
    opened: dict[str, Any] = {}
    for member in members:
        if member.digest not in digests:
            raise BundleError(
                f"the member {member.name!r} does not open any of the event's digests: it was "
                "changed after it was logged"
            )
        if member.name in opened:
            raise BundleError(f"the member {member.name!r} is opened twice")
        opened[member.name] = member.value
    return opened


def _verify_inclusion(bundle: InclusionBundle, head: Checkpoint) -> tuple[str, dict[str, Any]]:
    logged = bytes.fromhex(bundle.leaf_hash)
    subject = f"event {bundle.leaf_index}"
    opened: dict[str, Any] = {}
    if bundle.event is not None:
        opened = open_disclosure(bundle.event, logged)
        named = opened.get(EVENT_MEMBER)
        if isinstance(named, list) and len(named) == 2:
            subject += f" ({named[0]} {named[1]})"
        total = len(bundle.event.digests)
        subject += (
            ", fully disclosed,"
            if len(opened) == total
            else f", {len(opened)} of its {total} members disclosed,"
        )
    verify_inclusion(
        logged,
        bundle.leaf_index,
        head.tree_size,
        [bytes.fromhex(p) for p in bundle.proof],
        head.root_hash,
    )
    statement = f"{subject} is in the tree of size {head.tree_size} that {head.origin} signed"
    return statement, opened


class NotYetProvable(LookupError):
    """An event logged after the latest checkpoint: it is provable once the next is signed."""

    def __init__(self, found: Pending) -> None:
        super().__init__(found.describe())
        self.pending = found


def _signed(session: Session, size: int | None) -> Checkpoint:
    if size is None:
        found = latest_checkpoint(session)
        if found is None:
            raise NotInLedger("no checkpoint has been signed yet")
        return found
    found = checkpoint_of_size(session, size)
    if found is None:
        latest = latest_checkpoint(session)
        hint = (
            "none is signed yet" if latest is None else f"the latest is of size {latest.tree_size}"
        )
        raise NotInLedger(f"no checkpoint of size {size} was signed ({hint})")
    return found


def _disclosures(
    session: Session, wanted: Mapping[int, Members]
) -> dict[int, EventDisclosure | None]:
    """Each wanted event's commitment opened as asked, from its salt and its content now; None
    where nothing is to be opened, or the salt or content is gone (an erased event)."""
    asked = sorted(index for index, names in wanted.items() if names is None or names)
    found: dict[int, EventDisclosure | None] = dict.fromkeys(wanted)
    rows: list[Row[int, str, str, bytes | None, bytes | None]] = []
    for chunk in chunked(asked):
        rows += session.execute(
            select(
                LedgerLeaf.leaf_index,
                LedgerLeaf.kind,
                LedgerLeaf.ref,
                LedgerLeaf.payload,
                LedgerLeaf.salt,
            ).where(among(session.connection(), LedgerLeaf.leaf_index, chunk))
        ).all()
    payloads: dict[int, bytes | None] = {row.leaf_index: row.payload for row in rows}
    by_source: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        prefix = source_prefix(row.kind)
        if prefix is not None:
            by_source.setdefault(prefix, []).append((row.leaf_index, row.ref))
    for prefix, events in by_source.items():
        rebuilt = source(prefix)(session, [ref for _, ref in events])
        payloads.update({index: rebuilt.get(ref) for index, ref in events})
    for row in rows:
        payload = payloads[row.leaf_index]
        if row.salt is None or payload is None:
            continue
        commitment = commit(row.salt, row.kind, row.ref, payload)
        found[row.leaf_index] = EventDisclosure(
            digests=[digest.hex() for digest in commitment.digests],
            disclosed=[
                base64.b64encode(opening).decode()
                for opening in commitment.disclose(wanted[row.leaf_index])
            ],
        )
    return found


def _bundles(
    session: Session, head: Checkpoint, key: VerifierKey, wanted: Mapping[int, Members]
) -> dict[int, InclusionBundle]:
    """Bundles proving ``wanted`` events (all inside ``head``) with one read of the subtrees."""
    paths = {
        event: [span_subtrees(span) for span in inclusion_spans(event, head.tree_size)]
        for event in wanted
    }
    needed = {(0, event) for event in wanted}
    needed.update(piece for spans in paths.values() for pieces in spans for piece in pieces)
    hashes = subtree_hashes(session, needed)
    events = _disclosures(session, wanted)
    return {
        event: InclusionBundle(
            key=key.encode(),
            checkpoint=head.note,
            leaf_index=event,
            leaf_hash=hashes[(0, event)].hex(),
            event=events[event],
            proof=[fold([hashes[piece] for piece in pieces]).hex() for pieces in spans],
            witnesses=list(head.witnesses),
        )
        for event, spans in paths.items()
    }


def inclusion_bundle(
    session: Session,
    event: int,
    size: int | None,
    key: VerifierKey,
    members: Members = (),
    *,
    interval: float,
) -> InclusionBundle:
    """Prove event ``event`` against the checkpoint of ``size`` (the latest when None), with the
    ``members`` of the event opened (none by default).

    Raises NotYetProvable for an event newer than the latest checkpoint (when no size is asked),
    NotInLedger for an event or size the ledger does not have.
    """
    head = _signed(session, size)
    if event >= head.tree_size:
        found = pending(session, event, interval) if size is None else None
        if found is not None:
            raise NotYetProvable(found)
        raise NotInLedger(f"event {event} is not in the tree of size {head.tree_size}")
    return _bundles(session, head, key, {event: members})[event]


def inclusion_bundles(
    session: Session, key: VerifierKey, wanted: Mapping[int, Members], *, interval: float
) -> dict[int, InclusionBundle | PendingProof]:
    """Bundles for many events against the latest checkpoint, each opened as ``wanted`` says;
    events newer than it get a PendingProof, events the ledger does not have are left out."""
    latest = latest_checkpoint(session)
    covered = 0 if latest is None else latest.tree_size
    proved: dict[int, InclusionBundle | PendingProof] = {}
    if latest is not None:
        proved.update(
            _bundles(session, latest, key, {e: m for e, m in wanted.items() if e < covered})
        )
    for event in wanted:
        if event >= covered and (found := pending(session, event, interval)) is not None:
            proved[event] = PendingProof.of(found)
    return proved


def consistency_bundle(
    session: Session, old_size: int, new_size: int | None, key: VerifierKey
) -> ConsistencyBundle:
    """Prove the checkpoint of ``old_size`` a prefix of that of ``new_size`` (default: latest)."""
    head = _signed(session, new_size)
    if old_size > head.tree_size:
        raise ProofError(f"a tree of size {old_size} cannot precede one of size {head.tree_size}")
    old = _signed(session, old_size)
    proof = consistency_proof(session, old.tree_size, head.tree_size)
    return ConsistencyBundle(
        key=key.encode(),
        old_checkpoint=old.note,
        checkpoint=head.note,
        proof=[element.hex() for element in proof],
        witnesses=sorted(set(old.witnesses) | set(head.witnesses)),
    )
