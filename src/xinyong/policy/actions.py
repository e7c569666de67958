"""Actions: what a relying party asks about before it serves a subject (``actions.yaml``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from xinyong.policy.catalogue import SubjectKind
from xinyong.policy.models import Bilingual, CodedModel, ItemDocument, NonEmpty

ActionCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
"""A verb phrase in lower case, e.g. ``buy_air_ticket``."""


class Action(CodedModel):
    """Something a subject asks a relying party for: a ticket, a licence, a subsidy."""

    code: ActionCode
    """Stable identifier that relying parties send in a check."""
    name: Bilingual
    """Name in Chinese and English."""
    asked_by: tuple[NonEmpty, ...] = Field(min_length=1)
    """Who checks before serving the subject (airlines, procurement offices ...)."""
    subject_kinds: tuple[SubjectKind, ...] = (SubjectKind.PERSON, SubjectKind.ORGANISATION)
    """Which subjects can ask for it."""
    mirror_staleness_minutes: int = Field(60, ge=1, le=1440)
    """How long a relying party's mirror may answer for this action from a feed it has not
    confirmed current with the platform; after that it answers ``review``, never a stale
    ``allow``."""


class ActionsDocument(ItemDocument):
    """The file ``actions.yaml``: a list of actions."""

    actions: tuple[Action, ...] = Field(min_length=1)
    """The actions of this pack."""

    def items(self) -> tuple[Action, ...]:
        return self.actions
