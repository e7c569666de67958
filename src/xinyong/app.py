"""The ASGI application: ``xinyong.app:create_app()``."""

from importlib.resources import files
from typing import Any, cast

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from xinyong import __version__
from xinyong.accounts import pages as account_pages
from xinyong.accounts.api import router as auth_router
from xinyong.assembly import assemble
from xinyong.audit.console import router as audit_console
from xinyong.config import Settings, get_settings
from xinyong.datasets.api import router as datasets_router
from xinyong.enforcement.actions import router as actions_router
from xinyong.enforcement.api import CHECK_ROUTES, CheckFastPath, declare_actions
from xinyong.enforcement.api import router as checks_router
from xinyong.federation.api import router as federation_router
from xinyong.ingest.api import router as submissions_router
from xinyong.ledger.api import router as ledger_router
from xinyong.operations.health import router as operations_router
from xinyong.operations.metrics import Metrics
from xinyong.operations.requests import observed
from xinyong.operator_console.pages import router as operator_console
from xinyong.policy import Pack, pack_in_force
from xinyong.portal.api import router as public_router
from xinyong.portal.notices import router as portal_notices
from xinyong.portal.pages import router as portal_pages
from xinyong.portal.renders import RenderedReports
from xinyong.portal.reports import router as public_reports
from xinyong.portal.stats import PublishedStats
from xinyong.rights.api import router as rights_router
from xinyong.rights.console import router as review_console
from xinyong.search.publish import IndexShelf
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.subjects.api import router as subjects_router
from xinyong.subjects.pages import router as subject_pages
from xinyong.subjects.verify import pages as verify_pages
from xinyong.subjects.verify import router as verify_router
from xinyong.web import csrf, shell
from xinyong.web.headers import SecurityHeaders, policy, style_hash
from xinyong.web.openapi import declare_refusals, declare_security

MAX_BODY_BYTES = 2**20
"""The largest body a route takes unless it says otherwise (submissions and evidence do)."""


class App(FastAPI):
    """The platform's application: ``CheckFastPath`` serves the check routes ahead of the
    framework's middleware (its error, telemetry and body-limit layers), everything else
    goes through it and gets the security headers. In front of both, the proxies the settings
    trust may say that a request came over https and from whom."""

    content_policy = policy()

    def build_middleware_stack(self) -> ASGIApp:
        secured = SecurityHeaders(super().build_middleware_stack(), self.content_policy)
        stack: ASGIApp = CheckFastPath(secured, self)
        settings = cast(Settings, self.state.settings)
        proxies = settings.trusted_proxies
        if proxies:
            stack = cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, stack), trusted_hosts=proxies))
        return observed(stack, self.state.metrics, settings, CHECK_ROUTES)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            declare_security(schema, self.routes)
            declare_refusals(schema)
            declare_actions(schema, list(cast(Pack, self.state.pack).actions))
        return super().openapi()


def create_app(settings: Settings | None = None, pack: Pack | None = None) -> FastAPI:
    assemble()
    settings = settings or get_settings()
    app = App(
        # No OpenTelemetry here: the framework's per-request provider look-ups cost more than
        # a check does.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Counted as the bytes arrive: a larger body is refused before anything parses it.
        max_body_size=MAX_BODY_BYTES,
        title="xinyong public credit information platform",
        docs_url=None,  # the web serves /docs and /redoc from vendored assets
        redoc_url=None,
        version=__version__,
        description=(
            "Records from authorities under unified codes, each with a legal basis; "
            "submissions, ledger proofs and (as they land) checks, lists and subject rights."
        ),
    )
    # The credit report is a standalone document with its style inside; only that style runs.
    report = (files("xinyong.subjects") / "templates" / "report.html").read_text("utf-8")
    app.content_policy = policy({"style-src": f"'self' {style_hash(report)}"})
    engine = make_engine(settings.resolved_database_url())
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.pack = pack or pack_in_force(settings)
    app.state.metrics = Metrics(app.state.sessionmaker, settings.metrics_dir)
    app.state.answered = app.state.metrics.tally.decided
    app.include_router(operations_router)  # /healthz, /readyz, /metrics
    app.include_router(checks_router)  # documents the check routes; CheckFastPath serves them
    # Pages check their forms' CSRF token themselves; the JSON routes take it in a header.
    guarded = [Depends(csrf.cookie_sessions_send_the_token)]
    for router in (
        submissions_router,
        ledger_router,
        auth_router,
        subjects_router,
        rights_router,
        federation_router,
        datasets_router,
    ):
        app.include_router(router, dependencies=guarded)
    app.state.search = IndexShelf(settings.var_dir / "search")
    app.state.stats = PublishedStats()  # computed once a minute, whoever asks
    app.include_router(public_router)  # /v1/public and /v1/stats: anyone
    app.include_router(actions_router)  # /v1/actions: anyone, the policy is published
    # Public reports and their verification: anyone, and nothing they change.
    app.state.public_reports = RenderedReports()
    for router in (public_reports, verify_router, verify_pages):
        app.include_router(router)
    app.include_router(portal_pages)
    app.include_router(portal_notices)  # /help and /announcements, from the pack
    # Pages for signed-in people: who is not signed in is sent to the sign-in page first.
    app.add_exception_handler(account_pages.PageRefused, account_pages.page_refused)
    app.state.visitor = account_pages.visitor_of  # who is signed in, on every page's header
    for pages in (
        account_pages.router,
        subject_pages,
        review_console,
        operator_console,
        audit_console,
    ):
        app.include_router(pages)
    shell.install(app)  # static files, the icon, /docs and /redoc, refused forms, error pages

    return app
