"""Reading a page's form: every text field must be text of the shared ``Text`` type.

The pages read their forms by hand (a form that fails must come back filled in, in the page's
language), so FastAPI's validation never sees them; a NUL in a field would reach the store, and
PostgreSQL refuses it. ``read_form`` refuses such a form as a whole with a 422 page.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from xinyong.web.templating import render
from xinyong.web.types import Text, explain

_TEXT: TypeAdapter[str] = TypeAdapter(Text)


class FormRefused(Exception):
    """A form field that is not text of its type."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


async def read_form(request: Request, **limits: Any) -> FormData:
    """The request's form, once every text field is known to be clean text."""
    form = await request.form(**limits)
    for name, value in form.multi_items():
        if isinstance(value, str):
            try:
                _TEXT.validate_python(value)
            except ValidationError as error:
                raise FormRefused(name, explain(dict(error.errors()[0]))) from None
    return form


async def refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, FormRefused)
    context = {"field": error.field, "problem": error.problem}
    return render(request, "form_refused.html", context, status_code=422)
