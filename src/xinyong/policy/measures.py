"""Measures: the disciplinary and incentive measures catalogue (``measures.yaml``).

A measure mirrors the four fields of the National Basic List of Disciplinary Measures
(content, target, legal basis, implementing authority) and adds what a check needs: the
actions it affects and its effect on each. It touches no action it does not name.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from xinyong.policy.actions import ActionCode
from xinyong.policy.models import Bilingual, CodedModel, ItemDocument, LegalBasis, NonEmpty


class MeasureKind(StrEnum):
    """A punishment restrains the untrustworthy; a reward eases things for the trustworthy."""

    PUNISHMENT = "punishment"
    REWARD = "reward"


class Effect(StrEnum):
    """What a measure does to an action: punishments deny or send to review, rewards ease."""

    DENY = "deny"
    REVIEW = "review"
    EXPEDITE = "expedite"
    WAIVE_DEPOSIT = "waive_deposit"
    REDUCE_INSPECTION = "reduce_inspection"

    @property
    def kind(self) -> MeasureKind:
        return MeasureKind.PUNISHMENT if self in PUNISHMENT_EFFECTS else MeasureKind.REWARD


PUNISHMENT_EFFECTS = frozenset({Effect.DENY, Effect.REVIEW})


class Measure(CodedModel):
    """One item of the measures catalogue."""

    code: NonEmpty
    """Stable identifier, e.g. ``consumption.air_travel``."""
    kind: MeasureKind
    """Punishment or reward."""
    name: Bilingual
    """The content of the measure, in Chinese and English."""
    category: NonEmpty
    """Group of measures, as the memoranda group them (``consumption``, ``key_positions`` ...)."""
    target: NonEmpty
    """Whom it applies to, in the words of its basis."""
    legal_basis: tuple[LegalBasis, ...] = Field(default=(), validate_default=True)
    """The law or policy that allows the measure; a measure without one is refused."""
    implemented_by: Bilingual
    """The implementing authority: who applies the measure when the subject asks."""
    effects: dict[ActionCode, Effect] = Field(min_length=1)
    """Action to effect: the only actions the measure touches."""

    @field_validator("legal_basis")
    @classmethod
    def _has_legal_basis(cls, value: tuple[LegalBasis, ...]) -> tuple[LegalBasis, ...]:
        if not value:
            raise ValueError("a measure needs a legal basis: every consequence rests on law")
        return value

    @field_validator("effects")
    @classmethod
    def _effects_fit_kind(cls, value: dict[str, Effect], info: ValidationInfo) -> dict[str, Effect]:
        kind = info.data.get("kind")
        wrong = sorted(action for action, effect in value.items() if kind and effect.kind != kind)
        if wrong:
            raise ValueError(f"a {kind} cannot have the effects given for {', '.join(wrong)}")
        return value


class MeasuresDocument(ItemDocument):
    """The file ``measures.yaml``: a list of measures."""

    measures: tuple[Measure, ...] = Field(min_length=1)
    """The measures of this pack."""

    def items(self) -> tuple[Measure, ...]:
        return self.measures
