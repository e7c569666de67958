"""Points and tiers scores with their contributions, as Ibis expressions over the facts.

They state, in relational form, what the reference kinds (``xinyong.scoring``) do one subject
at a time: one module per kind (``points``, ``tiers``) over a shared core (``plan``: the
inputs, the contributions' columns and order, which records a scheme counts).
"""

from xinyong.evaluate.scores.plan import CONTRIBUTION_ORDER, CONTRIBUTION_SCHEMA, Inputs, ScorePlan
from xinyong.evaluate.scores.points import points_plan
from xinyong.evaluate.scores.tiers import tiers_plan
from xinyong.policy import Pack
from xinyong.policy.schemes import PointsScheme, TiersScheme

__all__ = ["CONTRIBUTION_ORDER", "CONTRIBUTION_SCHEMA", "Inputs", "ScorePlan", "score_plan"]


def score_plan(pack: Pack, scheme: PointsScheme | TiersScheme, inputs: Inputs) -> ScorePlan:
    """The contributions and scores of every subject the scheme rates."""
    if isinstance(scheme, PointsScheme):
        return points_plan(pack, scheme, inputs)
    return tiers_plan(pack, scheme, inputs)
