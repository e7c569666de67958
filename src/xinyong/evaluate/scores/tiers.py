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
import pyarrow as pa

from xinyong.evaluate.calendar import add_months, earliest
from xinyong.evaluate.casts import exact_int
from xinyong.evaluate.conditions import grades, has_value_tests, meets_values
from xinyong.evaluate.scores.plan import (
    CONTRIBUTION_SCHEMA,
    Inputs,
    ScorePlan,
    counts,
    null_int,
    rated_subjects,
)
from xinyong.policy import Pack
from xinyong.policy.schemes import Condition, SchemeBase, Tier, TiersScheme

TIER_PAIRS = pa.schema(
    [
        ("condition", pa.int64()),
        ("record_type", pa.string()),
        ("severity", pa.string()),
        ("window_months", pa.int64()),
        ("max_months", pa.int64()),
    ]
)
"""A record condition's type-and-grade pairs, with its window and the pair's maximum
publicity period (months; NULL for none)."""


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
    """The first tier that holds for each subject of ``valued`` (the subjects the scheme
    rates, each with its value), and its evidence.

    The conditions are data, not expressions: a small table of them (tier, group, count
    needed, rule name) is joined once to the facts that meet any of them, so the plan has
    the same few parts however many conditions the tiers have.
    """
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
    if not located:
        chosen = valued.select("subject_id", "value", chosen=_first_tier(tiers, located, valued))
        return TierResult(chosen, _no_contributions(valued))
    # Each fact knows how many facts its condition found for the subject: a count over a
    # window, not a group-by joined back (which would join the evidence to itself).
    evidence = _evidence(pack, scheme, located, inputs)
    found = evidence.condition.count().over(group_by=[evidence.subject_id, evidence.condition])
    held = evidence.mutate(found=found).filter(lambda t: t.found >= t.needed)
    # How many conditions of each group of each tier hold, a column for each that a tier has.
    groups = sorted({(item.tier, item.group) for item in located})
    counted = held.group_by(held.subject_id.name("counted_subject")).aggregate(
        **{
            _held_column(tier, group): held.condition.nunique(
                where=(held.tier == tier) & (held.group == group)
            )
            for tier, group in groups
        }
    )
    table = valued.left_join(counted, valued.subject_id == counted.counted_subject).drop(
        "counted_subject"
    )
    chosen = table.select("subject_id", "value", chosen=_first_tier(tiers, located, table))
    # The chosen tier is explained by its ``all`` and ``any`` conditions that hold.
    joined = held.join(chosen.select("subject_id", "chosen"), "subject_id")
    explained = joined.filter((joined.chosen == joined.tier) & (joined.group != "none")).select(
        *CONTRIBUTION_SCHEMA.names
    )
    return TierResult(chosen, explained)


def _held_column(tier: int, group: str) -> str:
    return f"held_{group}_{tier}"


def _first_tier(
    tiers: Sequence[Tier], located: Sequence[_Located], table: ir.Table
) -> ir.IntegerValue:
    """The index of the first tier that holds (NULL for none), from the held counts of
    ``table``: every ``all`` condition, some ``any`` condition and no ``none`` condition."""
    branches = []
    for tier_index, tier in enumerate(tiers):
        applies: ir.BooleanValue = ibis.literal(True)
        if tier.min_value is not None:
            applies &= table.value.notnull() & (table.value >= tier.min_value)
        mine = [item for item in located if item.tier == tier_index]
        for group in sorted({item.group for item in mine}):
            found = table[_held_column(tier_index, group)].fill_null(0)
            if group == "all":
                applies &= found == sum(1 for item in mine if item.group == "all")
            elif group == "any":
                applies &= found > 0
            else:
                applies &= found == 0
        branches.append((applies, tier_index))
    chosen: ir.IntegerValue = ibis.cases(*branches, else_=null_int())
    return chosen


