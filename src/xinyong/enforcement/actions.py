"""``GET /v1/actions``: what a relying party may ask about, and what can come of it.

The pack's actions with their names and, for each, the measures that touch it and their effect
on it: what a developer needs to send a check and to read its answer, without the pack's files.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from xinyong.policy import Pack
from xinyong.web.deps import get_pack

router = APIRouter(prefix="/v1/actions", tags=["checks"])


class Name(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    zh: str
    """In Chinese (zh-CN)."""
    en: str
    """In English."""


class BasisOut(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    title: str
    """The law, regulation or policy document."""
    article: str | None
    """The article that allows the measure, when the basis names one."""
    url: str | None
    """Where the document is published."""


class ActionMeasure(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    code: str
    """The measure's code, as ``measures[].code`` of a decision names it."""
    kind: str
    """``punishment`` (restrains) or ``reward`` (eases)."""
    name: Name
    """What the measure is."""
    effect: str
    """Its effect on this action: ``deny`` or ``review`` (punishments), ``expedite``,
    ``waive_deposit`` or ``reduce_inspection`` (rewards)."""
    category: str
    """The group of measures, as the memoranda group them."""
    legal_basis: list[BasisOut]
    """The law or policy that allows the measure."""
    implemented_by: Name
    """Who applies the measure when the subject asks."""


class ActionOut(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    code: str
    """What a check sends as ``action``."""
    name: Name
    """What the action is."""
    asked_by: list[str]
    """Who checks before serving the subject."""
    subject_kinds: list[str]
    """Which subjects can ask for it: ``person``, ``organisation``."""
    measures: list[ActionMeasure]
    """Every measure that can apply to the action, with its effect; a subject bound by none of
    them is allowed."""


class ActionsOut(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    policy_version: str
    """The policy pack the list comes from, as decisions name it."""
    actions: list[ActionOut]
    """Every action of the pack, by code."""


def actions_of(pack: Pack) -> ActionsOut:
    """Every action of ``pack`` with the measures that touch it, in code order."""
    return ActionsOut(
        policy_version=pack.policy_version,
        actions=[
            ActionOut(
                code=action.code,
                name=Name(zh=action.name.zh, en=action.name.en),
                asked_by=list(action.asked_by),
                subject_kinds=[kind.value for kind in action.subject_kinds],
                measures=[
                    ActionMeasure(
                        code=measure.code,
                        kind=measure.kind.value,
                        name=Name(zh=measure.name.zh, en=measure.name.en),
                        effect=measure.effects[action.code].value,
                        category=measure.category,
                        legal_basis=[
                            BasisOut(title=basis.title, article=basis.article, url=basis.url)
                            for basis in measure.legal_basis
                        ],
                        implemented_by=Name(
                            zh=measure.implemented_by.zh, en=measure.implemented_by.en
                        ),
                    )
                    for measure in sorted(pack.measures.values(), key=lambda item: item.code)
                    if action.code in measure.effects
                ],
            )
            for action in sorted(pack.actions.values(), key=lambda item: item.code)
        ],
    )


@router.get("", response_model=ActionsOut, summary="The actions a check can ask about")
def list_actions(pack: Annotated[Pack, Depends(get_pack)]) -> ActionsOut:
    """Every action of the policy in force, with its names and the measures that can apply to it
    and their effects. Public: the policy is published."""
    return actions_of(pack)
