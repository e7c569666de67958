"""Checks outside the server: one subject's decision read straight from the store (the CLI)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.clock import china_today
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.decisions import UnknownAction as UnknownAction
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import MeasureIndexRow
from xinyong.enforcement.subjects import decidable
from xinyong.records.models import Subject


def check_in_store(
    session: Session, index: MeasuresIndex, subject: str, action: str, as_of: date
) -> Decision:
    """The decision for one subject, loading only its index row (no full snapshot).

    Raises ``UndecidableSubject`` for an identifier that fails its check (see
    ``xinyong.enforcement.subjects``) and ``UnknownAction`` for an action the pack lacks.
    """

    def held(code: str) -> bool:
        return session.scalar(select(Subject.id).where(Subject.identifier == code)) is not None

    identifier = decidable(subject, china_today(), held)
    if action not in index.pack.actions:
        raise UnknownAction(action, index.pack.actions)
    grants = session.scalar(
        select(MeasureIndexRow.grants).where(MeasureIndexRow.identifier == identifier)
    )
    index.put(identifier, grants or [])
    if held(identifier):
        index.known.add(identifier)
    return index.decide(identifier, action, as_of)
