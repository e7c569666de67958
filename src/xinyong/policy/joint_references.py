"""Cross-reference rules of joint enforcement: lists, measures, memoranda and actions.

Every consequence must be traceable: a list grounds on record types of the catalogue, a
measure touches only actions of the pack and every action is touched by some measure, a red
list never carries a punishment and a black list never a reward.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from xinyong.policy.actions import Action
from xinyong.policy.catalogue import RecordType
from xinyong.policy.errors import Location
from xinyong.policy.lists import AppliedMeasure, CreditList, ListKind
from xinyong.policy.measures import Measure, MeasureKind
from xinyong.policy.memoranda import Memorandum

Problem = tuple[str, str, Location, str]
"""(concept, item code, location inside the item, message)."""

_WRONG_KIND = {ListKind.RED: MeasureKind.PUNISHMENT, ListKind.BLACK: MeasureKind.REWARD}


def joint_problems(
    record_types: Mapping[str, RecordType],
    known_types: Collection[str],
    known_authorities: Collection[str],
    actions: Mapping[str, Action],
    measures: Mapping[str, Measure],
    lists: Mapping[str, CreditList],
    memoranda: Mapping[str, Memorandum],
    declared: Mapping[str, Collection[str]],
) -> Iterator[Problem]:
    known_actions = set(actions) | set(declared.get("actions", ()))
    known_measures = set(measures) | set(declared.get("measures", ()))
    known_lists = set(lists) | set(declared.get("lists", ()))
    for measure in measures.values():
        for action in measure.effects:
            if action not in known_actions:
                yield "measures", measure.code, ("effects", action), f"unknown action {action!r}"
    touched = {action for measure in measures.values() for action in measure.effects}
    # Measures that failed their own validation may touch an action: say nothing then.
    if not set(declared.get("measures", ())):
        for code in actions:
            if code not in touched:
                yield "actions", code, ("code",), "no measure touches this action"
    for credit_list in lists.values():
        yield from _list_problems(credit_list, record_types, known_types, known_authorities)
        yield from _applied_problems(
            "lists", credit_list.code, credit_list.measures, [credit_list], measures, known_measures
        )
    for memorandum in memoranda.values():
        triggers = []
        for index, code in enumerate(memorandum.triggers):
            if code not in known_lists:
                yield "memoranda", memorandum.code, ("triggers", index), f"unknown list {code!r}"
            elif code in lists:
                triggers.append(lists[code])
        yield from _applied_problems(
            "memoranda", memorandum.code, memorandum.measures, triggers, measures, known_measures
        )


def _list_problems(
    credit_list: CreditList,
    record_types: Mapping[str, RecordType],
    known_types: Collection[str],
    known_authorities: Collection[str],
) -> Iterator[Problem]:
    code = credit_list.code
    if credit_list.owner not in known_authorities:
        yield "lists", code, ("owner",), f"unknown authority {credit_list.owner!r}"
    for index, rule in enumerate(credit_list.entry):
        if rule.record_type not in known_types:
            yield (
                "lists",
                code,
                ("entry", index, "record_type"),
                f"unknown record type {rule.record_type!r}",
            )
            continue
        record_type = record_types.get(rule.record_type)
        if record_type is None:
            continue
        if credit_list.published and any(
            kind != "organisation" for kind in record_type.subject_kinds
        ):
            yield (
                "lists",
                code,
                ("entry", index, "record_type"),
                f"{rule.record_type} concerns persons, and a published list names only "
                "organisations: a person is published only as a defaulter, by a public record",
            )
        for grade_index, grade in enumerate(rule.severities):
            if grade not in record_type.severities:
                yield (
                    "lists",
                    code,
                    ("entry", index, "severities", grade_index),
                    f"{rule.record_type} has no grade {grade!r}",
                )
        properties = record_type.fields.get("properties")
        names = set(properties) if isinstance(properties, dict) else set()
        for name in rule.fields:
            if name not in names:
                yield (
                    "lists",
                    code,
                    ("entry", index, "fields", name),
                    f"{rule.record_type} has no field {name!r}",
                )
    if credit_list.removal is not None:
        for index, type_code in enumerate(credit_list.removal.record_types):
            if type_code not in known_types:
                yield (
                    "lists",
                    code,
                    ("removal", "record_types", index),
                    f"unknown record type {type_code!r}",
                )


def _applied_problems(
    concept: str,
    code: str,
    applied: tuple[AppliedMeasure, ...],
    lists: list[CreditList],
    measures: Mapping[str, Measure],
    known_measures: Collection[str],
) -> Iterator[Problem]:
    for index, item in enumerate(applied):
        location: Location = ("measures", index, "measure")
        if item.measure not in known_measures:
            yield concept, code, location, f"unknown measure {item.measure!r}"
            continue
        measure = measures.get(item.measure)
        if measure is None:
            continue
        for credit_list in lists:
            if _WRONG_KIND.get(credit_list.kind) is measure.kind:
                yield (
                    concept,
                    code,
                    location,
                    f"{credit_list.code} is a {credit_list.kind} list and cannot carry "
                    f"the {measure.kind} {measure.code}",
                )
