"""``POST /v1/checks`` and ``POST /v1/checks/batch``: decisions for relying parties.

The hot path avoids per-request queries: the measures index is an in-memory snapshot per
process (``FreshIndex``), API keys are remembered for ``KEY_CACHE_SECONDS`` after a
successful look-up (a revoked key stops working within that time), and the check log is
written in batches (``CheckLog``). Responses are serialised once with orjson.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from xinyong.api.deps import admit, bearer_token
from xinyong.api.types import Code, Line, SubjectRef
from xinyong.clock import china_today
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.index import FreshIndex
from xinyong.identifiers.normalise import normalise
from xinyong.policy import Pack

# The router documents the routes (OpenAPI); CheckFastPath serves them.
router = APIRouter(prefix="/v1/checks", tags=["checks"])

ROLE = "relying_party"
KEY_CACHE_SECONDS = 30.0
POLL_SECONDS = 1.0
"""How stale a process's snapshot of the index may get before it catches up with the store."""
BATCH_LIMIT = 10_000
MAX_BODY_BYTES = 8 * 2**20
"""Far above a full batch (about 100 bytes an item); a bigger body is refused unread."""
JSON = "application/json"
LOG = logging.getLogger(__name__)
_SHAPE = re.compile(r"^[0-9A-Z]{18}$")
_Body = TypeVar("_Body", bound=BaseModel)

Purpose = Annotated[Line, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
SubjectId = SubjectRef
ActionCode = Annotated[Code, StringConstraints(max_length=80)]


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: SubjectId
    """Resident identity number or unified social credit code (separators and case ignored)."""
    action: ActionCode
    """An action code of the policy pack, e.g. ``buy_air_ticket``."""
    purpose: Purpose
    """Why the relying party asks; logged, and shown to the subject."""


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: SubjectId
    action: ActionCode


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    """Why the relying party asks, for every item; logged, and shown to each subject."""
    items: list[BatchItem] = Field(min_length=1, max_length=BATCH_LIMIT)


class Text(BaseModel):
    zh: str
    en: str


class Basis(BaseModel):
    title: str
    article: str | None = None
    url: str | None = None


class MeasureOut(BaseModel):
    code: str
    kind: str
    name: Text
    category: str
    legal_basis: list[Basis]
    implemented_by: Text
    effect: str
    list: str
    entry_id: int
    via: str | None
    """The organisation whose entry binds the subject as its legal representative."""


class EntryOut(BaseModel):
    id: int
    list: str
    name: Text
    kind: str
    started_on: date
    ends_on: date
    """Exclusive: the entry no longer holds on this day."""
    via: str | None


class DecisionOut(BaseModel):
    decision_id: str
    subject_id: str
    known: bool
    """False when the platform has no record of the subject (the answer is then ``allow``)."""
    action: str
    as_of: date
    effect: str
    """``deny``, ``review`` or ``allow``."""
    benefits: list[str]
    """Reward effects (``expedite``, ``waive_deposit``, ``reduce_inspection``) that apply."""
    measures: list[MeasureOut]
    entries: list[EntryOut]
    policy_version: str
    valid_until: date
    """Re-check on or after this day: the decision holds for the day at most."""


class BatchOut(BaseModel):
    decisions: list[DecisionOut]


class _KeyCache:
    def __init__(self) -> None:
        self._known: dict[str, tuple[float, Asker]] = {}

    def asker(self, factory: sessionmaker[Session], authorization: str | None) -> Asker:
        token = bearer_token(authorization)
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._known.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        with factory() as session:
            caller = admit(session, token, (ROLE,))
        asker = Asker(caller.key_id, caller.label)
        self._known[digest] = (now + KEY_CACHE_SECONDS, asker)
        return asker


class Checks:
    """A process's index snapshot, check log and key cache, and the answers made from them."""

    def __init__(self, pack: Pack, factory: sessionmaker[Session]) -> None:
        self.pack = pack
        self.factory = factory
        self.fresh = FreshIndex(pack, factory, POLL_SECONDS)
        self.log = CheckLog(factory)
        self.log.start()
        self.keys = _KeyCache()

    def _read(
        self, authorization: str | None, body: bytes, model: type[_Body]
    ) -> tuple[Asker, _Body]:
        """The caller (API key first, so a stranger learns nothing from validation) and the body."""
        asker = self.keys.asker(self.factory, authorization)
        try:
            return asker, model.model_validate_json(body)
        except ValidationError as error:
            problems = [
                f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
                for item in error.errors(include_url=False)
            ]
            raise HTTPException(422, "; ".join(problems)) from None

    def _decide(
        self, asker: Asker, purpose: str, items: Sequence[tuple[str, str]]
    ) -> list[Decision]:
        index = self.fresh.current()
        as_of = china_today()
        decisions = index.decide_all(items, as_of)
        self.log.add_all(decisions, asker, purpose)
        return decisions

    def check(self, authorization: str | None, body: bytes) -> bytes:
        """The JSON answer to one ``CheckRequest``."""
        asker, payload = self._read(authorization, body, CheckRequest)
        subject = _subject(payload.subject_id)
        if subject is None:
            raise _bad_subject(payload.subject_id, "subject_id")
        if payload.action not in self.pack.actions:
            raise _bad_action(payload.action, "action")
        (decision,) = self._decide(asker, payload.purpose, [(subject, payload.action)])
        return orjson.dumps(decision)

    def check_batch(self, authorization: str | None, body: bytes) -> bytes:
        """The JSON answer to one ``BatchRequest``."""
        asker, payload = self._read(authorization, body, BatchRequest)
        actions = self.pack.actions
        items: list[tuple[str, str]] = []
        for position, item in enumerate(payload.items):
            subject = _subject(item.subject_id)
            if subject is None:
                raise _bad_subject(item.subject_id, f"items[{position}].subject_id")
            if item.action not in actions:
                raise _bad_action(item.action, f"items[{position}].action")
            items.append((subject, item.action))
        return orjson.dumps({"decisions": self._decide(asker, payload.purpose, items)})


def checks_of(app: Any) -> Checks:
    """The application's ``Checks``, made on first use (each worker process has its own)."""
    state = app.state
    checks: Checks | None = getattr(state, "checks", None)
    if checks is None:
        checks = state.checks = Checks(state.pack, state.sessionmaker)
    return checks


def _subject(raw: str) -> str | None:
    """The normal form of ``raw``, or None if it cannot be an identifier."""
    # Most callers send the normal form already: then normalising would change nothing.
    if _SHAPE.fullmatch(raw):
        return raw
    identifier = normalise(raw)
    return identifier if _SHAPE.fullmatch(identifier) else None


def _bad_subject(raw: str, where: str) -> HTTPException:
    return HTTPException(
        422,
        f"{where}: not an 18-character resident identity number or unified social credit "
        f"code: {raw!r}",
    )


def _bad_action(action: str, where: str) -> HTTPException:
    return HTTPException(
        422, f"{where}: unknown action {action!r}; see the pack's actions.yaml for the list"
    )


def _inlined(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its ``$defs`` written in place, for an OpenAPI request body."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "security": [{"bearer": []}],  # the key is read by hand, not through a dependency
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inlined(model)}},
        },
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no API key, or an unknown or revoked one"},
    403: {"description": "the key is not a relying party's"},
    422: {"description": "bad input; `detail` says where and why"},
}

