"""Population stability: has the population being scored moved away from the one trained on?

The population stability index of a feature (or of the score) compares the share of
subjects in each bin, training (``expected``) against today (``actual``):
``PSI = sum((actual - expected) * ln(actual / expected))``. The usual reading: below 0.1
stable, 0.1 to 0.25 watch, above 0.25 shift. Feature bins are the scorecard's own bins
(a missing value is a bin); score bins are the training scores' deciles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from xinyong.scorecard.model import Scorecard

STABLE_BELOW = 0.1
SHIFT_ABOVE = 0.25
SHARE_FLOOR = 1e-4
"""An empty bin counts as this share, so that the logarithm stays finite."""


def psi(expected: Sequence[int], actual: Sequence[int]) -> float:
    """The population stability index of two counts over the same bins."""
    if len(expected) != len(actual):
        raise ValueError(f"{len(expected)} bins against {len(actual)}")
    expected_total, actual_total = sum(expected), sum(actual)
    if not expected_total or not actual_total:
        raise ValueError("a population without subjects has no distribution")
    index = 0.0
    for before, now in zip(expected, actual, strict=True):
        e = max(before / expected_total, SHARE_FLOOR)
        a = max(now / actual_total, SHARE_FLOOR)
        index += (a - e) * math.log(a / e)
    return index


def stability(index: float) -> str:
    if index < STABLE_BELOW:
        return "stable"
    return "watch" if index <= SHIFT_ABOVE else "shift"


@dataclass(frozen=True, slots=True)
class Stability:
    name: str
    psi: float
    status: str
    expected: tuple[int, ...]
    actual: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MonitorReport:
    version: str
    training_subjects: int
    current_subjects: int
    features: tuple[Stability, ...]
    score: Stability


def _stability(name: str, expected: Sequence[int], actual: Sequence[int]) -> Stability:
    index = round(psi(expected, actual), 6)
    return Stability(name, index, stability(index), tuple(expected), tuple(actual))


def monitor(scorecard: Scorecard, population: Iterable[Mapping[str, float]]) -> MonitorReport:
    """The PSI of each feature and of the score, training population against ``population``
    (the features of each subject scored today)."""
    tables = scorecard.features
    feature_counts = [[0] * (len(table.bins) + 1) for table in tables]
    score_counts = [0] * len(scorecard.scores.counts)
    subjects = 0
    for features in population:
        subjects += 1
        for counts, table in zip(feature_counts, tables, strict=True):
            counts[table.index_of(features.get(table.name))] += 1
        score_counts[scorecard.scores.index_of(scorecard.score(features).points)] += 1
    if not subjects:
        raise ValueError("no subject to compare: nobody has a financial record in effect")
    return MonitorReport(
        version=scorecard.version,
        training_subjects=sum(scorecard.scores.counts),
        current_subjects=subjects,
        features=tuple(
            _stability(table.name, [item.count for item in table.all_bins()], counts)
            for table, counts in zip(tables, feature_counts, strict=True)
        ),
        score=_stability("score", scorecard.scores.counts, score_counts),
    )
