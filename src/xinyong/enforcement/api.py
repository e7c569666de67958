"""``POST /v1/checks`` and ``POST /v1/checks/batch``: decisions for relying parties.

The hot path reads no table per request: the measures index is an in-memory snapshot per
process (``FreshIndex``) and so are the API keys (``KeyRing``), each caught up with the store
at most every ``POLL_SECONDS``, through a small connection pool of its own, so that no other
route's load (a flood of sign-ins, a long report) can make a check wait for a connection.
A request's rows go into the worker's check journal before it is answered, and from there
into the store a few times a second (``CheckLog.write``). Responses are serialised once with
orjson.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong.clock import china_today
from xinyong.enforcement.checklog import Asker, CheckLog, CheckLogFailed
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.index import FreshIndex
from xinyong.enforcement.subjects import UndecidableSubject, decidable
from xinyong.keys.deps import admitted, bearer_token
from xinyong.keys.service import KeyRing
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.web.types import Line

# The router documents the routes (OpenAPI); CheckFastPath serves them.
router = APIRouter(prefix="/v1/checks", tags=["checks"])

ROLE = "relying_party"
POLL_SECONDS = 0.5
"""How stale a process's snapshots of the index and of the keys may get: a revoked key stops
working on every worker within this time (plus one query)."""
BATCH_LIMIT = 10_000
MAX_BODY_BYTES = 8 * 2**20
"""Far above a full batch (about 100 bytes an item); a bigger body is refused unread."""
JSON = "application/json"
_CONTENT_TYPE = (b"content-type", JSON.encode())
CHECK_ROUTES = ("/v1/checks", "/v1/checks/batch")
"""The paths ``CheckFastPath`` serves ahead of the router."""
LOG = logging.getLogger(__name__)
_Body = TypeVar("_Body", bound=BaseModel)

Purpose = Annotated[Line, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
# Identifiers and actions are checked by the service, so that in a batch a bad one is
# answered in its place; the bounds only keep the work per item small.
SubjectId = Annotated[str, StringConstraints(max_length=200)]
ActionCode = Annotated[str, StringConstraints(max_length=200)]


class CheckRequest(BaseModel):
    """One check: may this subject do this action today?"""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        json_schema_extra={
            "examples": [
                {
                    "subject_id": "110105198001010016",
                    "action": "buy_air_ticket",
                    "purpose": "ticket sale, flight CA1234",
                }
            ]
        },
    )

    subject_id: SubjectId
    """Resident identity number or unified social credit code (separators and case ignored);
    one that fails its check character is refused, unless the platform holds exactly that
    code (registries have issued a few such codes)."""
    action: ActionCode
    """An action code of the policy in force, e.g. ``buy_air_ticket``: ``GET /v1/actions``
    lists them, with the measures that can apply to each."""
    purpose: Purpose
    """Why the relying party asks; logged, and shown to the subject. Plain text: no control
    characters."""


class BatchItem(BaseModel):
    """One subject and action of a batch."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    subject_id: SubjectId
    """Resident identity number or unified social credit code, as in a single check."""
    action: ActionCode
    """An action code of the policy in force (``GET /v1/actions``)."""


class BatchRequest(BaseModel):
    """Up to 10,000 checks for one purpose, answered item by item."""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        json_schema_extra={
            "examples": [
                {
                    "purpose": "passenger list, flight CA1234",
                    "items": [
                        {"subject_id": "110105198001010016", "action": "buy_air_ticket"},
                        {"subject_id": "91110105MA01ABCD26", "action": "buy_air_ticket"},
                    ],
                }
            ]
        },
    )

    purpose: Purpose
    """Why the relying party asks, for every item; logged, and shown to each subject."""
    items: list[BatchItem] = Field(min_length=1, max_length=BATCH_LIMIT)
    """The subjects and actions to decide, at most 10,000."""


class Text(BaseModel):
    """A name in Chinese and English."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    zh: str
    """In Chinese (zh-CN)."""
    en: str
    """In English."""


class Basis(BaseModel):
    """A law or policy document a measure rests on."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    title: str
    """The document's full title."""
    article: str | None = None
    """The article relied on, when the basis names one."""
    url: str | None = None
    """Where the public can read the text."""


class MeasureOut(BaseModel):
    """A measure that applies to the subject for the action asked."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    code: str
    """The measure's code (``GET /v1/actions`` lists each action's measures)."""
    kind: str
    """``punishment`` or ``reward``."""
    name: Text
    """What the measure is."""
    category: str
    """The group of measures, as the memoranda group them."""
    legal_basis: list[Basis]
    """The law or policy that allows the measure."""
    implemented_by: Text
    """Who applies the measure."""
    effect: str
    """Its effect on the action: ``deny``, ``review``, or a reward's benefit."""
    list: str
    """The code of the list whose entry brings the measure."""
    entry_id: int
    """That entry (``entries[].id``)."""
    via: str | None
    """The organisation whose entry binds the subject as its legal representative."""


