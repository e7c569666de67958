"""``/v1/ledger``: the public key, the latest checkpoint, and proof bundles, for anyone.

These routes answer with hashes and signatures only: an inclusion proof shows that a leaf is in
a signed tree, never what the leaf commits to. An event's content is opened only by the routes
of those who may see it (the subject's own file, staff reads, public records on the portal).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ledger.bundle import (
    ConsistencyBundle,
    InclusionBundle,
    NotYetProvable,
    PendingProof,
    consistency_bundle,
    inclusion_bundle,
)
from xinyong.ledger.checkpoint import (
    CheckpointError,
    RetiredKey,
    VerifierKey,
    read_retired_keys,
    read_signing_key,
)
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


def retired_keys(request: Request) -> list[RetiredKey]:
    try:
        return read_retired_keys(request.app.state.settings.ledger_key_path)
    except (OSError, CheckpointError):
        raise HTTPException(503, "the ledger's list of retired keys cannot be read") from None


SessionDep = Annotated[Session, Depends(ledger_session)]
KeyDep = Annotated[VerifierKey, Depends(ledger_key)]
RetiredDep = Annotated[list[RetiredKey], Depends(retired_keys)]


class RetiredPublicKey(BaseModel):
    key: str = Field(description="a verifier key the current one replaced, in signed-note form")
    key_id: str = Field(description="its 4-byte key id, hex")
    last_size: int = Field(
        description="the ledger's size when the key was retired: it vouches for checkpoints of "
        "at most this many events, and for none later"
    )


class PublicKey(BaseModel):
    origin: str = Field(description="the log's name, the first line of every checkpoint")
    key: str = Field(
        description="the verifier key in signed-note form: <name>+<key id>+<base64(0x01 || key)>"
    )
    key_id: str = Field(description="the 4-byte key id, hex")
    algorithm: str = "Ed25519"
    retired: list[RetiredPublicKey] = Field(
        default_factory=list,
        description="the keys that signed the ledger's earlier checkpoints, oldest first",
    )


class SignedCheckpoint(BaseModel):
    origin: str
    tree_size: int
    root_hash: str = Field(description="hex")
    note: str = Field(
        description="the checkpoint as signed (C2SP tlog-checkpoint in a signed note)"
    )


PENDING_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {
        "model": PendingProof,
        "description": "the event is logged but newer than the latest checkpoint: it becomes "
        "provable when the next checkpoint is signed (every minute while the service runs); "
        "ask again after Retry-After seconds",
        "headers": {
            "Retry-After": {
                "description": "seconds until the next checkpoint is due",
                "schema": {"type": "integer"},
            }
        },
    },
    404: {"description": "no such event in the ledger, or no checkpoint of that size"},
}


def pending_answer(error: NotYetProvable) -> JSONResponse:
    """202 with Retry-After: the answer for an event the next checkpoint will cover."""
    answer = PendingProof.of(error.pending)
    return JSONResponse(
        answer.model_dump(),
        status_code=202,
        headers={"Retry-After": str(answer.retry_after)},
    )


def refuse(error: Exception) -> HTTPException:
    if isinstance(error, NotInLedger):
        return HTTPException(404, str(error))
    if isinstance(error, ProofError):
        return HTTPException(422, str(error))
    return HTTPException(503, str(error))


@router.get("/key", response_model=PublicKey)
def public_key(key: KeyDep, retired: RetiredDep) -> PublicKey:
    """The key checkpoints are signed with: pin it, then check checkpoints offline; and the keys
    it replaced, each with the size up to which it vouches."""
    return PublicKey(
        origin=key.name,
        key=key.encode(),
        key_id=key.key_id.hex(),
        retired=[
            RetiredPublicKey(
                key=item.key.encode(), key_id=item.key.key_id.hex(), last_size=item.last_size
            )
            for item in retired
        ],
    )


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


@router.get(
    "/proof/inclusion",
    response_model=InclusionBundle,
    responses=PENDING_RESPONSE,
)
def prove_inclusion(
    request: Request,
    session: SessionDep,
    key: KeyDep,
    event: Annotated[int, Query(ge=0, le=MAX_POSITION, description="the event's leaf index")],
    size: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="a signed tree size; default: the latest"),
    ] = None,
) -> InclusionBundle | JSONResponse:
    """A bundle proving ``event``'s leaf is in the signed tree of ``size`` (see `ledger
    verify-proof`). The leaf is a salted commitment: the bundle says nothing of the event."""
    try:
        return inclusion_bundle(
            session, event, size, key, interval=request.app.state.settings.checkpoint_interval
        )
    except NotYetProvable as error:
        return pending_answer(error)
    except (NotInLedger, ProofError, LedgerDamaged) as error:
        raise refuse(error) from None


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
        raise refuse(error) from None
