"""``/v1/ledger``: the public key, the latest checkpoint, and proof bundles, for anyone."""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ledger.bundle import (
    ConsistencyBundle,
    InclusionBundle,
    consistency_bundle,
    inclusion_bundle,
)
from xinyong.ledger.checkpoint import CheckpointError, VerifierKey, read_signing_key
from xinyong.ledger.merkle import ProofError
from xinyong.ledger.service import LedgerDamaged, NotInLedger, latest_checkpoint

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

# Sizes and positions beyond this are not trees anyone has; the bound keeps them off the database.
MAX_POSITION = 2**62


def ledger_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session:
        yield session


def ledger_key(request: Request) -> VerifierKey:
    path: Path = request.app.state.settings.ledger_key_path
    try:
        return read_signing_key(path).verifier
    except FileNotFoundError:
        raise HTTPException(
            503, "the ledger has no signing key yet; the operator must run `xinyong ledger keygen`"
        ) from None
    except (OSError, CheckpointError):
        # The reason names server paths; the operator finds it with `xinyong ledger checkpoint`.
        raise HTTPException(503, "the ledger's signing key cannot be read") from None


SessionDep = Annotated[Session, Depends(ledger_session)]
KeyDep = Annotated[VerifierKey, Depends(ledger_key)]


class PublicKey(BaseModel):
    origin: str = Field(description="the log's name, the first line of every checkpoint")
    key: str = Field(
        description="the verifier key in signed-note form: <name>+<key id>+<base64(0x01 || key)>"
    )
    key_id: str = Field(description="the 4-byte key id, hex")
    algorithm: str = "Ed25519"


class SignedCheckpoint(BaseModel):
    origin: str
    tree_size: int
    root_hash: str = Field(description="hex")
    note: str = Field(
        description="the checkpoint as signed (C2SP tlog-checkpoint in a signed note)"
    )


def _refuse(error: Exception) -> HTTPException:
    if isinstance(error, NotInLedger):
        return HTTPException(404, str(error))
    if isinstance(error, ProofError):
        return HTTPException(422, str(error))
    return HTTPException(503, str(error))


@router.get("/key", response_model=PublicKey)
def public_key(key: KeyDep) -> PublicKey:
    """The key every checkpoint is signed with: pin it, then check checkpoints offline."""
    return PublicKey(origin=key.name, key=key.encode(), key_id=key.key_id.hex())


@router.get("/checkpoint", response_model=SignedCheckpoint)
def current_checkpoint(session: SessionDep) -> SignedCheckpoint:
    """The latest signed checkpoint: the size and root of the ledger's tree."""
    found = latest_checkpoint(session)
    if found is None:
        raise HTTPException(404, "no checkpoint has been signed yet")
    return SignedCheckpoint(
        origin=found.origin,
        tree_size=found.tree_size,
        root_hash=found.root_hash.hex(),
        note=found.note,
    )


@router.get("/proof/inclusion", response_model=InclusionBundle)
def prove_inclusion(
    session: SessionDep,
    key: KeyDep,
    event: Annotated[int, Query(ge=0, le=MAX_POSITION, description="the event's leaf index")],
    size: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="a signed tree size; default: the latest"),
    ] = None,
) -> InclusionBundle:
    """A bundle proving ``event`` is in the signed tree of ``size`` (see `ledger verify-proof`)."""
    try:
        return inclusion_bundle(session, event, size, key)
    except (NotInLedger, ProofError, LedgerDamaged) as error:
        raise _refuse(error) from None


@router.get("/proof/consistency", response_model=ConsistencyBundle)
def prove_consistency(
    session: SessionDep,
    key: KeyDep,
    old_size: Annotated[
        int, Query(alias="from", ge=0, le=MAX_POSITION, description="the older signed tree size")
    ],
    new_size: Annotated[
        int | None,
        Query(
            alias="to",
            ge=0,
            le=MAX_POSITION,
            description="the newer signed tree size; default: the latest",
        ),
    ] = None,
) -> ConsistencyBundle:
    """A bundle proving the signed tree of size ``from`` a prefix of that of size ``to``."""
    try:
        return consistency_bundle(session, old_size, new_size, key)
    except (NotInLedger, ProofError, LedgerDamaged) as error:
        raise _refuse(error) from None