def _evidence(
    pack: Pack,
    scheme: SchemeBase,
    located: Sequence[_Located],
    inputs: Inputs,
) -> ir.Table:
    """The facts that make each condition hold on the day, for every rated subject, with
    the condition's tier, group, the count it needs and its contribution's columns."""
    day = inputs.day
    engine = inputs.engine
    # The rated subjects, not those of ``valued``: the same subjects, without the values'
    # sum for the plan to carry into every part that reads them.
    subjects = rated_subjects(scheme, inputs)
    parts = []
    listed = [item for item in located if item.condition.list is not None]
    if listed:
        lists = engine.policy_table(
            "tier_lists",
            pa.table(
                {
                    "condition": pa.array([item.number for item in listed], pa.int64()),
                    "list_code": pa.array([item.condition.list for item in listed], pa.string()),
                }
            ),
        )
        entries = inputs.entries
        active = (
            entries.filter(_within(entries.started_on, entries.ended_on, day))
            .join(lists, "list_code")
            .join(subjects, "subject_id")
        )
        parts.append(
            active.select(
                "subject_id",
                "record_id",
                "condition",
                window_start=active.started_on,
                window_end=active.ended_on,
                ordinal=active.entry_id,
            )
        )
    recorded = [item for item in located if item.condition.records is not None]
    if recorded:
        parts.append(_record_evidence(pack, scheme, recorded, inputs, subjects))
    found = parts[0] if len(parts) == 1 else ibis.union(*parts)
    conditions = engine.policy_table(
        "tier_conditions",
        pa.table(
            {
                "condition": pa.array([item.number for item in located], pa.int64()),
                "tier": pa.array([item.tier for item in located], pa.int64()),
                "group": pa.array([item.group for item in located], pa.string()),
                "needed": pa.array([item.needed for item in located], pa.int64()),
                "rule": pa.array([item.rule for item in located], pa.string()),
                "section": pa.array([1 + item.number for item in located], pa.int64()),
            }
        ),
    )
    joined = found.join(conditions, "condition")
    return joined.select(
        "subject_id",
        "record_id",
        "rule",
        points=exact_int(ibis.literal(0)),
        window_start=joined.window_start,
        window_end=joined.window_end,
        section=joined.section,
        ordinal=joined.ordinal,
        condition=joined.condition,
        tier=joined.tier,
        group=joined.group,
        needed=joined.needed,
    )


def _record_evidence(
    pack: Pack,
    scheme: SchemeBase,
    recorded: Sequence[_Located],
    inputs: Inputs,
    subjects: ir.Table,
) -> ir.Table:
    """The records in their window on the day of each record condition: matched by type and
    grade through a small table of the pairs each condition reads (with its window and the
    pair's maximum publicity period), by amount and fields with a CASE over the conditions
    that have such tests."""
    rows = [
        (item.number, code, severity.value, item.condition.window_months, months)
        for item in recorded
        if (condition := item.condition.records) is not None
        for code in [condition.record_type]
        for severity, months in grades(pack, code)
        if not condition.severities or severity.value in condition.severities
    ]
    pairs = inputs.engine.policy_rows("tier_pairs", TIER_PAIRS, rows)
    records = inputs.records
    # Nothing that takes effect after the day holds on it: a cheap test before the join.
    possible = records.filter(counts(scheme, records) & (records.effective_on <= inputs.day))
    keyed = possible.join(pairs, ["record_type", "severity"])
    tested = [
        (keyed.condition == item.number, meets_values(keyed, inputs.spec, item.condition.records))
        for item in recorded
        if item.condition.records is not None and has_value_tests(item.condition.records)
    ]
    if tested:
        keyed = keyed.filter(ibis.cases(*tested, else_=ibis.literal(True)))
    matching = keyed.join(subjects, "subject_id")
    window_end = _window_end(matching, matching.window_months, matching.max_months)
    windows = matching.mutate(window_start=matching.effective_on, window_end=window_end)
    held = windows.filter(_within(windows.window_start, windows.window_end, inputs.day))
    return held.select(
        "subject_id",
        "record_id",
        "condition",
        window_start="window_start",
        window_end="window_end",
        ordinal=held.record_id,
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


def _window_end(
    records: ir.Table, months: ir.IntegerValue, publicity_months: ir.IntegerValue
) -> ir.DateValue:
    """End (exclusive, NULL for none) of a record's window, as ``scoring.windows.window``:
    ``months`` from its effective date, never past its maximum publicity period from its
    decision (``publicity_months``); a NULL number of months gives a NULL day, no end."""
    return earliest(
        add_months(records.effective_on, months), add_months(records.decided_on, publicity_months)
    )


def _within(start: ir.DateValue, end: ir.DateValue, day: date) -> ir.BooleanValue:
    held: ir.BooleanValue = (start <= day) & (end.isnull() | (end > day))
    return held
