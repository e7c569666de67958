"""The ``tiers`` kind: ordered tiers over records and list entries; the first that holds wins.

The last tier has no conditions and is the default. A tier's contributions are the records
and entries that made its conditions hold (0 points each), with their windows.
"""

from __future__ import annotations

from datetime import date

from xinyong.policy.schemes import SchemeKind, TiersScheme
from xinyong.scoring.conditions import condition_days, first_tier
from xinyong.scoring.facts import Score, SubjectFacts
from xinyong.scoring.kinds import Kind, register


class Tiers(Kind[TiersScheme]):
    name = SchemeKind.TIERS

    def score(self, scheme: TiersScheme, facts: SubjectFacts, as_of: date) -> Score:
        found = first_tier(scheme, scheme.tiers, facts, as_of, None, "tiers")
        # The last tier has no conditions, so some tier always applies.
        assert found is not None
        tier, reasons = found
        return Score(None, tier.grade, tuple(reasons))

    def changes(self, scheme: TiersScheme, facts: SubjectFacts, as_of: date) -> set[date]:
        return condition_days(scheme, scheme.tiers, facts, as_of)


register(Tiers())
