"""The ASGI application: ``xinyong.app:create_app()``."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

import xinyong.store.history  # noqa: F401  (registers record events as a ledger source)
from xinyong import __version__
from xinyong.accounts.api import router as auth_router
from xinyong.config import Settings, get_settings
from xinyong.enforcement.api import CheckFastPath
from xinyong.enforcement.api import router as checks_router
from xinyong.ingest.api import router as submissions_router
from xinyong.ledger.api import router as ledger_router
from xinyong.policy import Pack, load_shipped
from xinyong.rights.api import router as rights_router
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.subjects.api import router as subjects_router
from xinyong.web import install as install_web


class App(FastAPI):
    """The platform's application: ``CheckFastPath`` serves the check routes ahead of the
    framework's middleware (its error, telemetry and body-limit layers), everything else
    goes through it."""

    def build_middleware_stack(self) -> ASGIApp:
        return CheckFastPath(super().build_middleware_stack(), self)


def create_app(settings: Settings | None = None, pack: Pack | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = App(
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
    app.include_router(submissions_router)
    app.include_router(ledger_router)
    app.include_router(auth_router)
    app.include_router(subjects_router)
    app.include_router(rights_router)
    install_web(app)  # the public portal: pages, /v1/public, /v1/stats, /static

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

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:  # on the event loop: no thread to wait for
        return {"status": "ok"}

    return app
