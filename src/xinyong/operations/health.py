"""``/healthz`` (the process answers), ``/readyz`` (it can serve) and ``/metrics``.

A load balancer sends traffic to a worker whose ``/readyz`` answers 200; the body names each
check and, for one that failed, why. The first probe also starts loading this worker's
measures index, so a probe warms a new worker before its first check; while a large index
loads (a province's takes a while) probes answer "not ready" at once instead of waiting.
"""

import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text

from xinyong.config import Settings
from xinyong.enforcement.api import checks_of
from xinyong.enforcement.index import MeasuresIndex
from xinyong.ledger.checkpoint import read_signing_key
from xinyong.operations.metrics import Metrics, networks, within
from xinyong.store.db import stored_revisions
from xinyong.store.driver import newest_revisions

router = APIRouter(include_in_schema=False)
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz")
async def health() -> dict[str, str]:  # on the event loop, no I/O: it answers while threads wait
    return {"status": "ok"}


def _reachable(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {}


def _migrated(engine: Engine) -> dict[str, Any]:
    heads = newest_revisions()
    with engine.connect() as connection:
        current = stored_revisions(connection)
    if current != heads:
        raise RuntimeError(
            f"the store is at {sorted(current) or 'no revision'}, the code expects "
            f"{sorted(heads)}: run `xinyong init`"
        )
    return {"revision": sorted(current)}


INDEX_WAIT_SECONDS = 2.0
"""How long a probe waits for the index to load before it answers "still loading"."""
_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-loader")


def _index_loaded(app: Any) -> dict[str, Any]:
    loading: Future[MeasuresIndex] | None = getattr(app.state, "index_loading", None)
    if loading is None or (loading.done() and loading.exception() is not None):
        loading = app.state.index_loading = _loader.submit(lambda: checks_of(app).fresh.current())
    wait([loading], timeout=INDEX_WAIT_SECONDS)
    if not loading.done():
        raise RuntimeError("the measures index is still loading")
    return {"grants": len(loading.result().grants)}


def _readiness(request: Request) -> dict[str, Callable[[], dict[str, Any]]]:
    app = request.app
    settings: Settings = app.state.settings
    engine: Engine = app.state.engine
    return {
        "store": lambda: _reachable(engine),
        "migrations": lambda: _migrated(engine),
        "measures_index": lambda: _index_loaded(app),
        "ledger_key": lambda: {"key": read_signing_key(settings.ledger_key_path).verifier.name},
    }


def operator(request: Request) -> bool:
    """Whether the request may read what only operators should: from an address of
    ``metrics_networks`` (as the trusted proxies report it), or with the metrics token."""
    settings: Settings = request.app.state.settings
    token = settings.metrics_token
    if token and secrets.compare_digest(
        request.headers.get("authorization", "").encode(), f"Bearer {token}".encode()
    ):
        return True
    client = request.client.host if request.client else None
    return within(client, networks(settings.metrics_networks))


@router.get("/readyz")
def ready(request: Request) -> JSONResponse:
    """Each check's result; why one failed only to an operator (it may name hosts and files)."""
    checks: dict[str, dict[str, Any]] = {}
    for name, check in _readiness(request).items():
        try:
            checks[name] = {"ok": True, **check()}
        except Exception as error:  # each check says why it failed; none stops the others
            checks[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    ready = all(check["ok"] for check in checks.values())
    if not operator(request):
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    if not operator(request):
        raise HTTPException(
            403,
            "metrics are for operators: ask from an address in XINYONG_METRICS_NETWORKS "
            "or send the XINYONG_METRICS_TOKEN as a bearer token",
        )
    collected: Metrics = request.app.state.metrics
    return Response(collected.exposition(), media_type=PROMETHEUS)
