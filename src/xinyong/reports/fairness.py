"""Fairness: how the current evaluation's grades under one scheme fall across groups, and
which rules drive the gaps between groups.

Groups come from the subjects' own identifiers (``groups``). A rule's weight in a group is
its mean contribution per subject of the group (points; for rules that give 0 points, such
as tier conditions, the share of the group's subjects it applied to). The gap of a rule in a
dimension is the highest group's weight minus the lowest's; rules are ranked by it. The same
is done per record type (of the records the rules counted), which groups rules that read the
same kind of decision.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from xinyong.records.models import Record, Subject
from xinyong.reports.groups import DIMENSIONS, Profile, ordered, profile
from xinyong.scoring.models import ContributionRow, Evaluation, ScoreRow
from xinyong.scoring.store import current_evaluation

POINTS, SHARE = "points", "share"
TOP_RULES = 10


@dataclass(frozen=True)
class Gap:
    """One rule's (or record type's) weight in every group of a dimension, and the gap
    between the extremes."""

    code: str
    """The rule, or the record type."""
    unit: str
    """``points`` (mean points per subject) or ``share`` (of subjects it applied to)."""
    weights: dict[str, float]
    highest: str
    lowest: str

    @property
    def gap(self) -> float:
        return self.weights[self.highest] - self.weights[self.lowest]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "unit": self.unit,
            "gap": round(self.gap, 4),
            "highest": self.highest,
            "lowest": self.lowest,
            "weights": {group: round(weight, 4) for group, weight in self.weights.items()},
        }


@dataclass
class Fairness:
    scheme: str
    evaluation_id: int
    as_of: date
    grades: list[str]
    """Every grade given, best first where the scheme says, otherwise in name order."""
    subjects: int
    distributions: dict[str, dict[str, Counter[str]]]
    """Dimension -> group -> grade -> subjects."""
    gaps: dict[str, list[Gap]]
    """Dimension -> rules, largest gap first."""
    record_type_gaps: dict[str, list[Gap]]
    """Dimension -> record types (what the rules counted), largest gap first."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "evaluation": self.evaluation_id,
            "as_of": self.as_of.isoformat(),
            "grades": self.grades,
            "subjects": self.subjects,
            "dimensions": {
                dimension: {
                    "groups": [
                        {
                            "group": group,
                            "subjects": sum(grades.values()),
                            "grades": {grade: grades.get(grade, 0) for grade in self.grades},
                        }
                        for group, grades in (
                            (name, groups[name]) for name in ordered(dimension, groups)
                        )
                    ],
                    "rule_gaps": [gap.as_dict() for gap in self.gaps[dimension][:TOP_RULES]],
                    "record_type_gaps": [
                        gap.as_dict() for gap in self.record_type_gaps[dimension][:TOP_RULES]
                    ],
                }
                for dimension, groups in self.distributions.items()
            },
        }


def fairness(session: Session, scheme: str, order: tuple[str, ...] = ()) -> Fairness:
    """The fairness report of ``scheme`` over the current evaluation; ``order`` lists the
    scheme's grades best first. ``LookupError`` when there is nothing to report on."""
    evaluation = current_evaluation(session)
    if evaluation is None:
        raise LookupError("no evaluation has been published yet: run `xinyong evaluate` first")
    grades = _grades(session, evaluation, scheme)
    profiles = {
        subject_id: profile(identifier, evaluation.as_of)
        for subject_id, (identifier, _) in grades.items()
    }
    given = {grade for _, grade in grades.values()}
    grade_order = [grade for grade in order if grade in given] + sorted(given - set(order))
    distributions = grade_distributions(
        profiles, {subject_id: grade for subject_id, (_, grade) in grades.items()}
    )
    by_rule = _contributions(session, evaluation.id, scheme, ContributionRow.rule)
    by_type = _contributions(session, evaluation.id, scheme, Record.record_type)
    return Fairness(
        scheme,
        evaluation.id,
        evaluation.as_of,
        grade_order,
        len(grades),
        distributions,
        {dimension: rule_gaps(dimension, profiles, by_rule) for dimension in distributions},
        {dimension: rule_gaps(dimension, profiles, by_type) for dimension in distributions},
    )


def grade_distributions(
    profiles: dict[int, Profile], grades: dict[int, str]
) -> dict[str, dict[str, Counter[str]]]:
    """Dimension -> group -> grade -> subjects, for the dimensions that apply to anyone."""
    distributions: dict[str, dict[str, Counter[str]]] = {}
    for dimension in DIMENSIONS:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for subject_id, grade in grades.items():
            group = profiles[subject_id].group(dimension)
            if group is not None:
                groups[group][grade] += 1
        if groups:
            distributions[dimension] = dict(groups)
    return distributions


def rule_gaps(
    dimension: str,
    profiles: dict[int, Profile],
    contributions: dict[str, dict[int, int]],
) -> list[Gap]:
    """Every rule's gap between the groups of ``dimension``, largest first (rules with points
    before rules measured by share)."""
    sizes = Counter(
        group for item in profiles.values() if (group := item.group(dimension)) is not None
    )
    gaps = []
    for code, by_subject in contributions.items():
        unit = POINTS if any(by_subject.values()) else SHARE
        totals: Counter[str] = Counter()
        for subject_id, points in by_subject.items():
            group = profiles[subject_id].group(dimension) if subject_id in profiles else None
            if group is not None:
                totals[group] += points if unit == POINTS else 1
        weights = {group: totals[group] / size for group, size in sorted(sizes.items())}
        if len(weights) < 2:
            continue
        highest = max(weights, key=lambda group: weights[group])
        lowest = min(weights, key=lambda group: weights[group])
        gaps.append(Gap(code, unit, weights, highest, lowest))
    gaps.sort(key=lambda item: (item.unit != POINTS, -item.gap, item.code))
    return gaps


def _grades(session: Session, evaluation: Evaluation, scheme: str) -> dict[int, tuple[str, str]]:
    rows = session.execute(
        select(ScoreRow.subject_id, Subject.identifier, ScoreRow.grade)
        .join(Subject, Subject.id == ScoreRow.subject_id)
        .where(ScoreRow.evaluation_id == evaluation.id, ScoreRow.scheme == scheme)
    ).all()
    if not rows:
        known = session.scalars(
            select(ScoreRow.scheme)
            .where(ScoreRow.evaluation_id == evaluation.id)
            .group_by(ScoreRow.scheme)
            .order_by(ScoreRow.scheme)
        ).all()
        raise LookupError(
            f"evaluation {evaluation.id} has no scores under {scheme!r}; "
            f"schemes: {', '.join(known) or 'none'}"
        )
    return {row.subject_id: (row.identifier, row.grade) for row in rows}


def _contributions(
    session: Session, evaluation_id: int, scheme: str, key: InstrumentedAttribute[str]
) -> dict[str, dict[int, int]]:
    """Key (a rule, or the record type of the contributing record) -> subject -> the points
    it gave the subject (0 for a 0-point reason). Reasons without a record (scorecard
    features) have no record type."""
    found: dict[str, dict[int, int]] = defaultdict(dict)
    for code, subject_id, points in session.execute(
        select(key, ContributionRow.subject_id, func.sum(ContributionRow.points))
        .outerjoin(Record, Record.id == ContributionRow.record_id)
        .where(
            ContributionRow.evaluation_id == evaluation_id,
            ContributionRow.scheme == scheme,
            key.is_not(None),
        )
        .group_by(key, ContributionRow.subject_id)
    ):
        found[code][subject_id] = int(points)
    return dict(found)
