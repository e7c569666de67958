"""The financial scorecard: features from a subject's own financial records, a 350-950
points table trained with optbinning, reason codes and population stability monitoring.

The assembly (``xinyong.assembly``) lets the ``scorecard`` scheme kind load trained artefacts
by name with ``Scorecard.load``.
"""

from xinyong.scorecard.features import FEATURES, features_of
from xinyong.scorecard.model import Reason, Scorecard, ScorecardResult

__all__ = ["FEATURES", "Reason", "Scorecard", "ScorecardResult", "features_of"]
