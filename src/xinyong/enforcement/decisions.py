"""Decisions: the answer to "may subject S do action A on day D?", from the measures index.

A decision names every measure that touches the action (with its legal basis and
implementing authority), the entries behind them (with start and end), the policy version,
and how long it holds. Punishments decide the effect (``deny`` over ``review`` over
``allow``); rewards are listed as ``benefits`` and withheld when the answer is ``deny``.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from xinyong.enforcement.bundles import Bundle
from xinyong.enforcement.grants import Grant
from xinyong.policy import Pack
from xinyong.policy.measures import PUNISHMENT_EFFECTS, Effect

ALLOW = "allow"
_RANK = {Effect.DENY: 2, Effect.REVIEW: 1}
_EFFECT_OF_RANK = {2: Effect.DENY.value, 1: Effect.REVIEW.value, 0: ALLOW}


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision; orjson writes it as a JSON object with these fields in this order."""

    decision_id: str
    subject_id: str
    known: bool
    action: str
    as_of: date
    effect: str
    benefits: tuple[str, ...]
    measures: tuple[dict[str, Any], ...]
    entries: tuple[dict[str, Any], ...]
    policy_version: str
    valid_until: date

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class DecisionIds:
    """Decision ids unique across processes: a random per-process prefix and a counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


class DecisionMaker:
    """Turns a subject's grants into a decision; the pack's texts are rendered once."""

    def __init__(self, pack: Pack, bundles: Mapping[str, Bundle]) -> None:
        self.pack = pack
        self.bundles = bundles
        self.policy_version = pack.policy_version
        self.next_id = DecisionIds()
        self._measures = {
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
        }
        self._lists = {
            code: {"name": credit_list.name.model_dump(), "kind": credit_list.kind.value}
            for code, credit_list in pack.lists.items()
        }

    @staticmethod
    def valid_until(as_of: date) -> date:
        # A decision holds for the day at most: records may arrive at any time.
        return as_of + timedelta(days=1)

    def allow(
        self, subject_id: str, known: bool, action: str, as_of: date, valid_until: date
    ) -> Decision:
        """The decision for a subject without grants."""
        return Decision(
            self.next_id(),
            subject_id,
            known,
            action,
            as_of,
            ALLOW,
            (),
            (),
            (),
            self.policy_version,
            valid_until,
        )

    def decide(
        self, subject_id: str, known: bool, grants: Sequence[Grant], action: str, as_of: date
    ) -> Decision:
        valid_until = self.valid_until(as_of)
        if not grants:
            return self.allow(subject_id, known, action, as_of, valid_until)
        rank = 0
        benefits: list[str] = []
        measures: list[dict[str, Any]] = []
        entries: dict[int, dict[str, Any]] = {}
        seen: set[str] = set()
        for grant in grants:
            if grant.valid_from > as_of:
                valid_until = min(valid_until, grant.valid_from)
                continue
            if grant.valid_to <= as_of:
                continue
            hits = self.bundles[grant.bundle].by_action.get(action)
            if not hits:
                continue
            valid_until = min(valid_until, grant.valid_to)
            for measure_code, effect in hits:
                if effect in PUNISHMENT_EFFECTS:
                    rank = max(rank, _RANK[effect])
                elif effect.value not in benefits:
                    benefits.append(effect.value)
                if measure_code in seen:
                    continue
                seen.add(measure_code)
                measures.append(
                    {
                        **self._measures[measure_code],
                        "effect": effect.value,
                        "list": grant.list_code,
                        "entry_id": grant.entry_id,
                        "via": grant.via,
                    }
                )
            entries.setdefault(
                grant.entry_id,
                {
                    "id": grant.entry_id,
                    "list": grant.list_code,
                    **self._lists[grant.list_code],
                    "started_on": grant.started_on,
                    "ends_on": grant.ended_on,
                    "via": grant.via,
                },
            )
        outcome = _EFFECT_OF_RANK[rank]
        return Decision(
            self.next_id(),
            subject_id,
            known,
            action,
            as_of,
            outcome,
            () if rank == _RANK[Effect.DENY] else tuple(benefits),
            tuple(measures),
            tuple(entries.values()),
            self.policy_version,
            valid_until,
        )