class EntryOut(BaseModel):
    """A list entry that binds the subject today."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: int
    """The entry's number."""
    list: str
    """The list's code."""
    name: Text
    """The list's name."""
    kind: str
    """``black``, ``red`` or ``watch``."""
    started_on: date
    """The first day the entry holds (a day in China)."""
    ends_on: date
    """Exclusive: the entry no longer holds on this day."""
    via: str | None
    """The organisation whose entry binds the subject as its legal representative."""


class DecisionOut(BaseModel):
    """The answer to one check."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    decision_id: str
    """Names this decision in the check log; quote it to the subject and in an objection."""
    subject_id: str
    """The subject's identifier, normalised (no separators, upper case)."""
    known: bool
    """False when the platform has no record of the subject (the answer is then ``allow``)."""
    action: str
    """The action asked about."""
    as_of: date
    """The day in China the decision is for."""
    effect: str
    """``deny``, ``review`` or ``allow``."""
    benefits: list[str]
    """Reward effects (``expedite``, ``waive_deposit``, ``reduce_inspection``) that apply."""
    measures: list[MeasureOut]
    """The measures that apply, each with its basis and the entry that brings it."""
    entries: list[EntryOut]
    """The list entries that bind the subject today."""
    policy_version: str
    """The policy the decision was made under: ``name@version+digest``."""
    valid_until: date
    """Re-check on or after this day: the decision holds for the day at most."""


class RefusedItem(BaseModel):
    """A batch item that was not decided, in its place among the decisions."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    index: int
    """The item's place in ``items`` (from 0)."""
    subject_id: str
    """The identifier as sent."""
    action: str
    """The action as sent."""
    error: str
    """Where and why, e.g. ``items[3].subject_id: resident_id, suspect: check character
    (position 18) is '1', expected 'X'`` (the problems ``xinyong id`` reports)."""


class BatchOut(BaseModel):
    """The answer to a batch."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    decisions: list[DecisionOut | RefusedItem]
    """One per item, in order: a decision, or why the item was not decided."""


class Checks:
    """A process's snapshots of the index and keys, its check log, and the answers."""

    def __init__(
        self,
        pack: Pack,
        url: str,
        journals: Path,
        answered: Callable[[Sequence[Decision]], None] | None = None,
    ) -> None:
        self.pack = pack
        self.answered = answered
        """Told of the decisions of every answered request (the service's metrics)."""
        self.engine = make_engine(url)
        self.factory: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.fresh = FreshIndex(pack, self.factory, POLL_SECONDS)
        self.keys = KeyRing(self.factory, POLL_SECONDS)
        self.log = CheckLog(self.factory, journals)
        self.log.start()

    def close(self) -> None:
        """Write and seal what the log holds, and let go of the connections."""
        self.log.stop()
        self.engine.dispose()

    def _read(
        self, authorization: str | None, body: bytes, model: type[_Body]
    ) -> tuple[Asker, frozenset[str] | None, _Body]:
        """The caller (API key first, so a stranger learns nothing from validation), its scope
        and the body."""
        caller = admitted(self.keys.caller(bearer_token(authorization)), (ROLE,))
        asker = Asker(caller.key_id, caller.label)
        try:
            return asker, caller.actions, model.model_validate_json(body)
        except ValidationError as error:
            problems = [
                f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
                for item in error.errors(include_url=False)
            ]
            raise HTTPException(422, "; ".join(problems)) from None

    async def _logged(self, decisions: Sequence[Decision], asker: Asker, purpose: str) -> None:
        try:
            await self.log.write(decisions, asker, purpose)
        except CheckLogFailed:
            raise HTTPException(
                503,
                "the check could not be logged, so it is not answered; try again",
                headers={"Retry-After": "1"},
            ) from None
        if self.answered is not None:
            self.answered(decisions)

    async def check(self, authorization: str | None, body: bytes) -> bytes:
        """The JSON answer to one ``CheckRequest``, once its log row is journalled."""
        asker, scope, payload = self._read(authorization, body, CheckRequest)
        index = self.fresh.current()
        today = china_today()
        try:
            subject = decidable(payload.subject_id, today, index.holds)
        except UndecidableSubject as error:
            raise HTTPException(422, f"subject_id: {error}") from None
        if payload.action not in self.pack.actions:
            raise HTTPException(422, _unknown_action(payload.action, "action"))
        if scope is not None and payload.action not in scope:
            raise HTTPException(403, _outside(payload.action, scope, "action"))
        decisions = index.decide_all([(subject, payload.action)], today)
        answer = orjson.dumps(decisions[0])
        await self._logged(decisions, asker, payload.purpose)
        return answer

    async def check_batch(self, authorization: str | None, body: bytes) -> bytes:
        """The JSON answer to one ``BatchRequest``: a decision or a refusal per item, in order."""
        asker, scope, payload = self._read(authorization, body, BatchRequest)
        index = self.fresh.current()
        today = china_today()
        actions, holds = self.pack.actions, index.holds
        answers: list[Any] = [None] * len(payload.items)
        asked: list[tuple[str, str]] = []
        places: list[int] = []
        for position, item in enumerate(payload.items):
            try:
                subject = decidable(item.subject_id, today, holds)
            except UndecidableSubject as error:
                answers[position] = _refused(position, item, f"subject_id: {error}")
                continue
            if item.action not in actions:
                answers[position] = _refused(position, item, _unknown_action(item.action, "action"))
                continue
            if scope is not None and item.action not in scope:
                answers[position] = _refused(position, item, _outside(item.action, scope, "action"))
                continue
            asked.append((subject, item.action))
            places.append(position)
        decisions = index.decide_all(asked, today)
        for position, decision in zip(places, decisions, strict=True):
            answers[position] = decision
        answer = orjson.dumps({"decisions": answers})
        await self._logged(decisions, asker, payload.purpose)
        return answer


