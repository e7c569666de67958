"""The ``scorecard`` kind: points from a trained scorecard artefact, then bands.

The model is trained elsewhere (``xinyong scorecard train``); this kind needs only the small
interface below. It hands the model nothing but the subject's own counted records of the
record types the scheme declares as features, so a financial scorecard never sees a public
record. Each feature's points are one contribution (``feature:NAME``, no record).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from xinyong.policy.schemes import SchemeKind, ScorecardScheme
from xinyong.scoring.facts import Contribution, RecordFact, Score, SubjectFacts
from xinyong.scoring.kinds import Kind, register
from xinyong.scoring.windows import counts, later_days, matches, window, within


@dataclass(frozen=True, slots=True)
class FeaturePoints:
    """The points one feature of the model gives the subject."""

    feature: str
    points: int


class TrainedScorecard(Protocol):
    """A trained scorecard: the points of each feature for one subject's records."""

    def feature_points(self, records: Sequence[RecordFact], as_of: date) -> Sequence[FeaturePoints]:
        """Points per feature; their sum (including any base points) is the raw score."""
        ...


ArtefactLoader = Callable[[str], TrainedScorecard]
_loaders: list[ArtefactLoader] = []
_loaded: dict[str, TrainedScorecard] = {}


def register_artefact_loader(loader: ArtefactLoader | None) -> ArtefactLoader | None:
    """Install the function that loads a trained artefact by name (the assembly installs the
    trainer's, ``xinyong.scorecard``); returns the one it replaces, so it can be put back (``None`` removes it)."""
    previous = _loaders[0] if _loaders else None
    _loaders[:] = [] if loader is None else [loader]
    forget_trained()
    return previous


def forget_trained() -> None:
    """Drop the loaded artefacts, so that names such as ``latest`` are looked up again."""
    _loaded.clear()


def trained(artefact: str) -> TrainedScorecard:
    """The artefact ``artefact``, loaded once until ``forget_trained``."""
    if artefact not in _loaded:
        if not _loaders:
            raise LookupError(f"no loader of scorecard artefacts; cannot load {artefact!r}")
        _loaded[artefact] = _loaders[0](artefact)
    return _loaded[artefact]


def _features(scheme: ScorecardScheme, facts: SubjectFacts, as_of: date) -> list[RecordFact]:
    return [
        record
        for record in facts.records
        if counts(scheme, record)
        and any(matches(feature, record) for feature in scheme.features)
        and within(as_of, *window(scheme, record, None))
    ]


class Scorecard(Kind[ScorecardScheme]):
    name = SchemeKind.SCORECARD

    def score(self, scheme: ScorecardScheme, facts: SubjectFacts, as_of: date) -> Score:
        model = trained(scheme.artefact)
        features = model.feature_points(_features(scheme, facts, as_of), as_of)
        contributions = tuple(
            Contribution(None, f"feature:{item.feature}", item.points, None, None)
            for item in features
        )
        raw = sum(item.points for item in contributions)
        value = min(max(raw, scheme.min), scheme.max)
        return Score(value, scheme.grade_of(value), contributions)

    def covers(self, scheme: ScorecardScheme, facts: SubjectFacts) -> bool:
        # No credit file, no score: a subject without one financial record of the scheme's
        # features would otherwise get the points of "nothing known" as if they were earned.
        return any(
            counts(scheme, record) and any(matches(item, record) for item in scheme.features)
            for record in facts.records
        )

    def changes(self, scheme: ScorecardScheme, facts: SubjectFacts, as_of: date) -> set[date]:
        days: set[date] = set()
        for record in facts.records:
            if counts(scheme, record) and any(matches(item, record) for item in scheme.features):
                days |= later_days(as_of, *window(scheme, record, None))
        return days


register(Scorecard())
