"""Checks outside the server: one subject's decision read straight from the store (the CLI)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import MeasureIndexRow
from xinyong.identifiers.normalise import normalise
from xinyong.store.models import Subject


class UnknownAction(ValueError):
    """An action the policy pack does not define."""


def check_in_store(
    session: Session, index: MeasuresIndex, subject: str, action: str, as_of: date
) -> Decision:
    """The decision for one subject, loading only its index row (no full snapshot)."""
    if action not in index.pack.actions:
        raise UnknownAction(
            f"unknown action {action!r}; the pack defines: {', '.join(sorted(index.pack.actions))}"
        )
    identifier = normalise(subject)
    grants = session.scalar(
        select(MeasureIndexRow.grants).where(MeasureIndexRow.identifier == identifier)
    )
    index.put(identifier, grants or [])
    if session.scalar(select(Subject.id).where(Subject.identifier == identifier)) is not None:
        index.known.add(identifier)
    return index.decide(identifier, action, as_of)
