"""Checks outside the server: one subject's decision read straight from the store (the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
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
    return checks_in_store(session, index, subject, [action], as_of)[0]


def checks_in_store(
    session: Session, index: MeasuresIndex, subject: str, actions: Sequence[str], as_of: date
) -> list[Decision]:
    """The decisions for one subject on each of ``actions``, as ``check_in_store`` makes one:
    the subject's index row is read once for all of them."""

    def held(code: str) -> bool:
        return session.scalar(select(Subject.id).where(Subject.identifier == code)) is not None

    identifier = decidable(subject, china_today(), held)
    for action in actions:
        if action not in index.pack.actions:
            raise UnknownAction(action, index.pack.actions)
    grants = session.scalar(
        select(MeasureIndexRow.grants).where(MeasureIndexRow.identifier == identifier)
    )
    index.put(identifier, grants or [])
    if held(identifier):
        index.known.add(identifier)
    return [index.decide(identifier, action, as_of) for action in actions]