def checks_of(app: Any) -> Checks:
    """The application's ``Checks``, made on first use (each worker process has its own)."""
    state = app.state
    checks: Checks | None = getattr(state, "checks", None)
    if checks is None:
        url = state.engine.url.render_as_string(hide_password=False)
        journals = state.settings.var_dir / "check-journal"
        checks = state.checks = Checks(state.pack, url, journals, getattr(state, "answered", None))
    return checks


def _refused(position: int, item: BatchItem, reason: str) -> dict[str, Any]:
    return {
        "index": position,
        "subject_id": item.subject_id,
        "action": item.action,
        "error": f"items[{position}].{reason}",
    }


def _unknown_action(action: str, where: str) -> str:
    return f"{where}: unknown action {action!r}; GET /v1/actions lists the actions"


def declare_actions(schema: dict[str, Any], actions: Sequence[str]) -> None:
    """List the policy's actions as the enum of the ``action`` the check routes take and decide.

    The models stay free text, so that a batch answers an unknown action in its place; the
    document still tells the caller which actions exist."""
    codes = sorted(actions)

    def mark(node: Any) -> None:
        if isinstance(node, dict):
            action = node.get("properties", {}).get("action")
            if isinstance(action, dict) and action.get("type") == "string":
                action["enum"] = codes
            for value in node.values():
                mark(value)
        elif isinstance(node, list):
            for value in node:
                mark(value)

    for path in ("/v1/checks", "/v1/checks/batch"):
        mark(schema["paths"].get(path, {}))
    for name in ("DecisionOut",):
        mark(schema.get("components", {}).get("schemas", {}).get(name, {}))


def _outside(action: str, scope: frozenset[str], where: str) -> str:
    return (
        f"{where}: {action!r} is outside this key's scope (the actions its relying party "
        f"implements: {', '.join(sorted(scope))})"
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
    403: {"description": "the key is not a relying party's, or the action is outside its scope"},
    413: {"description": "the body is over 8 MiB"},
    422: {
        "description": "bad input (for a batch: of the request as a whole); `detail` says where and why"
    },
    503: {"description": "the check could not be logged, so it is not answered; retry"},
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
    answer = await checks_of(request.app).check(
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
    answer = await checks_of(request.app).check_batch(
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
    raw_headers = [_CONTENT_TYPE, (b"content-length", b"%d" % len(body))]
    if headers:
        raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class CheckFastPath:
    """Serves the check routes ahead of the framework's router and middleware.

    Relying parties call these routes at ticket-counter rates; the general request machinery
    (request and response objects, routing over every route, the error, telemetry and body
    middleware) costs more than the check itself. The answers come from the same ``Checks``
    methods the documented endpoints call, so the OpenAPI contract and the answers are
    identical; errors become the same JSON ``detail`` bodies, an unexpected one a logged 500.
    At the application's shutdown the process's ``Checks`` writes and seals what it holds.
    """

    def __init__(self, app: ASGIApp, owner: Any) -> None:
        self.app = app
        self.owner = owner
        # The owner's ``Checks``, held here once made: reading it from the application's state
        # costs a few microseconds a request (``State`` looks every attribute up in Python).
        self._checks: Checks | None = None
        self.routes: dict[str, Callable[[Checks, str | None, bytes], Awaitable[bytes]]] = {
            CHECK_ROUTES[0]: Checks.check,
            CHECK_ROUTES[1]: Checks.check_batch,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing_on_shutdown(receive), send)
            return
        answer = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
        checks = self._checks
        if checks is None:
            checks = self._checks = checks_of(self.owner)
        try:
            body = await answer(checks, authorization, await _request_body(receive))
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

    def _closing_on_shutdown(self, receive: Receive) -> Receive:
        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                self._checks = None
                checks: Checks | None = getattr(self.owner.state, "checks", None)
                if checks is not None:
                    del self.owner.state.checks
                    checks.close()
            return message

        return receiving
