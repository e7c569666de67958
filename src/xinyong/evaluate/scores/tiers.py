"""The tiers kind (``xinyong.scoring.tiers``) as Ibis expressions over the facts, and the
overrides of a points scheme, which are tiers too.

A tier holds when every ``all`` condition, some ``any`` condition and no ``none`` condition
holds on the day; its evidence (0 points) explains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from xinyong.evaluate.calendar import add_months, earliest
from xinyong.evaluate.casts import exact_int
from xinyong.evaluate.conditions import max_months, record_matches
from xinyong.evaluate.facts import FactsSpec
from xinyong.evaluate.scores.plan import (
    CONTRIBUTION_SCHEMA,
    Inputs,
    ScorePlan,
    counts,
    null_int,
    rated_subjects,
)
from xinyong.policy import Pack
from xinyong.policy.schemes import Condition, RecordCondition, SchemeBase, Tier, TiersScheme


def tiers_plan(pack: Pack, scheme: TiersScheme, inputs: Inputs) -> ScorePlan:
    """The evidence and grade of every subject the scheme rates (tiers give no value)."""
    valued = rated_subjects(scheme, inputs).mutate(value=null_int())
    result = chosen_tiers(pack, scheme, scheme.tiers, "tiers", inputs, valued)
    grade = tier_grade(scheme.tiers, result.chosen.chosen)
    scores = result.chosen.select("subject_id", value=null_int(), grade=grade)
    return ScorePlan(result.evidence, lambda kept: scores)


def tier_grade(tiers: Sequence[Tier], chosen: ir.IntegerValue) -> ir.StringValue:
    grade: ir.StringValue = ibis.cases(
        *((chosen == index, tier.grade) for index, tier in enumerate(tiers)),
        else_=ibis.null("string"),
    )
    return grade


@dataclass(frozen=True)
class TierResult:
    chosen: ir.Table
    """``subject_id``, ``value``, ``chosen`` (index of the first tier that holds, or NULL)."""
    evidence: ir.Table
    """The chosen tier's evidence, as contributions."""


@dataclass(frozen=True)
class _Located:
    number: int
    tier: int
    group: str
    condition: Condition
    rule: str

    @property
    def needed(self) -> int:
        return self.condition.min_count if self.condition.records is not None else 1


def chosen_tiers(
    pack: Pack,
    scheme: SchemeBase,
    tiers: Sequence[Tier],
    key: str,
    inputs: Inputs,
    valued: ir.Table,
) -> TierResult:
    located: list[_Located] = []
    for tier_index, tier in enumerate(tiers):
        for (group, index), condition in tier.conditions():
            located.append(
                _Located(
                    len(located),
                    tier_index,
                    str(group),
                    condition,
                    f"{key}.{tier.grade}.{group}[{index}]",
                )
            )
    table = valued
    evidence: ir.Table | None = None
    per: ir.Table | None = None
    if located:
        # A view: a lone condition's evidence is itself a join, which later joins would extend.
        evidence = ibis.union(
            *(_evidence(pack, scheme, item, inputs, valued) for item in located)
        ).view()
        per = evidence.group_by(["subject_id", "condition"]).aggregate(found=evidence.count())
        pivot = per.group_by(per.subject_id.name("counted_subject")).aggregate(
            **{
                f"n{item.number}": ibis.ifelse(per.condition == item.number, per.found, 0).sum()
                for item in located
            }
        )
        table = valued.left_join(pivot, valued.subject_id == pivot.counted_subject).drop(
            "counted_subject"
        )
    holds = {item.number: table[f"n{item.number}"].fill_null(0) >= item.needed for item in located}
    branches = []
    for tier_index, tier in enumerate(tiers):
        mine = [item for item in located if item.tier == tier_index]
        applies: ir.BooleanValue = ibis.literal(True)
        if tier.min_value is not None:
            applies &= table.value.notnull() & (table.value >= tier.min_value)
        for item in mine:
            if item.group == "all":
                applies &= holds[item.number]
            elif item.group == "none":
                applies &= ~holds[item.number]
        alternatives = [holds[item.number] for item in mine if item.group == "any"]
        if alternatives:
            applies &= ibis.or_(*alternatives)
        branches.append((applies, tier_index))
    chosen = table.select("subject_id", "value", chosen=ibis.cases(*branches, else_=null_int()))
    if evidence is None or per is None:
        return TierResult(chosen, _no_contributions(valued))
    # The chosen tier is explained by its ``all`` and ``any`` conditions that hold.
    joined = evidence.join(per, ["subject_id", "condition"]).join(
        chosen.select("subject_id", "chosen"), "subject_id"
    )
    tier_of = _constant(joined.condition, [item.tier for item in located])
    needed = _constant(joined.condition, [item.needed for item in located])
    shown = _constant(joined.condition, [int(item.group != "none") for item in located])
    explained = joined.filter(
        (joined.chosen == tier_of) & (shown == 1) & (joined.found >= needed)
    ).select(*CONTRIBUTION_SCHEMA.names)
    return TierResult(chosen, explained)


