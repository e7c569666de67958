"""``/v1/datasets`` (public data, for anyone) and ``/v1/mirror`` (feeds and check reports,
for relying parties' keys).

Files are served as published, with their SHA-256 as ETag (``If-None-Match`` answers 304),
byte ranges (``Range``), and ``Cache-Control: immutable``: a version never changes. Only the
versions an index names are served, and only the files their manifest lists. A feed is
served to the keys of its scope only; its head is signed at the moment it is asked, with the
caller's nonce, so a mirror knows how current its copy is.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.config import Settings
from xinyong.datasets import formats
from xinyong.datasets.feeds import Scope
from xinyong.datasets.manifest import (
    HEAD_KIND,
    MANIFEST,
    NAME,
    SIGNATURE,
    InvalidVersion,
    Manifest,
)
from xinyong.datasets.received import Accepted, Refused, accept
from xinyong.datasets.versions import FEED, PUBLIC, Shelf
from xinyong.keys.deps import require_role
from xinyong.keys.service import Caller
from xinyong.ledger.checkpoint import CheckpointError, read_signing_key
from xinyong.ledger.signed import sign
from xinyong.policy import Pack
from xinyong.web.deps import get_pack, get_sessionmaker
from xinyong.web.types import Line, Text

router = APIRouter(prefix="/v1", tags=["datasets"])
MAX_REPORT_BYTES = 8 * 2**20
"""A full batch (10,000 checks) is about 2 MB."""
IMMUTABLE = "public, max-age=31536000, immutable"
RelyingParty = Annotated[Caller, Depends(require_role("relying_party"))]
DatasetName = Annotated[str, StringConstraints(pattern=NAME.pattern, max_length=80)]
FileName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,119}$")]
Version = Annotated[int, Field(ge=1, le=10**8)]
Nonce = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,64}$")]
_ETAG = re.compile(r'"([0-9a-f]{64})"')


def shelf_of(request: Request) -> Shelf:
    settings: Settings = request.app.state.settings
    return Shelf(settings.datasets_path)


ShelfDep = Annotated[Shelf, Depends(shelf_of)]


class VersionOut(BaseModel):
    version: int
    published_at: str
    rows: int
    snapshot: bool
    manifest_sha256: str
    url: str


class DatasetOut(BaseModel):
    name: str
    kind: str
    title: dict[str, str]
    latest: int
    latest_snapshot: int
    versions: list[VersionOut]
    """The versions kept (oldest first); each version's files are listed in its manifest."""


class DatasetsOut(BaseModel):
    datasets: list[DatasetOut]
    key_url: str = "/v1/ledger/key"
    """Where the platform key that signs every manifest is published."""


def _described(index: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "name": index["dataset"],
        "kind": index["kind"],
        "title": index["title"],
        "latest": index["latest"],
        "latest_snapshot": index["latest_snapshot"],
        "versions": [
            {**item, "url": f"{base}/{index['dataset']}/{item['version']}/{MANIFEST}"}
            for item in index["versions"]
        ],
    }


def _public_index(shelf: Shelf, name: str) -> dict[str, Any]:
    index = shelf.index(name) if NAME.fullmatch(name) else None
    if index is None or index["kind"] != PUBLIC:
        raise HTTPException(404, f"no public dataset {name!r}; GET /v1/datasets lists them")
    return index


@router.get("/datasets", response_model=DatasetsOut, summary="The published datasets")
def datasets(shelf: ShelfDep) -> dict[str, Any]:
    found = []
    for name in shelf.datasets():
        index = shelf.index(name)
        if index is not None and index["kind"] == PUBLIC:
            found.append(_described(index, "/v1/datasets"))
    return {"datasets": found}


@router.get("/datasets/{name}", response_model=DatasetOut, summary="A dataset's versions")
def dataset(shelf: ShelfDep, name: DatasetName) -> dict[str, Any]:
    return _described(_public_index(shelf, name), "/v1/datasets")


def _file(
    request: Request, shelf: Shelf, index: dict[str, Any], version: int, file: str
) -> Response:
    """A file of a kept version, as published (404 for anything else)."""
    name = index["dataset"]
    kept = {item["version"] for item in index["versions"]}
    if version not in kept:
        raise HTTPException(
            404,
            f"version {version} of {name} is not kept; versions kept: {min(kept)} to {max(kept)}",
        )
    folder = shelf.folder(name, version)
    try:
        manifest = shelf.manifest(name, version)
    except (OSError, InvalidVersion):
        raise HTTPException(404, f"version {version} of {name} is gone") from None
    media, tag = _listed(manifest, file, folder)
    if tag is not None and tag in _ETAG.findall(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={"ETag": f'"{tag}"', "Cache-Control": IMMUTABLE})
    headers = {"Cache-Control": IMMUTABLE}
    if tag is not None:
        headers["ETag"] = f'"{tag}"'
    return FileResponse(folder / file, media_type=media, headers=headers)


def _listed(manifest: Manifest, file: str, folder: Path) -> tuple[str, str | None]:
    """The media type and SHA-256 of a file the version holds (the manifest's own files
    have no listed digest: the manifest is named by its index, its signature by the key)."""
    if file == MANIFEST:
        return formats.MEDIA_TYPES["json"], manifest.sha256
    if file == SIGNATURE:
        return "text/plain; charset=utf-8", None
    for entry in manifest.files:
        if entry.name == file and (folder / file).is_file():
            return formats.MEDIA_TYPES.get(entry.format, "application/octet-stream"), entry.sha256
    raise HTTPException(404, f"version {manifest.version} of {manifest.dataset} has no {file!r}")


