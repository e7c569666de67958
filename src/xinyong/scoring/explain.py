"""Why a subject has its score, and what will change it.

An explanation lists every contribution (the record with its document number, the rule, the
points, the window) and a timeline: each later day on which the score changes, the
contributions that leave or enter a window that day, and the value and grade after it. The
timeline is made by scoring the subject again on each of those days, so its last step is the
score on that day by construction. Every surface that shows a score shows this with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from xinyong.clock import china_today
from xinyong.policy import Bilingual, Pack
from xinyong.records.lookup import find_subject
from xinyong.scoring.facts import Contribution, Score, SubjectFacts
from xinyong.scoring.kinds import changes, rates, score
from xinyong.scoring.packs import EvaluatedScheme, default_packs, evaluated_schemes, find_scheme
from xinyong.scoring.store import current_evaluation, stored_score, subject_facts


class NotRated(LookupError):
    """The scheme does not rate subjects of this kind."""


@dataclass(frozen=True)
class Step:
    """A day on which the score changes, what changes, and the score after it."""

    day: date
    leaving: tuple[Contribution, ...]
    entering: tuple[Contribution, ...]
    value: int | None
    grade: str


@dataclass(frozen=True)
class Published:
    """The score as the current evaluation stored it."""

    evaluation_id: int
    as_of: date
    score: Score


@dataclass(frozen=True)
class Explanation:
    subject: str
    scheme: EvaluatedScheme
    as_of: date
    score: Score
    timeline: tuple[Step, ...]
    facts: SubjectFacts
    published: Published | None = None

    def as_dict(self) -> dict[str, Any]:
        scheme = self.scheme.scheme
        records = {record.record_id: record for record in self.facts.records}

        def contribution(item: Contribution) -> dict[str, Any]:
            record = records.get(item.record_id) if item.record_id is not None else None
            return {
                "record_id": item.record_id,
                "document_no": record.document_no if record else None,
                "record_type": record.record_type if record else None,
                "rule": item.rule,
                "rule_name": _name(scheme.rule_name(item.rule)),
                "points": item.points,
                "window_start": _day(item.window_start),
                "window_end": _day(item.window_end),
            }

        return {
            "subject": self.subject,
            "scheme": {
                "code": scheme.code,
                "kind": scheme.kind.value,
                "name": scheme.name.model_dump(),
                "domain": scheme.domain.value,
                "version": self.scheme.version,
                "description": scheme.description,
                **_range(self.scheme),
            },
            "as_of": self.as_of.isoformat(),
            "value": self.score.value,
            "grade": self.score.grade,
            "grade_name": _name(scheme.grade_name(self.score.grade)),
            "contributions": [contribution(item) for item in self.score.contributions],
            "timeline": [
                {
                    "date": step.day.isoformat(),
                    "leaving": [contribution(item) for item in step.leaving],
                    "entering": [contribution(item) for item in step.entering],
                    "value": step.value,
                    "grade": step.grade,
                    "grade_name": _name(scheme.grade_name(step.grade)),
                }
                for step in self.timeline
            ],
            "published": None
            if self.published is None
            else {
                "evaluation": self.published.evaluation_id,
                "as_of": self.published.as_of.isoformat(),
                "value": self.published.score.value,
                "grade": self.published.score.grade,
            },
        }


def _name(name: Bilingual | None) -> dict[str, str] | None:
    return None if name is None else name.model_dump()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _range(evaluated: EvaluatedScheme) -> dict[str, int]:
    scheme = evaluated.scheme
    found = {name: getattr(scheme, name, None) for name in ("base", "min", "max")}
    return {name: value for name, value in found.items() if isinstance(value, int)}


def timeline(evaluated: EvaluatedScheme, facts: SubjectFacts, as_of: date) -> tuple[Step, ...]:
    """Each later day on which the score changes, with what changes and the score after."""
    scheme = evaluated.scheme
    previous = score(scheme, facts, as_of)
    steps: list[Step] = []
    for day in sorted(changes(scheme, facts, as_of)):
        after = score(scheme, facts, day)
        if after != previous:
            steps.append(
                Step(
                    day,
                    tuple(
                        item for item in previous.contributions if item not in after.contributions
                    ),
                    tuple(
                        item for item in after.contributions if item not in previous.contributions
                    ),
                    after.value,
                    after.grade,
                )
            )
            previous = after
    return tuple(steps)


def explain_facts(evaluated: EvaluatedScheme, facts: SubjectFacts, as_of: date) -> Explanation:
    """The explanation of ``facts`` under a scheme on ``as_of`` (no IO)."""
    if facts.kind not in evaluated.scheme.subject_kinds:
        kinds = ", ".join(kind.value for kind in evaluated.scheme.subject_kinds)
        raise NotRated(f"{evaluated.scheme.code} rates {kinds} only, not a {facts.kind.value}")
    if not rates(evaluated.scheme, facts):
        raise NotRated(f"{evaluated.scheme.code} has nothing to score: no record it reads")
    return Explanation(
        facts.identifier,
        evaluated,
        as_of,
        score(evaluated.scheme, facts, as_of),
        timeline(evaluated, facts, as_of),
        facts,
    )


def explain(
    session: Session,
    subject: str,
    scheme: str,
    *,
    as_of: date | None = None,
    packs: Sequence[Pack] | None = None,
) -> Explanation:
    """Explain ``subject``'s score under ``scheme``: on ``as_of``, by default the day of the
    current evaluation (today if there is none); with the score that evaluation published,
    when there is one.

    ``LookupError`` for an unknown subject or scheme; ``NotRated`` when the scheme does not
    rate subjects of this kind.
    """
    evaluated = find_scheme(default_packs() if packs is None else packs, scheme)
    return _Explainer(session, subject, as_of).explain(evaluated)


def explanations(
    session: Session, subject: str, *, packs: Sequence[Pack] | None = None
) -> list[Explanation]:
    """The explanation of ``subject``'s score under every scheme that rates its kind."""
    explainer = _Explainer(session, subject, None)
    found = []
    for evaluated in evaluated_schemes(default_packs() if packs is None else packs):
        try:
            found.append(explainer.explain(evaluated))
        except NotRated:
            continue
    return found


class _Explainer:
    """Explains one subject's scores, reading its facts once per pack whatever the schemes."""

    def __init__(self, session: Session, subject: str, as_of: date | None) -> None:
        self.session = session
        self.subject = find_subject(session, subject)
        self.current = current_evaluation(session)
        self.day = as_of or (self.current.as_of if self.current else china_today())
        self._facts: dict[str, SubjectFacts] = {}

    def explain(self, evaluated: EvaluatedScheme) -> Explanation:
        digest = evaluated.pack.digest
        if digest not in self._facts:
            self._facts[digest] = subject_facts(self.session, evaluated.pack, self.subject.id)
        explanation = explain_facts(evaluated, self._facts[digest], self.day)
        if self.current is None:
            return explanation
        code = evaluated.scheme.code
        stored = stored_score(self.session, self.current.id, self.subject.id, code)
        if stored is None:
            return explanation
        published = Published(self.current.id, self.current.as_of, stored)
        return replace(explanation, published=published)
