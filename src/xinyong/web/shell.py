"""The shell's own routes: static files, the API documentation pages, and refused forms."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from xinyong.web import api_docs, forms

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(api_docs.router)
    app.add_exception_handler(forms.FormRefused, forms.refused)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
