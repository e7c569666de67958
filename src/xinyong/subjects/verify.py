"""``/verify``: anyone confirms that a credit report is genuine and unaltered.

The page takes a verification code (the report's QR code links to it with the code filled in)
or an uploaded PDF; ``POST /v1/verify`` and ``POST /v1/verify/pdf`` answer the same in JSON.
The answer says who issued the report, when, to whom and covering what, and nothing the report
does not show itself (see ``subjects.verification``).

Verifying an upload prints the report again, as costly as a public report's render, so each
upload counts against the client address's renders (``accounts.deps.count_render``) before the
PDF is opened; past the budget the answer is 429 with Retry-After. A code costs a signature
check and is not counted.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from xinyong.accounts.deps import admit_render, count_render
from xinyong.accounts.throttle import SignInThrottled
from xinyong.config import Settings
from xinyong.ledger.checkpoint import CheckpointError, VerifierKey
from xinyong.subjects.verification import (
    MAX_CODE,
    Claims,
    NotGenuine,
    read_code,
    read_pdf,
    report_key,
)
from xinyong.web import csrf
from xinyong.web.forms import read_form
from xinyong.web.templating import render

MAX_PDF_BYTES = 8 * 2**20
"""Far above any report; a bigger upload is refused unread."""

router = APIRouter(tags=["verification"])
pages = APIRouter(include_in_schema=False)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    code: str = Field(max_length=MAX_CODE)
    """The verification code printed on the report (or in its QR code), ``XY1.``..."""


class Verified(BaseModel):
    """A genuine report: what its code says, and nothing more."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    genuine: bool = True
    """Always true: a report that is not genuine is answered 422."""
    number: str
    """The report number."""
    issued_at: str
    """When it was issued (UTC)."""
    issuer: str
    """Who issued it."""
    issued_to: str
    """To whom: the subject itself, or the public."""
    covering: str
    """What it covers: the subject's whole file, or its public information."""
    name: str
    """The subject's name, as the report shows it."""
    identifier: str
    """The subject's identifier, as the report shows it."""
    as_of: str
    """The day (in China) the report speaks for."""
    digest: str
    """SHA-256 of the report's content as issued."""


class KeyOut(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    key: str
    """The verifier key, in the signed-note text form ``name+key id+base64``."""
    algorithm: str = "Ed25519"
    """The signature algorithm."""


def _verifier(request: Request) -> VerifierKey:
    settings: Settings = request.app.state.settings
    try:
        return report_key(settings.report_key_path).verifier
    except (OSError, CheckpointError) as error:
        raise HTTPException(503, f"the report key cannot be read: {error}") from None


async def _read_pdf(request: Request, data: bytes) -> Claims:
    """The claims of an uploaded report, read in a worker thread: reading one prints it again
    (a tenth of a second or more), which on the event loop would hold up every other request."""
    claims, _ = await run_in_threadpool(read_pdf, data, _verifier(request))
    return claims


_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "not a genuine report of this platform, or altered; `detail` says why"}
}
_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "too many reports printed for this address (uploads verified, public "
        "reports, downloads): wait `Retry-After` seconds; a verification code is not counted"
    }
}


@router.post("/v1/verify", response_model=Verified, responses=_REFUSED)
def verify_code(request: Request, body: CodeIn) -> Verified:
    """Is this verification code genuine? Who issued the report, when, to whom, covering what."""
    try:
        return Verified(**asdict(read_code(body.code, _verifier(request))))
    except NotGenuine as error:
        raise HTTPException(422, str(error)) from None


@router.post(
    "/v1/verify/pdf",
    max_body_size=MAX_PDF_BYTES,
    response_model=Verified,
    responses=_REFUSED | _THROTTLED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify_pdf(request: Request) -> Verified:
    """Is this PDF a report exactly as issued (the body is the file itself)?

    Verifying prints the report again: each upload counts against the address's renders.
    """
    await run_in_threadpool(admit_render, request)
    data = await request.body()
    try:
        claims = await _read_pdf(request, data)
    except NotGenuine as error:
        raise HTTPException(422, str(error)) from None
    return Verified(**asdict(claims))


@router.get("/v1/verify/key", response_model=KeyOut)
def verify_key(request: Request) -> KeyOut:
    """The public key reports are signed with, to verify codes offline."""
    return KeyOut(key=_verifier(request).encode())


def _answer(
    request: Request, claims: Claims | None, refusal: str | None, code: str
) -> HTMLResponse:
    context = {"claims": claims, "refusal": refusal, "code": code}
    return render(request, "subjects/verify.html", context, status_code=422 if refusal else 200)


def _throttled(request: Request, error: SignInThrottled, code: str) -> HTMLResponse:
    context = {"claims": None, "refusal": None, "code": code, "retry_after": error.retry_after}
    answer = render(request, "subjects/verify.html", context, status_code=429)
    answer.headers["Retry-After"] = str(error.retry_after)
    return answer


@pages.get("/verify", response_class=HTMLResponse, name="verify")
def verify_page(
    request: Request, code: Annotated[str, Query(max_length=MAX_CODE)] = ""
) -> HTMLResponse:
    if not code:
        return _answer(request, None, None, "")
    try:
        return _answer(request, read_code(code, _verifier(request)), None, code)
    except NotGenuine as error:
        return _answer(request, None, str(error), code)


@pages.post("/verify", response_class=HTMLResponse, max_body_size=MAX_PDF_BYTES)
async def verify_upload(request: Request) -> HTMLResponse:
    form = await read_form(request, max_files=1, max_fields=4, max_part_size=MAX_PDF_BYTES)
    if not csrf.is_genuine(request, form):
        return render(request, "forbidden.html", {}, status_code=403)
    upload = form.get("report")
    code = str(form.get("code") or "")
    try:
        if isinstance(upload, UploadFile) and upload.size:
            await run_in_threadpool(count_render, request)
            claims = await _read_pdf(request, await upload.read(MAX_PDF_BYTES + 1))
        else:
            claims = read_code(code, _verifier(request))
    except NotGenuine as error:
        return _answer(request, None, str(error), code)
    except SignInThrottled as error:
        return _throttled(request, error, code)
    return _answer(request, claims, None, code)