def _evidence(
    pack: Pack, scheme: SchemeBase, item: _Located, inputs: Inputs, valued: ir.Table
) -> ir.Table:
    """The facts that make one condition hold on the day, for every rated subject."""
    section = exact_int(ibis.literal(1 + item.number))
    number = ibis.literal(item.number, type="int64")
    if item.condition.list is not None:
        entries = inputs.entries
        active = entries.filter(
            (entries.list_code == item.condition.list)
            & _within(entries.started_on, entries.ended_on, inputs.day)
        ).join(valued.select("subject_id"), "subject_id")
        return active.select(
            "subject_id",
            "record_id",
            rule=ibis.literal(item.rule, type="string"),
            points=exact_int(ibis.literal(0)),
            window_start=active.started_on,
            window_end=active.ended_on,
            section=section,
            ordinal=active.entry_id,
            condition=number,
        )
    condition = item.condition.records
    assert condition is not None
    records = inputs.records
    matching = records.filter(
        counts(scheme, records) & _matches(records, inputs.spec, condition)
    ).join(valued.select("subject_id"), "subject_id")
    windows = matching.mutate(
        window_start=matching.effective_on,
        window_end=_window_end(
            matching,
            item.condition.window_months,
            max_months(pack, matching, [condition.record_type]),
        ),
    )
    held = windows.filter(_within(windows.window_start, windows.window_end, inputs.day))
    return held.select(
        "subject_id",
        "record_id",
        rule=ibis.literal(item.rule, type="string"),
        points=exact_int(ibis.literal(0)),
        window_start="window_start",
        window_end="window_end",
        section=section,
        ordinal=held.record_id,
        condition=number,
    )


def _no_contributions(valued: ir.Table) -> ir.Table:
    empty = valued.filter(ibis.literal(False))
    return empty.select(
        "subject_id",
        record_id=null_int(),
        rule=ibis.null("string"),
        points=null_int(),
        window_start=ibis.null("date"),
        window_end=ibis.null("date"),
        section=null_int(),
        ordinal=null_int(),
    )


def _constant(selector: ir.IntegerValue, values: Sequence[int | None]) -> ir.IntegerValue:
    """The ``values[selector]`` of each row (a rule's points, window or cap)."""
    branches = [
        (selector == index, ibis.literal(value, type="int64"))
        for index, value in enumerate(values)
        if value is not None
    ]
    if not branches:
        return null_int()
    chosen: ir.IntegerValue = ibis.cases(*branches, else_=null_int())
    return chosen


def _matches(records: ir.Table, spec: FactsSpec, condition: RecordCondition) -> ir.BooleanValue:
    return record_matches(
        records,
        spec,
        record_type=condition.record_type,
        severities=condition.severities,
        min_amount=condition.min_amount,
        max_amount=condition.max_amount,
        fields=condition.fields,
    )


def _window_end(
    records: ir.Table,
    months: ir.IntegerValue | int | None,
    publicity_months: ir.IntegerValue,
) -> ir.DateValue:
    """End (exclusive, NULL for none) of a record's window, as ``scoring.windows.window``:
    ``months`` from its effective date, never past its maximum publicity period from its
    decision (``publicity_months``, NULL for none)."""
    end: ir.DateValue = (
        ibis.null("date") if months is None else add_months(records.effective_on, months)
    )
    # A NULL maximum period gives a NULL day: no end of its own.
    publicity_end = add_months(records.decided_on, publicity_months)
    return earliest(end, publicity_end)


def _within(start: ir.DateValue, end: ir.DateValue, day: date) -> ir.BooleanValue:
    held: ir.BooleanValue = (start <= day) & (end.isnull() | (end > day))
    return held