# The body is read and validated by hand (pydantic's JSON parser, in one step) rather than by
# FastAPI's parameter machinery, which costs more than the check; the OpenAPI document still
# describes both bodies in full.


@router.post(
    "",
    response_model=DecisionOut,
    responses=_ERRORS,
    openapi_extra=_body(CheckRequest),
    summary="May this subject do this action today?",
)
async def check(request: Request) -> Response:
    answer = checks_of(request.app).check(
        request.headers.get("authorization"), await request.body()
    )
    return Response(answer, media_type=JSON)


@router.post(
    "/batch",
    response_model=BatchOut,
    responses=_ERRORS,
    openapi_extra=_body(BatchRequest),
    summary="Up to 10,000 checks in one request",
)
async def check_batch(request: Request) -> Response:
    answer = checks_of(request.app).check_batch(
        request.headers.get("authorization"), await request.body()
    )
    return Response(answer, media_type=JSON)


class _Disconnected(Exception):
    """The client went away before sending its whole request."""


async def _request_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(
                413,
                f"the body is over {MAX_BODY_BYTES:,} bytes; send at most "
                f"{BATCH_LIMIT:,} items per batch",
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> None:
    raw_headers = [
        (b"content-type", JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class CheckFastPath:
    """Serves the check routes ahead of the framework's router and middleware.

    Relying parties call these routes at ticket-counter rates; the general request machinery
    (request and response objects, routing over every route, the error, telemetry and body
    middleware) costs more than the check itself. The answers come from the same ``Checks``
    methods the documented endpoints call, so the OpenAPI contract and the answers are
    identical; errors become the same JSON ``detail`` bodies, an unexpected one a logged 500.
    """

    def __init__(self, app: ASGIApp, owner: Any) -> None:
        self.app = app
        self.owner = owner
        self.routes: dict[str, Callable[[Checks, str | None, bytes], bytes]] = {
            "/v1/checks": Checks.check,
            "/v1/checks/batch": Checks.check_batch,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
        try:
            body = answer(checks_of(self.owner), authorization, await _request_body(receive))
        except _Disconnected:
            return
        except HTTPException as error:
            detail = orjson.dumps({"detail": error.detail})
            await _respond(send, error.status_code, detail, error.headers)
            return
        except Exception:
            LOG.exception("check failed")
            await _respond(send, 500, orjson.dumps({"detail": "internal error; see the log"}))
            return
        await _respond(send, 200, body)
