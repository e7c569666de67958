"""Rendering pages: one Jinja2 environment, the request's language, the CSRF token, formats.

Each feature keeps its pages' templates beside its routes: ``rights/case.html`` is
``xinyong/rights/templates/case.html``. A name without a feature's folder is the shell's own
(``base.html``, the layout every page extends, and the parts pages share).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import BaseLoader, Environment, FileSystemLoader, select_autoescape
from starlette.routing import NoMatchFound

from xinyong import __version__
from xinyong.clock import CHINA, as_utc
from xinyong.identifiers.regions import region_name
from xinyong.web import csrf, signed_in_labels
from xinyong.web.i18n import LANG_COOKIE, LANGUAGES, activate, choose, current, gettext_, ngettext_
from xinyong.web.labels import (
    basis_label,
    effect_label,
    field_label,
    kind_label,
    severity_label,
    value_label,
)

TEMPLATES = Path(__file__).parent / "templates"

FEATURES = Path(__file__).parent.parent
COOKIE_SECONDS = 365 * 24 * 3600


def _day(value: str | date | None) -> str:
    """A date in the page's language (2024年3月1日 / Mar 1, 2024)."""
    if value is None:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="medium", locale=current().locale)


def _number(value: float | int | str | None) -> str:
    if value is None or value == "":
        return ""
    return format_decimal(float(value), locale=current().locale)


def instant(value: str | datetime | None) -> str:
    """A moment in China's time, in the page's language."""
    if value is None:
        return ""
    moment = as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
    return format_datetime(moment.astimezone(CHINA), format="short", locale=current().locale)


def bilingual(value: dict[str, str] | None) -> str:
    """A bilingual text from the policy pack, in the page's language."""
    if not value:
        return ""
    return value.get(current().code) or value.get("zh") or ""


@dataclass(frozen=True)
class Visitor:
    """Who is signed in, as every page's header shows them."""

    username: str
    role: str
    home: str
    """Their own space: ``/me``, a console."""


def visitor(request: Request) -> Visitor | None:
    """The signed-in person of ``request``, if the app knows how to tell and there is one."""
    if hasattr(request.state, "visitor"):
        known: Visitor | None = request.state.visitor
        return known
    # Set by the app, which knows the accounts; the shell does not.
    hook: Callable[[Request], Visitor | None] | None = getattr(request.app.state, "visitor", None)
    found = hook(request) if hook else None
    request.state.visitor = found
    return found


class FeatureTemplates(BaseLoader):
    """``<feature>/<name>`` from ``xinyong/<feature>/templates/``, any other name from the
    shell's ``templates/``."""

    def __init__(self) -> None:
        self.shell = FileSystemLoader(TEMPLATES)
        self.features: dict[str, FileSystemLoader] = {}

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        feature, _, name = template.partition("/")
        folder = FEATURES / feature / "templates"
        if name and feature.isidentifier() and folder.is_dir():
            loader = self.features.setdefault(feature, FileSystemLoader(folder))
            return loader.get_source(environment, name)
        return self.shell.get_source(environment, template)


def _environment() -> Environment:
    environment = Environment(
        loader=FeatureTemplates(),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    environment.filters.update(
        day=_day,
        number=_number,
        text=bilingual,
        instant=instant,
        basis=basis_label,
        field=field_label,
    )
    environment.globals.update(
        version=__version__,
        languages=LANGUAGES,
        kind_label=kind_label,
        effect_label=effect_label,
        severity_label=severity_label,
        field_label=field_label,
        value_label=value_label,
        region_name=region_name,
    )
    signed_in_labels.register(environment)
    return environment


ENVIRONMENT = _environment()


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    language = choose(request)
    activate(language)
    token = csrf.token_for(request)
    here = request.url.remove_query_params("lang")
    html = ENVIRONMENT.get_template(template).render(
        request=request,
        lang=language,
        csrf_token=token,
        csrf_field=csrf.FIELD,
        here=here.path + (f"?{here.query}" if here.query else ""),
        sign_in=route_path(request, "sign_in"),
        visitor=visitor(request),
        policy=request.app.state.pack,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    csrf.remember(request, response, token)
    if request.query_params.get("lang") in LANGUAGES:
        remember_language(response, language.code)
    return response


def route_path(request: Request, name: str) -> str | None:
    """The path of the app's route called ``name``, if the app has one (pages added by other
    features, such as sign-in, appear in the layout once they exist)."""
    try:
        return str(request.app.url_path_for(name))
    except NoMatchFound:
        return None


def remember_language(response: Response, code: str) -> None:
    response.set_cookie(LANG_COOKIE, code, max_age=COOKIE_SECONDS, samesite="lax", path="/")
