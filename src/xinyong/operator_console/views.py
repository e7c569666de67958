"""What the operator console reads: ingestion per authority, the quarantine, evaluation
versions and what-if reports.

Ingestion is counted from the records and the quarantine themselves (a submission file may
carry rows of many authorities, so the submission's own counters cannot be split by authority).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.clock import as_utc
from xinyong.ingest.models import QuarantinedRow
from xinyong.policy import Pack
from xinyong.records.models import Record
from xinyong.scoring.models import Evaluation
from xinyong.scoring.store import current_evaluation

PAGE_SIZE = 50
REPORTS = "reports"
"""The folder under ``XINYONG_VAR_DIR`` that what-if reports are written to."""


def ingestion_by_authority(session: Session, pack: Pack) -> list[dict[str, Any]]:
    """Per authority: records accepted (every version), rows refused, the last row received."""
    found: dict[str, dict[str, Any]] = {}

    def row(code: str | None) -> dict[str, Any]:
        key = code or ""
        authority = pack.authorities.get(key)
        return found.setdefault(
            key,
            {
                "code": key,
                "name": authority.name.model_dump() if authority else None,
                "accepted": 0,
                "rejected": 0,
                "last_received_at": None,
            },
        )

    for code, count, last in session.execute(
        select(Record.authority, func.count(), func.max(Record.received_at)).group_by(
            Record.authority
        )
    ):
        item = row(code)
        item["accepted"], item["last_received_at"] = count, last
    for refused_by, count, last in session.execute(
        select(
            QuarantinedRow.authority, func.count(), func.max(QuarantinedRow.received_at)
        ).group_by(QuarantinedRow.authority)
    ):
        item = row(refused_by)
        item["rejected"] = count
        item["last_received_at"] = _later(item["last_received_at"], last)
    return sorted(found.values(), key=lambda item: (-item["rejected"], item["code"]))


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    moments = [as_utc(moment) for moment in (first, second) if moment is not None]
    return max(moments) if moments else None


def quarantine_page(session: Session, page: int, authority: str | None) -> dict[str, Any]:
    """One page of refused rows, newest first: file, row number, field, reason, the raw row."""
    query = select(QuarantinedRow)
    counting = select(func.count()).select_from(QuarantinedRow)
    if authority is not None:
        query = query.where(QuarantinedRow.authority == authority)
        counting = counting.where(QuarantinedRow.authority == authority)
    total = session.scalar(counting) or 0
    rows = session.scalars(
        query.order_by(QuarantinedRow.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    )
    return {
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "total": total,
        "rows": [
            {
                "id": item.id,
                "source": Path(item.source).name,
                "row_no": item.row_no,
                "authority": item.authority,
                "field": item.field,
                "reason": item.reason,
                "raw": item.raw,
                "received_at": item.received_at,
            }
            for item in rows
        ],
    }


def evaluation_versions(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The newest evaluation runs, marking the one every reader uses."""
    current = current_evaluation(session)
    return [
        {
            "id": run.id,
            "engine": run.engine,
            "as_of": run.as_of,
            "status": run.status,
            "policies": run.policies.split(","),
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "current": current is not None and run.id == current.id,
        }
        for run in session.scalars(select(Evaluation).order_by(Evaluation.id.desc()).limit(limit))
    ]


def what_if_reports(var_dir: Path) -> list[dict[str, Any]]:
    """The report folders under ``<var>/reports``, newest first, with the files in each."""
    folder = var_dir / REPORTS
    if not folder.is_dir():
        return []
    reports = [
        {
            "name": path.name,
            "path": str(path),
            "modified_at": datetime.fromtimestamp(path.stat().st_mtime, UTC),
            "files": sorted(child.name for child in path.iterdir() if child.is_file()),
        }
        for path in folder.iterdir()
        if path.is_dir()
    ]
    return sorted(reports, key=lambda report: report["modified_at"], reverse=True)
