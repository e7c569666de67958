"""The financial scorecard: features from a subject's own financial records, a 350-950
points table trained with optbinning, reason codes and population stability monitoring.

Importing the package lets the ``scorecard`` scheme kind load trained artefacts by name.
"""

from xinyong.scorecard.features import FEATURES, features_of
from xinyong.scorecard.model import Reason, Scorecard, ScorecardResult
from xinyong.scoring.scorecard import register_artefact_loader

register_artefact_loader(Scorecard.load)

__all__ = ["FEATURES", "Reason", "Scorecard", "ScorecardResult", "features_of"]
