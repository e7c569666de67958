"""What-if: what a proposed policy would change, before anyone adopts it.

Both policies are evaluated on the same data and day by the reference evaluator (list rules,
grants, decisions, scheme kinds), so every difference reported comes from the policy alone.
Nothing is written: no evaluation version, no entry, no index row.

A change is counted per subject and item: a grade under a scheme, membership of a list on
the day (an active entry), or the effect of a check for an action (allow / review / deny).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from xinyong.enforcement.bundles import build_bundles, decision_table
from xinyong.enforcement.decisions import ALLOW, DecisionMaker
from xinyong.enforcement.grants import Representation, bundles_by_list, subject_grants
from xinyong.enforcement.rules import Entry
from xinyong.policy import Pack
from xinyong.reports.population import Population
from xinyong.scoring.kinds import rates, score
from xinyong.scoring.packs import EvaluatedScheme, evaluated_schemes

GRADE, LIST, DECISION = "grade", "list", "decision"
KINDS = (GRADE, LIST, DECISION)
NOT_RATED = "—"
"""The grade of a subject a scheme does not rate (or a scheme the policy does not have)."""
OFF, ON = "off", "on"
BREAKDOWNS = ("region", "subject_type")


@dataclass(frozen=True)
class Policy:
    """What decides outcomes: the pack whose lists, measures and actions apply, and the
    schemes scored (by code)."""

    enforcement: Pack
    schemes: Mapping[str, EvaluatedScheme]

    @property
    def versions(self) -> list[str]:
        packs = {self.enforcement.policy_version}
        packs.update(item.version for item in self.schemes.values())
        return sorted(packs)


def current_policy(enforcement: Pack, scheme_packs: Sequence[Pack]) -> Policy:
    return Policy(enforcement, {item.scheme.code: item for item in evaluated_schemes(scheme_packs)})


def proposed_policy(current: Policy, scheme_packs: Sequence[Pack], proposed: Pack) -> Policy:
    """The current policy with ``proposed`` on top: its schemes replace those of the same code,
    and its lists, measures and actions apply if it has any lists (a pack extending one with
    lists has them all)."""
    schemes = evaluated_schemes([*scheme_packs, proposed])
    return Policy(
        proposed if proposed.lists else current.enforcement,
        {item.scheme.code: item for item in schemes},
    )


@dataclass
class ItemChange:
    """How many subjects one item changes for, from what to what, and where."""

    kind: str
    code: str
    subjects: set[int] = field(default_factory=set)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_region: Counter[str] = field(default_factory=Counter)
    by_subject_type: Counter[str] = field(default_factory=Counter)

    def add(self, population: Population, subject_id: int, before: str, after: str) -> None:
        self.subjects.add(subject_id)
        self.transitions[(before, after)] += 1
        found = population.profiles[subject_id]
        self.by_region[found.region] += 1
        self.by_subject_type[found.subject_type] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "changed": len(self.subjects),
            "transitions": [
                {"from": before, "to": after, "subjects": count}
                for (before, after), count in sorted(self.transitions.items())
            ],
            "by_region": dict(sorted(self.by_region.items())),
            "by_subject_type": dict(sorted(self.by_subject_type.items())),
        }


@dataclass
class WhatIf:
    as_of: date
    current: list[str]
    proposed: list[str]
    proposed_pack: str
    subjects: int
    population: dict[str, dict[str, int]]
    """Subjects per group, by breakdown (``region``, ``subject_type``)."""
    items: dict[tuple[str, str], ItemChange]
    published_evaluation: int | None = None

    def changed(self, kind: str) -> list[ItemChange]:
        """The items of ``kind`` (``grade``, ``list``, ``decision``), by code."""
        return [item for (found, _), item in sorted(self.items.items()) if found == kind]

    def changed_subjects(self) -> set[int]:
        return {subject for item in self.items.values() for subject in item.subjects}

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "current": self.current,
            "proposed": self.proposed,
            "proposed_pack": self.proposed_pack,
            "published_evaluation": self.published_evaluation,
            "subjects": self.subjects,
            "subjects_changed": len(self.changed_subjects()),
            "population": self.population,
            "grades": [item.as_dict() for item in self.changed(GRADE)],
            "lists": [item.as_dict() for item in self.changed(LIST)],
            "decisions": [item.as_dict() for item in self.changed(DECISION)],
        }


class _Decider:
    """Each subject's effect per action under one policy, from its grants."""

    def __init__(self, population: Population, pack: Pack) -> None:
        self.population = population
        self.pack = pack
        self.bundles = build_bundles(pack)
        self.by_list = bundles_by_list(self.bundles)
        self.maker = DecisionMaker(decision_table(pack, self.bundles))
        self.entries = population.entries(pack)

    def effects(self, subject_id: int) -> dict[str, str]:
        """Effects other than ``allow``, by action."""
        population = self.population
        held = [
            Representation(
                population.identifiers[organisation],
                started,
                ended,
                _numbered(self.entries.get(organisation, ())),
            )
            for organisation, started, ended in population.representations.get(subject_id, ())
        ]
        grants = subject_grants(_numbered(self.entries.get(subject_id, ())), held, self.by_list)
        if not grants:
            return {}
        identifier = population.identifiers[subject_id]
        found = {
            action: self.maker.decide(identifier, True, grants, action, population.as_of).effect
            for action in self.pack.actions
        }
        return {action: effect for action, effect in found.items() if effect != ALLOW}


