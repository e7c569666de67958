"""Proof bundles: one JSON document holding all a relying party needs to check a proof offline.

``GET /v1/ledger/proof/inclusion`` and ``/consistency`` serve them; ``xinyong ledger
verify-proof FILE`` checks them with no access to the store. The format is documented in
docs/ledger.md.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.ledger.checkpoint import Checkpoint, CheckpointError, VerifierKey, open_checkpoint
from xinyong.ledger.events import EventError, leaf_data
from xinyong.ledger.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import (
    NotInLedger,
    checkpoint_of_size,
    consistency_proof,
    inclusion_proof,
    latest_checkpoint,
    subtree_hashes,
)
from xinyong.ledger.sources import source, source_prefix

FORMAT: Final = "xinyong-ledger-proof/1"

HexHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class BundleError(ValueError):
    """A bundle that is malformed or does not prove what it claims."""


class BundleEvent(BaseModel):
    """The event as the store holds it now; it must hash to the logged leaf."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    ref: str
    payload: str = Field(description="base64 of the event's canonical bytes")


class InclusionBundle(BaseModel):
    """Proves that a logged event is in the tree a signed checkpoint commits to."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["xinyong-ledger-proof/1"] = FORMAT
    type: Literal["inclusion"] = "inclusion"
    key: str = Field(description="the log's verifier key, <name>+<key id>+<base64 key>")
    checkpoint: str = Field(description="the signed checkpoint note of the tree proved against")
    leaf_index: int = Field(ge=0, description="the event's position in the ledger (its event id)")
    leaf_hash: HexHash = Field(description="the leaf hash logged for the event, hex")
    event: BundleEvent | None = Field(description="the event itself, when the store still has it")
    proof: list[HexHash] = Field(description="the RFC 9162 inclusion path, leaf end first, hex")


class ConsistencyBundle(BaseModel):
    """Proves that an older signed tree is a prefix of a newer one: nothing logged was changed."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["xinyong-ledger-proof/1"] = FORMAT
    type: Literal["consistency"] = "consistency"
    key: str = Field(description="the log's verifier key, <name>+<key id>+<base64 key>")
    old_checkpoint: str = Field(description="the signed checkpoint note of the older tree")
    checkpoint: str = Field(description="the signed checkpoint note of the newer tree")
    proof: list[HexHash] = Field(description="the RFC 9162 consistency proof, hex")


ProofBundle = Annotated[InclusionBundle | ConsistencyBundle, Field(discriminator="type")]
_BUNDLE: TypeAdapter[InclusionBundle | ConsistencyBundle] = TypeAdapter(ProofBundle)


@dataclass(frozen=True)
class Verdict:
    statement: str
    origin: str
    tree_size: int
    key: str
    key_pinned: bool  # False when the only key at hand was the one the bundle brought


def parse_bundle(document: str | bytes) -> InclusionBundle | ConsistencyBundle:
    try:
        return _BUNDLE.validate_json(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'bundle'}: {item['msg']}"
            for item in error.errors()
        )
        raise BundleError(f"not a ledger proof bundle ({problems})") from None


def verify_bundle(
    bundle: InclusionBundle | ConsistencyBundle, trusted: VerifierKey | None = None
) -> Verdict:
    """Check ``bundle`` against ``trusted`` (else the key it carries); raise BundleError."""
    try:
        carried = VerifierKey.parse(bundle.key)
        if trusted is not None and carried != trusted:
            raise BundleError(
                f"the bundle was made for the key {carried.encode()}, "
                f"not the trusted {trusted.encode()}"
            )
        key = trusted or carried
        head = open_checkpoint(bundle.checkpoint, key)
        if isinstance(bundle, InclusionBundle):
            statement = _verify_inclusion(bundle, head)
        else:
            old = open_checkpoint(bundle.old_checkpoint, key)
            proof = [bytes.fromhex(element) for element in bundle.proof]
            verify_consistency(old.tree_size, head.tree_size, old.root_hash, head.root_hash, proof)
            statement = (
                f"the tree of size {old.tree_size} is a prefix of the tree of size "
                f"{head.tree_size}: nothing logged before was changed or removed"
            )
    except (CheckpointError, ProofError) as error:
        raise BundleError(str(error)) from None
    return Verdict(statement, head.origin, head.tree_size, key.encode(), trusted is not None)


def _verify_inclusion(bundle: InclusionBundle, head: Checkpoint) -> str:
    logged = bytes.fromhex(bundle.leaf_hash)
    subject = f"event {bundle.leaf_index}"
    if bundle.event is not None:
        event = bundle.event
        try:
            content = leaf_hash(
                leaf_data(event.kind, event.ref, base64.b64decode(event.payload, validate=True))
            )
        except (binascii.Error, EventError) as error:
            raise BundleError(f"the event in the bundle is malformed: {error}") from None
        if content != logged:
            raise BundleError(
                f"{subject} ({event.kind} {event.ref}) does not hash to its logged leaf: "
                "it was changed after it was logged"
            )
        subject += f" ({event.kind} {event.ref})"
    verify_inclusion(
        logged,
        bundle.leaf_index,
        head.tree_size,
        [bytes.fromhex(p) for p in bundle.proof],
        head.root_hash,
    )
    return f"{subject} is in the tree of size {head.tree_size} that {head.origin} signed"


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


def current_event(session: Session, index: int) -> BundleEvent | None:
    """Leaf ``index``'s event as the store holds it now: from its source, or as logged."""
    row = session.execute(
        select(LedgerLeaf.kind, LedgerLeaf.ref, LedgerLeaf.payload).where(
            LedgerLeaf.leaf_index == index
        )
    ).one_or_none()
    if row is None:
        return None
    kind, ref, payload = row
    prefix = source_prefix(kind)
    if prefix is not None:
        payload = source(prefix)(session, [ref]).get(ref)
    if payload is None:
        return None
    return BundleEvent(kind=kind, ref=ref, payload=base64.b64encode(payload).decode())


def inclusion_bundle(
    session: Session, event: int, size: int | None, key: VerifierKey
) -> InclusionBundle:
    """Prove event ``event`` against the checkpoint of ``size`` (the latest when None)."""
    head = _signed(session, size)
    if event >= head.tree_size:
        raise NotInLedger(f"event {event} is not in the tree of size {head.tree_size}")
    proof = inclusion_proof(session, event, head.tree_size)
    logged = subtree_hashes(session, [(0, event)])[(0, event)]
    return InclusionBundle(
        key=key.encode(),
        checkpoint=head.note,
        leaf_index=event,
        leaf_hash=logged.hex(),
        event=current_event(session, event),
        proof=[element.hex() for element in proof],
    )


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
    )
