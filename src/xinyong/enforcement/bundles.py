"""Bundles: the measures a list's entry carries, by action, resolved once from the pack.

A bundle is what one kind of grant brings: the subject's own entry (``self``), or the measures
that bind a listed organisation's legal representative (``while_representing``,
``at_listing``), for as long as the list's entry or a shorter span (``months``). Index rows
name bundles by key, so the per-subject index stays small and the pack is read once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from xinyong.enforcement.decisions import DecisionTable
from xinyong.policy import Pack
from xinyong.policy.lists import AppliedMeasure, Extension
from xinyong.policy.measures import Effect

SELF = "self"


@dataclass(frozen=True, slots=True)
class Bundle:
    key: str
    list_code: str
    mode: str
    """``self`` or an ``Extension`` value."""
    months: int | None
    by_action: Mapping[str, tuple[tuple[str, Effect], ...]]
    """Action -> (measure code, effect) of every measure of the bundle that touches it."""


def bundle_key(list_code: str, mode: str, months: int | None) -> str:
    return f"{list_code}|{mode}|{months or ''}"


def applied_measures(pack: Pack, list_code: str) -> Iterator[AppliedMeasure]:
    """The measures applied to a list's entries: its own, then those of memoranda naming it."""
    yield from pack.lists[list_code].measures
    for memorandum in pack.memoranda.values():
        if list_code in memorandum.triggers:
            yield from memorandum.measures


def build_bundles(pack: Pack) -> dict[str, Bundle]:
    """Every bundle of the pack, by key."""
    grouped: dict[tuple[str, str, int | None], dict[str, list[tuple[str, Effect]]]] = {}
    for list_code in pack.lists:
        for applied in applied_measures(pack, list_code):
            measure = pack.measures[applied.measure]
            modes = [SELF]
            if applied.extends_to_legal_representative is not Extension.NONE:
                modes.append(applied.extends_to_legal_representative.value)
            for mode in modes:
                by_action = grouped.setdefault((list_code, mode, applied.months), {})
                for action, effect in measure.effects.items():
                    hits = by_action.setdefault(action, [])
                    # A memorandum may repeat a measure the list already applies.
                    if (measure.code, effect) not in hits:
                        hits.append((measure.code, effect))
    return {
        bundle_key(*key): Bundle(
            bundle_key(*key),
            key[0],
            key[1],
            key[2],
            {action: tuple(hits) for action, hits in by_action.items()},
        )
        for key, by_action in grouped.items()
    }


def decision_table(pack: Pack, bundles: Mapping[str, Bundle]) -> DecisionTable:
    """What decisions read of ``pack``: its measures' and lists' texts, rendered once, and
    every bundle's (measure, effect) pairs by action."""
    return DecisionTable(
        pack.policy_version,
        {
            code: {
                "code": code,
                "kind": measure.kind.value,
                "name": measure.name.model_dump(),
                "category": measure.category,
                "legal_basis": [
                    basis.model_dump(exclude_none=True) for basis in measure.legal_basis
                ],
                "implemented_by": measure.implemented_by.model_dump(),
            }
            for code, measure in pack.measures.items()
        },
        {
            code: {"name": credit_list.name.model_dump(), "kind": credit_list.kind.value}
            for code, credit_list in pack.lists.items()
        },
        {
            key: {
                action: tuple((code, effect.value) for code, effect in hits)
                for action, hits in bundle.by_action.items()
            }
            for key, bundle in bundles.items()
        },
    )