@router.get(
    "/datasets/{name}/{version}/{file}",
    summary="A file of a dataset's version",
    response_class=FileResponse,
    responses={200: {"description": "the file as published"}, 304: {"description": "unchanged"}},
)
def dataset_file(
    request: Request, shelf: ShelfDep, name: DatasetName, version: Version, file: FileName
) -> Response:
    return _file(request, shelf, _public_index(shelf, name), version, file)


class FeedHead(BaseModel):
    head: str
    """The head as JSON text: feed, actions, version, its manifest's SHA-256, the latest
    snapshot, the oldest version kept, the nonce sent and the instant it was signed."""
    signature: str
    """The platform key's signed note over the head's bytes (kind ``feed-head``)."""


def _scope(request: Request, caller: Caller) -> Scope:
    if not caller.actions:
        raise HTTPException(
            403,
            "this key has no scope, so it has no feed: a relying party's key names the actions "
            "it implements (xinyong keys create --role relying_party --actions ...)",
        )
    pack: Pack = get_pack(request)
    return Scope.of(pack, caller.actions)


def _feed_index(shelf: Shelf, scope: Scope) -> dict[str, Any]:
    index = shelf.index(scope.name)
    if index is None or index["kind"] != FEED:
        raise HTTPException(
            503,
            "the feed of this key's scope is not published yet; a serving platform publishes "
            "a new scope's feed within seconds",
            headers={"Retry-After": "1"},
        )
    return index


@router.get(
    "/mirror/feed",
    response_model=FeedHead,
    summary="The head of this key's feed, signed now",
    responses={
        403: {"description": "the key has no scope"},
        503: {"description": "the feed is not published yet; retry"},
    },
)
def feed_head(
    request: Request,
    shelf: ShelfDep,
    caller: RelyingParty,
    nonce: Annotated[Nonce | None, Query()] = None,
) -> dict[str, str]:
    scope = _scope(request, caller)
    index = _feed_index(shelf, scope)
    settings: Settings = request.app.state.settings
    try:
        key = read_signing_key(settings.ledger_key_path)
    except (OSError, CheckpointError):
        raise HTTPException(
            503, "the platform key is missing", headers={"Retry-After": "60"}
        ) from None
    latest = next(item for item in index["versions"] if item["version"] == index["latest"])
    head = orjson.dumps(
        {
            "feed": scope.name,
            "actions": sorted(scope.actions),
            "version": index["latest"],
            "manifest_sha256": latest["manifest_sha256"],
            "latest_snapshot": index["latest_snapshot"],
            "oldest": index["versions"][0]["version"],
            "nonce": nonce or secrets.token_hex(16),
            "at": utc_now().isoformat(),
        }
    )
    return {"head": head.decode(), "signature": sign(head, HEAD_KIND, key)}


@router.get(
    "/mirror/feeds/{name}/{version}/{file}",
    summary="A file of a version of this key's feed",
    response_class=FileResponse,
    responses={
        200: {"description": "the file as published"},
        304: {"description": "unchanged"},
        403: {"description": "the feed is not this key's"},
    },
)
def feed_file(
    request: Request,
    shelf: ShelfDep,
    caller: RelyingParty,
    name: DatasetName,
    version: Version,
    file: FileName,
) -> Response:
    scope = _scope(request, caller)
    if name != scope.name:
        raise HTTPException(
            403,
            f"{name} is outside this key's scope; its feed is {scope.name} "
            f"({', '.join(sorted(scope.actions))})",
        )
    return _file(request, shelf, _feed_index(shelf, scope), version, file)


class MirrorReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[Line, StringConstraints(min_length=1, max_length=200)]
    """The mirror's verifier key (``name+id+base64``); the first report registers it."""
    batch: Annotated[str, StringConstraints(min_length=2, max_length=MAX_REPORT_BYTES)]
    """The batch's JSON text, exactly as signed (``xinyong-mirror-checks/1``)."""
    signature: Annotated[Text, StringConstraints(min_length=1, max_length=1000)]
    """The mirror key's signed note over the batch (kind ``mirror-checks``)."""


class ReportOut(BaseModel):
    status: str
    """``logged``, or ``duplicate`` when this batch was taken before (nothing is logged twice)."""
    batch_id: str
    checks: int
    group: int
    """The check-log group the checks are in."""


@router.post(
    "/mirror/checks",
    response_model=ReportOut,
    summary="Report the checks a mirror answered (a signed batch)",
    max_body_size=MAX_REPORT_BYTES + 4096,
    responses={
        403: {"description": "the key has no scope"},
        409: {"description": "the batch id was taken with other checks, or another mirror key"},
    },
)
async def report_checks(
    report: MirrorReport,
    caller: RelyingParty,
    factory: Annotated[sessionmaker[Session], Depends(get_sessionmaker)],
) -> dict[str, Any]:
    def take() -> Accepted:
        now = utc_now()
        for attempt in (1, 2):
            try:
                with factory.begin() as session:
                    return accept(
                        session, caller, report.key, report.batch.encode(), report.signature, now
                    )
            except IntegrityError:
                # The same batch arriving twice at once: the second finds the first's row.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    try:
        accepted = await run_in_threadpool(take)
    except Refused as error:
        raise HTTPException(error.status, error.detail) from None
    return {
        "status": accepted.status,
        "batch_id": accepted.batch_id,
        "checks": accepted.checks,
        "group": accepted.group,
    }
