"""The web: the public portal's pages, ``/v1/public`` and ``/v1/stats``, static assets, languages.

``install(app)`` adds it all to the ASGI app. Pages are server-rendered (Jinja2) and readable
without JavaScript; htmx and ECharts, from the npm registry at build time (``make web-assets``),
are served from ``/static/vendor/``.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from xinyong.search.publish import IndexShelf
from xinyong.web import api_docs, consoles, forms, selfservice, selfservice_signin
from xinyong.web.api import router as api_router
from xinyong.web.pages import router as pages_router

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.state.search = IndexShelf(app.state.settings.var_dir / "search")
    app.include_router(api_router)
    app.include_router(pages_router)
    selfservice_signin.install(app)  # sign-in and the pages only signed-in people see
    app.include_router(selfservice.router)
    app.include_router(consoles.router)
    app.include_router(api_docs.router)
    app.add_exception_handler(forms.FormRefused, forms.refused)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
