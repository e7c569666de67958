"""``POST /v1/checks`` and ``POST /v1/checks/batch``: decisions for relying parties.

The hot path avoids per-request queries: the measures index is an in-memory snapshot per
process (``FreshIndex``), API keys are remembered for ``KEY_CACHE_SECONDS`` after a
successful look-up (a revoked key stops working within that time), and the check log is
written in batches (``CheckLog``). Responses are serialised once with orjson.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from xinyong.api.deps import admit, bearer_token, get_pack, get_sessionmaker
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.index import FreshIndex
from xinyong.enforcement.refresh import today_in_china
from xinyong.identifiers.normalise import normalise
from xinyong.policy import Pack

# The router documents the routes (OpenAPI); CheckFastPath serves them.
router = APIRouter(prefix="/v1/checks", tags=["checks"])

ROLE = "relying_party"
KEY_CACHE_SECONDS = 30.0
POLL_SECONDS = 1.0
"""How stale a process's snapshot of the index may get before it catches up with the store."""
BATCH_LIMIT = 10_000
_SHAPE = re.compile(r"^[0-9A-Z]{18}$")
_Body = TypeVar("_Body", bound=BaseModel)

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
SubjectId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ActionCode = Annotated[str, StringConstraints(min_length=1, max_length=80)]


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


def _state(request: Request) -> tuple[FreshIndex, CheckLog, _KeyCache]:
    """The process's index snapshot, check log and key cache, made on first use."""
    state = request.app.state
    if not hasattr(state, "checks"):
        factory = get_sessionmaker(request)
        log = CheckLog(factory)
        log.start()
        state.checks = (FreshIndex(get_pack(request), factory, POLL_SECONDS), log, _KeyCache())
    checks: tuple[FreshIndex, CheckLog, _KeyCache] = state.checks
    return checks


def _subject(raw: str, where: str) -> str:
    identifier = normalise(raw)
    if not _SHAPE.fullmatch(identifier):
        raise HTTPException(
            422,
            f"{where}: not an 18-character resident identity number or unified social credit "
            f"code: {raw!r}",
        )
    return identifier


def _action(pack: Pack, action: str, where: str) -> str:
    if action not in pack.actions:
        raise HTTPException(
            422, f"{where}: unknown action {action!r}; see the pack's actions.yaml for the list"
        )
    return action


async def _read(request: Request, model: type[_Body]) -> tuple[Asker, _Body]:
    """The caller (API key first, so a stranger learns nothing from validation) and the body."""
    keys = _state(request)[2]
    asker = keys.asker(get_sessionmaker(request), request.headers.get("authorization"))
    try:
        return asker, model.model_validate_json(await request.body())
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors(include_url=False)
        ]
        raise HTTPException(422, "; ".join(problems)) from None


def _decisions(
    request: Request, asker: Asker, purpose: str, items: Sequence[tuple[str, str]]
) -> list[Decision]:
    fresh, log, _ = _state(request)
    index = fresh.current()
    as_of = today_in_china()
    decisions = [index.decide(subject, action, as_of) for subject, action in items]
    log.add_all(decisions, asker, purpose)
    return decisions


def _json(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


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
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inlined(model)}},
        }
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
    asker, payload = await _read(request, CheckRequest)
    pack = get_pack(request)
    item = (_subject(payload.subject_id, "subject_id"), _action(pack, payload.action, "action"))
    (decision,) = _decisions(request, asker, payload.purpose, [item])
    return _json(decision.as_dict())


@router.post(
    "/batch",
    response_model=BatchOut,
    responses=_ERRORS,
    openapi_extra=_body(BatchRequest),
    summary="Up to 10,000 checks in one request",
)
async def check_batch(request: Request) -> Response:
    asker, payload = await _read(request, BatchRequest)
    pack = get_pack(request)
    items = [
        (
            _subject(item.subject_id, f"items[{position}].subject_id"),
            _action(pack, item.action, f"items[{position}].action"),
        )
        for position, item in enumerate(payload.items)
    ]
    decisions = _decisions(request, asker, payload.purpose, items)
    return _json({"decisions": [decision.as_dict() for decision in decisions]})


class CheckFastPath:
    """Serves the check routes ahead of the framework's router and middleware.

    Relying parties call these routes at ticket-counter rates; the general request machinery
    (routing over every route, exception and exit-stack middleware) costs several times the
    check itself. The endpoints are the same functions the router documents, so the OpenAPI
    contract and the answers are identical; errors become the same JSON ``detail`` bodies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes: dict[str, Callable[[Request], Coroutine[Any, Any, Response]]] = {
            "/v1/checks": check,
            "/v1/checks/batch": check_batch,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if endpoint is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            response = await endpoint(Request(scope, receive))
        except HTTPException as error:
            response = JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        await response(scope, receive, send)
