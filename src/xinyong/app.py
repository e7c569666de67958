"""The ASGI application: ``xinyong.app:create_app()``."""

from html import escape

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import xinyong.store.history  # noqa: F401  (registers record events as a ledger source)
from xinyong import __version__
from xinyong.config import Settings, get_settings
from xinyong.enforcement.api import CheckFastPath
from xinyong.enforcement.api import router as checks_router
from xinyong.ingest.api import router as submissions_router
from xinyong.ledger.api import router as ledger_router
from xinyong.policy import Pack, load_shipped
from xinyong.store.db import make_engine, make_sessionmaker


def create_app(settings: Settings | None = None, pack: Pack | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        # No OpenTelemetry here: the framework's per-request provider look-ups cost more than
        # a check does.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="xinyong public credit information platform",
        version=__version__,
        description=(
            "Records from authorities under unified codes, each with a legal basis; "
            "submissions, ledger proofs and (as they land) checks, lists and subject rights."
        ),
    )
    engine = make_engine(settings.resolved_database_url())
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.pack = pack or load_shipped("national")
    app.include_router(checks_router)  # documents the check routes; CheckFastPath serves them
    app.add_middleware(CheckFastPath)
    app.include_router(submissions_router)
    app.include_router(ledger_router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item.get('msg', 'invalid')}"
            for item in error.errors()
        ]
        return JSONResponse({"detail": "; ".join(problems), "errors": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def landing() -> str:
        current: Pack = app.state.pack
        return LANDING.format(
            version=escape(__version__),
            pack=escape(f"{current.name} {current.version}"),
            types=len(current.record_types),
            authorities=len(current.authorities),
        )

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xinyong 信用</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:46rem;margin:3rem auto;
line-height:1.5;padding:0 1rem;color:#1f2933}}code{{background:#f0f2f4;padding:0 .25rem}}</style></head>
<body><h1>xinyong 信用</h1>
<p>A public credit information platform: records from authorities under unified codes, each with a
legal basis, an end date and a way to contest it. Version {version}; policy pack <b>{pack}</b>
({types} record types, {authorities} authorities).</p>
<h2>What is here</h2>
<ul>
<li><a href="/docs">/docs</a>: the HTTP API (OpenAPI UI); the contract is <a href="/openapi.json">/openapi.json</a>.</li>
<li><code>POST /v1/submissions</code>: authorities submit, correct and withdraw records (API key).</li>
<li><a href="/v1/ledger/checkpoint">/v1/ledger/checkpoint</a> and <a href="/v1/ledger/key">/v1/ledger/key</a>:
the signed head of the verifiable history, with inclusion and consistency proofs.</li>
<li>The command line: <code>xinyong --help</code> (identifiers, policy packs, ingest, subject files, ledger).</li>
</ul>
</body></html>
"""
