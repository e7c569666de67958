"""The registry of scheme kinds: each kind is one class behind one small interface.

``score`` is the reference implementation of a kind, one subject at a time, in plain Python:
the specification any batch engine is held to. ``changes`` names the days after ``as_of`` on
which the score may change (a record entering or leaving a window), for explanations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from typing import Any, ClassVar, Generic, TypeVar

from xinyong.policy.schemes import SchemeBase, SchemeKind
from xinyong.scoring.facts import Score, SubjectFacts

S = TypeVar("S", bound=SchemeBase)


class Kind(ABC, Generic[S]):
    """How schemes of one kind score a subject."""

    name: ClassVar[SchemeKind]

    @abstractmethod
    def score(self, scheme: S, facts: SubjectFacts, as_of: date) -> Score:
        """The subject's score on ``as_of``, with every contribution behind it."""

    @abstractmethod
    def changes(self, scheme: S, facts: SubjectFacts, as_of: date) -> set[date]:
        """Days after ``as_of`` on which the score may change."""

    def covers(self, scheme: S, facts: SubjectFacts) -> bool:
        """Whether the subject's records give this kind anything to score at all."""
        return True


_KINDS: dict[str, Kind[Any]] = {}


def register(kind: Kind[Any]) -> Kind[Any]:
    _KINDS[kind.name.value] = kind
    return kind


def get_kind(name: str) -> Kind[Any]:
    """The kind ``name`` (``points``, ``tiers``, ``scorecard``); ``KeyError`` if unknown."""
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"no scheme kind {name!r}; known: {', '.join(sorted(_KINDS))}") from None


def rates(scheme: SchemeBase, facts: SubjectFacts) -> bool:
    """Whether ``scheme`` rates this subject: one of the kinds (persons, organisations) it
    rates, with the records its kind needs."""
    return facts.kind in scheme.subject_kinds and get_kind(scheme.kind).covers(scheme, facts)


def score(scheme: SchemeBase, facts: SubjectFacts, as_of: date) -> Score:
    """The score of ``facts`` under ``scheme`` on ``as_of``, by the scheme's kind."""
    return get_kind(scheme.kind).score(scheme, facts, as_of)


def changes(scheme: SchemeBase, facts: SubjectFacts, as_of: date) -> set[date]:
    return get_kind(scheme.kind).changes(scheme, facts, as_of)
