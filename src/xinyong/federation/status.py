"""Where a node's links stand: batches sent and received, what is waiting, errors and alarms."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.clock import as_utc
from xinyong.config import Settings
from xinyong.federation.links import links
from xinyong.federation.models import Alarm, LinkState
from xinyong.federation.outbox import SENT_KINDS
from xinyong.ledger.models import LedgerCosignature
from xinyong.ledger.witness import alarms as witness_alarms
from xinyong.ledger.witness import witnessed
from xinyong.records.models import RecordEvent


def _at(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LinkStatus:
    name: str
    direction: str
    url: str
    sent_number: int
    sent_at: str | None
    waiting: int  # record events after the cursor (some may not concern this neighbour)
    lag_seconds: float  # age of the oldest of them
    received_number: int
    received_at: str | None
    cosigned_size: int  # the largest of our checkpoints this neighbour cosigned
    errors: int
    error: str | None
    error_at: str | None


def link_status(session: Session, settings: Settings, now: datetime) -> list[LinkStatus]:
    found = []
    for link in links(settings):
        state = session.get(LinkState, link.name)
        through = state.sent_through if state is not None else -1
        waiting, oldest = session.execute(
            select(func.count(), func.min(RecordEvent.occurred_at)).where(
                RecordEvent.ledger_leaf > through, RecordEvent.kind.in_(SENT_KINDS)
            )
        ).one()
        cosigned = session.scalar(
            select(func.max(LedgerCosignature.tree_size)).where(
                LedgerCosignature.witness == link.verifier.name
            )
        )
        found.append(
            LinkStatus(
                name=link.name,
                direction=link.direction.value,
                url=link.node.url,
                sent_number=state.sent_number if state else 0,
                sent_at=_at(state.sent_at) if state else None,
                waiting=waiting,
                lag_seconds=0.0
                if oldest is None
                else round((now - as_utc(oldest)).total_seconds(), 1),
                received_number=state.received_number if state else 0,
                received_at=_at(state.received_at) if state else None,
                cosigned_size=cosigned or 0,
                errors=state.errors if state else 0,
                error=state.error if state else None,
                error_at=_at(state.error_at) if state else None,
            )
        )
    return found


def network_status(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything ``xinyong federation status`` shows, as one JSON-ready document."""
    return {
        "node": settings.node_name,
        "level": settings.node_level,
        "links": [asdict(status) for status in link_status(session, settings, now)],
        "witnessed": [
            {"origin": row.origin, "tree_size": row.tree_size, "cosigned_at": _at(row.cosigned_at)}
            for row in witnessed(session)
        ],
        "alarms": [
            {"kind": "fork", "source": row.origin, "reason": row.reason, "at": _at(row.raised_at)}
            for row in witness_alarms(session)
        ]
        + [
            {"kind": "batch", "source": row.link, "reason": row.reason, "at": _at(row.raised_at)}
            for row in session.scalars(select(Alarm).order_by(Alarm.id.desc()))
        ],
    }