def _numbered(entries: Iterable[Entry]) -> list[tuple[int, Entry]]:
    # Grants name their entry by id; these entries are not stored, so they are numbered here.
    return list(enumerate(entries))


def _lists_on(entries: Iterable[Entry], day: date) -> set[str]:
    return {entry.list_code for entry in entries if entry.active_on(day)}


def _same_scheme(before: EvaluatedScheme, after: EvaluatedScheme, same_entries: bool) -> bool:
    """Whether a scheme must give every subject the same grade under both policies."""
    return (
        before.pack.digest == after.pack.digest
        and before.scheme == after.scheme
        and (same_entries or not any(before.scheme.list_references()))
    )


def what_if(
    population: Population,
    current: Policy,
    proposed: Policy,
    *,
    proposed_pack: str,
    progress: Callable[[int], None] | None = None,
) -> WhatIf:
    """Every subject's grades, lists and decisions under both policies, compared."""
    day = population.as_of
    entries = (population.entries(current.enforcement), population.entries(proposed.enforcement))
    same_entries = entries[0] == entries[1]
    deciders = (
        _Decider(population, current.enforcement),
        _Decider(population, proposed.enforcement),
    )
    # Same entries and same measures per list and action: no decision can differ.
    same_decisions = same_entries and deciders[0].bundles == deciders[1].bundles
    schemes = sorted(set(current.schemes) | set(proposed.schemes))
    lists = sorted(set(current.enforcement.lists) | set(proposed.enforcement.lists))
    actions = sorted(set(current.enforcement.actions) | set(proposed.enforcement.actions))
    items = {
        (kind, code): ItemChange(kind, code)
        for kind, codes in ((GRADE, schemes), (LIST, lists), (DECISION, actions))
        for code in codes
    }
    compared = [
        (code, current.schemes.get(code), proposed.schemes.get(code))
        for code in schemes
        if code not in current.schemes
        or code not in proposed.schemes
        or not _same_scheme(current.schemes[code], proposed.schemes[code], same_entries)
    ]
    for subject_id in population.ids:
        for code, before, after in compared:
            old = _grade(population, before, subject_id, entries[0].get(subject_id, []))
            new = _grade(population, after, subject_id, entries[1].get(subject_id, []))
            if old != new:
                items[(GRADE, code)].add(population, subject_id, old, new)
        if not same_entries:
            was = _lists_on(entries[0].get(subject_id, ()), day)
            now = _lists_on(entries[1].get(subject_id, ()), day)
            for code in was ^ now:
                items[(LIST, code)].add(
                    population, subject_id, ON if code in was else OFF, ON if code in now else OFF
                )
        if not same_decisions:
            old_effects, new_effects = (decider.effects(subject_id) for decider in deciders)
            for action in set(old_effects) | set(new_effects):
                old, new = old_effects.get(action, ALLOW), new_effects.get(action, ALLOW)
                if old != new:
                    items[(DECISION, action)].add(population, subject_id, old, new)
        if progress is not None:
            progress(1)
    return WhatIf(
        day,
        current.versions,
        proposed.versions,
        proposed_pack,
        len(population.ids),
        {name: dict(sorted(population.counts(name).items())) for name in BREAKDOWNS},
        items,
    )


def _grade(
    population: Population,
    evaluated: EvaluatedScheme | None,
    subject_id: int,
    entries: Sequence[Entry],
) -> str:
    if evaluated is None:
        return NOT_RATED
    facts = population.facts(evaluated.pack, subject_id, entries)
    if not rates(evaluated.scheme, facts):
        return NOT_RATED
    return score(evaluated.scheme, facts, population.as_of).grade
