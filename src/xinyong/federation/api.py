"""``/v1/federation``: where this node's neighbours deliver batches and get checkpoints cosigned.

``POST /v1/federation/batches`` takes a neighbour's signed batch, with the node key this node
issued to it. ``POST /v1/federation/witness/add-checkpoint`` is a C2SP tlog-witness endpoint:
as the protocol says, the checkpoint's signature is its only credential, and only the logs of
this node's neighbours are witnessed.
"""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.config import Settings
from xinyong.federation.batches import FIRST
from xinyong.federation.inbox import Inbox, Refused
from xinyong.federation.links import link_named, links
from xinyong.federation.models import LinkState
from xinyong.keys.deps import require_role
from xinyong.keys.service import Caller
from xinyong.ledger.checkpoint import CheckpointError, SigningKey, read_signing_key
from xinyong.ledger.witness import (
    MAX_REQUEST_BYTES,
    SIZE_TYPE,
    WitnessRefusal,
    add_checkpoint,
    parse_request,
)
from xinyong.policy import Pack
from xinyong.web.deps import get_pack, get_sessionmaker

router = APIRouter(prefix="/v1/federation", tags=["federation"])
MAX_BATCH_BYTES = 64 * 1024 * 1024


class BatchOutcome(BaseModel):
    number: int = Field(description="the batch applied")
    items: int
    stored: int = Field(description="records stored: new versions and withdrawals")
    duplicates: int
    rejected: int = Field(description="items refused (records into the quarantine)")
    marked: int = Field(description="marks that changed a record: disputed, resolved, repaired")
    unchanged: int = Field(description="marks that changed nothing (already so, or not here)")
    refusals: list[dict[str, Any]] = Field(description="each refused item: item, field, reason")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not settings.node_name:
        raise HTTPException(404, "this platform is not a node of a network")
    return settings


def _signing_key(settings: Settings) -> SigningKey:
    path: Path = settings.ledger_key_path
    try:
        return read_signing_key(path)
    except (OSError, CheckpointError):
        raise HTTPException(503, "this node's ledger has no signing key") from None


@router.post(
    "/batches",
    response_model=BatchOutcome,
    summary="Deliver a neighbour's batch",
    max_body_size=MAX_BATCH_BYTES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["note", "items"],
                        "properties": {
                            "note": {"type": "string", "description": "the signed header"},
                            "items": {"type": "string", "description": "JSON Lines"},
                        },
                    }
                }
            },
        }
    },
    responses={
        401: {"description": "no valid key"},
        403: {"description": "not a node key, not a neighbour, or a forged batch"},
        409: {"description": "replayed, out of order, or not chained to the last batch"},
        422: {"description": "not a batch for this node"},
    },
)
async def deliver(
    request: Request,
    caller: Annotated[Caller, Depends(require_role("node"))],
    factory: Annotated[sessionmaker[Session], Depends(get_sessionmaker)],
    pack: Annotated[Pack, Depends(get_pack)],
) -> BatchOutcome | JSONResponse:
    """Apply a batch of record events from a neighbour, once, in order (docs/federation.md)."""
    settings = _settings(request)
    body = await request.body()
    inbox = Inbox(factory, pack, settings)
    try:
        outcome = await run_in_threadpool(inbox.receive, caller.label, body, utc_now())
    except Refused as refused:
        return JSONResponse(
            {
                "detail": refused.detail,
                "expected": refused.expected,
                "last_digest": refused.last_digest,
                "applied": refused.applied,
            },
            status_code=refused.status,
        )
    return BatchOutcome(**outcome.__dict__)


class NextBatch(BaseModel):
    expected: int = Field(description="the number of the batch this node applies next")
    last_digest: str = Field(description="the digest of the last batch applied (64 zeros)")


@router.get(
    "/batches/next",
    response_model=NextBatch,
    summary="The batch expected next from the caller",
    responses={
        401: {"description": "no valid key"},
        403: {"description": "not a node key, or not a neighbour"},
    },
)
def next_batch(
    request: Request,
    caller: Annotated[Caller, Depends(require_role("node"))],
    factory: Annotated[sessionmaker[Session], Depends(get_sessionmaker)],
) -> NextBatch:
    """Which batch this node expects from the calling neighbour, and the digest of the last it
    applied: a sender asks before it builds a batch, so that a link converges after either side
    was restored from a backup (docs/federation.md)."""
    settings = _settings(request)
    if link_named(settings, caller.label) is None:
        raise HTTPException(403, f"{caller.label} is not a neighbour of {settings.node_name}")
    with factory() as session:
        state = session.get(LinkState, caller.label)
    if state is None:
        return NextBatch(expected=1, last_digest=FIRST)
    return NextBatch(expected=state.received_number + 1, last_digest=state.received_digest or FIRST)


def _witness(request: Request, body: bytes) -> Response:
    settings = _settings(request)
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    logs = {link.verifier.name: link.verifier for link in links(settings)}
    refused: WitnessRefusal | None = None
    try:
        parsed = parse_request(body)
    except WitnessRefusal as refusal:
        refused = refusal
    else:
        key = _signing_key(settings)
        with factory.begin() as session:
            try:
                line = add_checkpoint(session, parsed, logs, key, utc_now())
            except WitnessRefusal as refusal:
                # Nothing was cosigned; the transaction still commits an alarm raised on the way.
                refused = refusal
    if refused is None:
        return PlainTextResponse(line)
    if refused.size is not None:
        return PlainTextResponse(f"{refused.size}\n", status_code=409, media_type=SIZE_TYPE)
    return PlainTextResponse(refused.detail + "\n", status_code=refused.status)


@router.post(
    "/witness/add-checkpoint",
    summary="Cosign a neighbour's checkpoint (C2SP tlog-witness)",
    max_body_size=MAX_REQUEST_BYTES,
    response_class=PlainTextResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
    responses={
        200: {"description": "the cosignature line", "content": {"text/plain": {}}},
        400: {"description": "a malformed request"},
        403: {"description": "the checkpoint is not signed by the log's key"},
        404: {"description": "a log this node does not witness"},
        409: {
            "description": "old is not the size cosigned here (the body says which), or a "
            "checkpoint of that size with another root",
            "content": {SIZE_TYPE: {}},
        },
        422: {"description": "the consistency proof does not hold"},
    },
)
async def witness(request: Request) -> Response:
    """Cosign a neighbour's checkpoint if it extends the last one cosigned here."""
    body = await request.body()
    return await run_in_threadpool(_witness, request, body)
