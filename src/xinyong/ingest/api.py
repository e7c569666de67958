"""``POST /v1/submissions``: an authority submits records as a JSON array or as NDJSON."""

import hashlib
from datetime import date
from itertools import islice
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ingest.readers import ReadItem, UnreadableFile, read_body
from xinyong.ingest.service import IngestJob
from xinyong.keys.deps import require_role
from xinyong.keys.service import Caller
from xinyong.policy import Pack
from xinyong.web.deps import get_pack, get_sessionmaker
from xinyong.web.types import Amount, Code, JsonObject, Line, SubjectRef

router = APIRouter(prefix="/v1", tags=["submissions"])
MAX_ROWS = 10_000
MAX_BYTES = 32 * 1024 * 1024


class SubmittedRecord(BaseModel):
    """One record as an authority submits it (docs/ingest.md); CSV and Parquet use the same names."""

    op: Literal["submit", "correct", "withdraw"] = "submit"
    record_type: Code = Field(examples=["court.defaulter_listing"])
    subject_id: SubjectRef = Field(examples=["11010519491231002X"])
    subject_name: Annotated[Line, StringConstraints(max_length=200)] | None = Field(
        default=None, examples=["张三"]
    )
    authority: Code | None = Field(default=None, description="defaults to the key's authority")
    document_no: Annotated[Line, StringConstraints(min_length=1, max_length=200)] = Field(
        examples=["(2024)京0105执1234号"]
    )
    decided_on: date | None = None
    effective_on: date | None = None
    severity: Code | None = Field(default=None, examples=["serious"])
    amount: Amount | None = Field(default=None, examples=[120000.0])
    fields: JsonObject = Field(default_factory=dict)


class RowResult(BaseModel):
    row: int
    status: Literal["accepted", "corrected", "withdrawn", "duplicate", "rejected"]
    record_id: int | None = None
    version: int | None = None
    field: str | None = None
    reason: str | None = None


class SubmissionResult(BaseModel):
    submission_id: int
    accepted: int
    duplicates: int
    corrected: int
    withdrawn: int
    rejected: int
    rows: list[RowResult]


def _items(body: bytes, content_type: str) -> list[ReadItem]:
    """The body's rows, read as a file's are; a body that cannot be read at all is a 4xx."""
    if not body.strip():
        raise HTTPException(400, "the body is empty: send a JSON array of records or NDJSON")
    try:
        rows = read_body(body, lines="ndjson" in content_type)
        items = list(islice(rows, MAX_ROWS + 1))
    except UnreadableFile as error:
        raise HTTPException(400, f"the body is {error}") from None
    if len(items) > MAX_ROWS:
        raise HTTPException(
            413, f"at most {MAX_ROWS} records per request; split the submission or use bulk files"
        )
    return items


@router.post(
    "/submissions",
    response_model=SubmissionResult,
    summary="Submit, correct or withdraw records",
    max_body_size=MAX_BYTES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": SubmittedRecord.model_json_schema(
                            ref_template="#/components/schemas/{model}"
                        ),
                        "maxItems": MAX_ROWS,
                    }
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
    responses={
        400: {"description": "unreadable body"},
        401: {"description": "no valid key"},
        403: {"description": "not an authority key"},
        413: {"description": "too many rows, or a body over 32 MiB"},
    },
)
async def submit(
    request: Request,
    caller: Annotated[Caller, Depends(require_role("authority"))],
    factory: Annotated[sessionmaker[Session], Depends(get_sessionmaker)],
    pack: Annotated[Pack, Depends(get_pack)],
) -> SubmissionResult:
    """Each row is validated against the catalogue; bad rows are quarantined with a reason and
    the good rows are stored. Submitting the same rows again changes nothing (duplicates)."""
    body = await request.body()
    items = _items(body, request.headers.get("content-type", ""))
    job = IngestJob(factory, pack, authority=caller.authority)
    # The store work is blocking; run it off the event loop so other requests keep flowing.
    summary = await run_in_threadpool(
        job.run_rows,
        items,
        source_name=f"api:{caller.key_id}",
        digest=hashlib.sha256(body).hexdigest(),
        key_id=caller.key_id,
    )
    return SubmissionResult(
        submission_id=summary.submission_id,
        accepted=summary.accepted,
        duplicates=summary.duplicates,
        corrected=summary.corrected,
        withdrawn=summary.withdrawn,
        rejected=summary.rejected,
        rows=[
            RowResult(
                row=o.row_no,
                status=o.status,
                record_id=o.record_id,
                version=o.version,
                field=o.field,
                reason=o.reason,
            )
            for o in summary.outcomes
        ],
    )
