"""Scoring: scheme kinds behind one interface, the reference evaluator, stored scores, explanations.

Importing the package registers every kind (``get_kind("points")``).
"""

from xinyong.scoring import points, scorecard, tiers
from xinyong.scoring.facts import Contribution, EntryFact, Score, SubjectFacts
from xinyong.scoring.kinds import Kind, get_kind, rates, score

__all__ = [
    "Contribution",
    "EntryFact",
    "Kind",
    "Score",
    "SubjectFacts",
    "get_kind",
    "points",
    "rates",
    "score",
    "scorecard",
    "tiers",
]
