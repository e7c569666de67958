"""Points and tiers scores with their contributions, as Ibis expressions over the facts.

It states, in relational form, what the reference kinds (``xinyong.scoring.points`` and
``xinyong.scoring.tiers``) do one subject at a time:

- a record counts unless withdrawn (or, in a public scheme, repaired), under the first rule
  it matches, while ``effective_on <= day < end of its window`` (never past its maximum
  publicity period);
- caps are running totals in order of effective date, then record id: under a rule's cap
  of ``C`` points the ``k``-th record (from 0) gets ``clamp(C - k·|p|, 0, |p|)``; under a
  category's cap, additions and deductions apart, a record gets
  ``min(cum, C) - min(cum - |a|, C)`` where ``cum`` is the running sum including it;
- the value is the base plus the sum, clamped; bands give the grade unless an override holds;
- a tier holds when every ``all`` condition, some ``any`` condition and no ``none``
  condition holds on the day; its evidence (0 points) explains it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from xinyong.enforcement.rules import add_months as add_months_to
from xinyong.evaluate.calendar import add_months, earliest
from xinyong.evaluate.conditions import max_months, record_matches, value_matches
from xinyong.evaluate.facts import FactsSpec
from xinyong.policy import Domain, Pack
from xinyong.policy.schemes import (
    Band,
    Condition,
    PointsRule,
    PointsScheme,
    RecordCondition,
    SchemeBase,
    Tier,
    TiersScheme,
)
from xinyong.scoring.facts import REPAIRED, WITHDRAWN

POINTS_COLUMNS = (
    "subject_id",
    "record_id",
    "record_type",
    "decided_on",
    "effective_on",
    "severity",
    "amount",
    "status",
)
"""The facts a points rule reads, besides the fields it names."""
CONTRIBUTION_ORDER = ("subject_id", "section", "sort_day", "ordinal")
CONTRIBUTION_SCHEMA = ibis.schema(
    {
        "subject_id": "int64",
        "record_id": "int64",
        "rule": "string",
        "points": "int64",
        "window_start": "date",
        "window_end": "date",
        "section": "int64",
        "sort_day": "date",
        "ordinal": "int64",
    }
)
"""The contributions' columns and types (whatever an engine makes of a materialised table's
literals). ``section``, ``sort_day`` and ``ordinal`` order a subject's contributions as the
reference lists them: points by effective date and record, then each condition's evidence."""


@dataclass(frozen=True)
class Inputs:
    """The tables a scheme is scored from, and the day it is scored on."""

    records: ir.Table
    subjects: ir.Table
    entries: ir.Table
    spec: FactsSpec
    day: date
    materialise: Callable[[ir.Table], ir.Table] = field(default=lambda table: table)
    """Computes a table once for the expressions that read it (``Engine.materialise``)."""
    small_table: Callable[[str, pa.Table], ir.Table] = field(
        default=lambda name, rows: ibis.memtable(rows)
    )
    """Hands the engine a small table the plan builds from policy (``Engine.table``)."""


@dataclass(frozen=True)
class ScorePlan:
    scores: ir.Table
    contributions: ir.Table


def score_plan(pack: Pack, scheme: PointsScheme | TiersScheme, inputs: Inputs) -> ScorePlan:
    """The scores and contributions of every subject the scheme rates."""
    rated = inputs.subjects.filter(
        inputs.subjects.kind.isin([kind.value for kind in scheme.subject_kinds])
    ).select("subject_id")
    if isinstance(scheme, PointsScheme):
        return _points(pack, scheme, inputs, rated)
    tiers = _tiers(pack, scheme, scheme.tiers, "tiers", inputs, rated.mutate(value=_null_int()))
    grade = _tier_grade(scheme.tiers, tiers.chosen.chosen)
    scores = tiers.chosen.select("subject_id", value=_null_int(), grade=grade)
    return ScorePlan(scores, tiers.evidence)


def _null_int() -> ir.IntegerValue:
    value: ir.IntegerValue = ibis.null("int64")
    return value


def _counted(scheme: SchemeBase, records: ir.Table) -> ir.BooleanValue:
    counted: ir.BooleanValue = records.status != WITHDRAWN
    if scheme.domain is Domain.PUBLIC:
        counted &= records.status != REPAIRED
    return counted


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
    pack: Pack,
    scheme: SchemeBase,
    records: ir.Table,
    months: ir.IntegerValue | int | None,
    record_types: Sequence[str],
) -> ir.DateValue:
    """End (exclusive, NULL for none) of a record's window, as ``scoring.windows.window``."""
    end: ir.DateValue = (
        ibis.null("date") if months is None else add_months(records.effective_on, months)
    )
    # A NULL maximum period gives a NULL day: no end of its own.
    publicity_end = add_months(records.decided_on, max_months(pack, records, record_types))
    return earliest(end, publicity_end)


def first_counting_day(day: date, months: int) -> date:
    """The earliest start whose window of ``months`` still covers ``day``.

    ``add_months`` never decreases as its start grows, so ``start + months > day`` holds
    exactly for the starts from this day on.
    """
    low, high = day - timedelta(days=31 * months + 31), day + timedelta(days=1)
    while low < high:
        middle = low + (high - low) // 2
        if add_months_to(middle, months) > day:
            high = middle
        else:
            low = middle + timedelta(days=1)
    return low


def _within(start: ir.DateValue, end: ir.DateValue, day: date) -> ir.BooleanValue:
    held: ir.BooleanValue = (start <= day) & (end.isnull() | (end > day))
    return held


def _constant(selector: ir.IntegerValue, values: Sequence[int | None]) -> ir.IntegerValue:
    """The ``values[selector]`` of each row (a rule's points, window or cap)."""
    branches = [
        (selector == index, ibis.literal(value, type="int64"))
        for index, value in enumerate(values)
        if value is not None
    ]
    if not branches:
        return _null_int()
    chosen: ir.IntegerValue = ibis.cases(*branches, else_=_null_int())
    return chosen


def _points(pack: Pack, scheme: PointsScheme, inputs: Inputs, rated: ir.Table) -> ScorePlan:
    records = inputs.records
    rules = scheme.rules
    types = sorted({rule.record_type for rule in rules})
    # A record's type and grade are matched by a join with a small table of the pairs the
    # rules read, as a bare join would; each rule then needs only an integer test of the
    # pair and its amount and field conditions.
    keys = _rule_keys(pack, scheme, inputs)
    # Only the columns the rules read: the others would be read and copied for nothing.
    read = sorted({inputs.spec.text(name) for rule in rules for name in rule.fields})
    keyed = records.select(*POINTS_COLUMNS, *read).join(keys.table, ["record_type", "severity"])
    matches = [
        keyed.pair.isin(pairs)
        & value_matches(
            keyed,
            inputs.spec,
            min_amount=rule.min_amount,
            max_amount=rule.max_amount,
            fields=rule.fields,
        )
        for rule, pairs in zip(rules, keys.pairs, strict=True)
    ]
    # Whether a record is in its window on the day is a comparison with the first day a
    # window of the first rule it matches still covers, computed here once per rule (and per
    # grade for the publicity period). One CASE gives that day: the database may copy a
    # filter's expressions, and a CASE over a CASE would be copied once per branch.
    first_day: ir.DateValue = ibis.cases(
        *(
            (match, ibis.literal(first_counting_day(inputs.day, rule.window_months), type="date"))
            for match, rule in zip(matches, rules, strict=True)
        ),
        else_=ibis.null("date"),
    )
    in_window = (
        _counted(scheme, keyed)
        & (keyed.effective_on <= inputs.day)
        & (keyed.effective_on >= first_day)
        & (keyed.decided_on >= keyed.publicity_from)
    )
    candidates = (
        keyed.filter(in_window)
        .mutate(
            rule_index=ibis.cases(
                *((match, index) for index, match in enumerate(matches)), else_=_null_int()
            )
        )
        .drop("pair", "publicity_from")
    )
    counted = candidates.join(rated, "subject_id")
    # Read twice below (capped rules apart from the others): computed once.
    counting = inputs.materialise(
        counted.mutate(
            rule=ibis.cases(
                *((counted.rule_index == index, rule.code) for index, rule in enumerate(rules)),
                else_=ibis.null("string"),
            ),
            window_start=counted.effective_on,
            window_end=_window_end(
                pack,
                scheme,
                counted,
                _constant(counted.rule_index, [rule.window_months for rule in rules]),
                types,
            ),
        )
    )
    ruled = inputs.materialise(_rule_capped(rules, counting))
    contributions = (
        _category_capped(pack, scheme, ruled, types)
        .filter(lambda t: t.points != 0)
        .select(
            "subject_id",
            "record_id",
            "rule",
            "points",
            "window_start",
            "window_end",
            section=ibis.literal(0, type="int64"),
            sort_day="effective_on",
            ordinal="record_id",
        )
    )
    # Scores and contributions both read the points: computed once, not once for each.
    contributions = inputs.materialise(contributions).cast(CONTRIBUTION_SCHEMA)
    totals = contributions.group_by("subject_id").aggregate(total=contributions.points.sum())
    valued = rated.left_join(totals, "subject_id").select(
        "subject_id",
        value=ibis.greatest(
            ibis.least(scheme.base + totals.total.fill_null(0), scheme.max), scheme.min
        ).cast("int64"),
    )
    if not scheme.overrides:
        scores = valued.select("subject_id", "value", grade=_band_grade(scheme.bands, valued.value))
        return ScorePlan(scores, contributions)
    overrides = _tiers(pack, scheme, scheme.overrides, "overrides", inputs, valued)
    chosen = overrides.chosen
    grade = ibis.ifelse(
        chosen.chosen.isnull(),
        _band_grade(scheme.bands, chosen.value),
        _tier_grade(scheme.overrides, chosen.chosen),
    )
    scores = chosen.select("subject_id", "value", grade=grade)
    return ScorePlan(scores, ibis.union(contributions, overrides.evidence))


@dataclass(frozen=True)
class _RuleKeys:
    table: ir.Table
    """``record_type``, ``severity``, ``pair`` and ``publicity_from`` (the earliest decision
    day still within the maximum publicity period on the day)."""
    pairs: list[list[int]]
    """For each rule, the pairs (type and grade) it reads."""


def _rule_keys(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> _RuleKeys:
    day = inputs.day
    rows: list[tuple[str, str, date]] = []
    for code in sorted({rule.record_type for rule in scheme.rules}):
        for severity, period in pack.record_type(code).severities.items():
            # No scheme counts a record past its maximum publicity period.
            start = (
                date.min
                if period.max_months is None
                else first_counting_day(day, period.max_months)
            )
            rows.append((code, severity.value, start))
    pairs = [
        [
            number
            for number, (code, severity, _) in enumerate(rows)
            if code == rule.record_type and (not rule.severities or severity in rule.severities)
        ]
        for rule in scheme.rules
    ]
    table = inputs.small_table(
        f"rule_keys_{uuid.uuid4().hex}",
        pa.table(
            {
                "record_type": pa.array([code for code, _, _ in rows], pa.string()),
                "severity": pa.array([severity for _, severity, _ in rows], pa.string()),
                "pair": pa.array(range(len(rows)), pa.int64()),
                "publicity_from": pa.array([start for _, _, start in rows], pa.date32()),
            }
        ),
    )
    return _RuleKeys(table, pairs)


def _rule_capped(rules: Sequence[PointsRule], counting: ir.Table) -> ir.Table:
    """``after_rule``: each record's points under its rule's cap.

    Only records under a capped rule need the running count (a sort); the others keep
    their rule's points.
    """
    points = _constant(counting.rule_index, [rule.points for rule in rules])
    capped = [index for index, rule in enumerate(rules) if rule.cap is not None]
    if not capped:
        return counting.mutate(after_rule=points)
    free = counting.filter(~counting.rule_index.isin(capped)).mutate(after_rule=points)
    limited = counting.filter(counting.rule_index.isin(capped))
    rank = ibis.row_number().over(
        group_by=[limited.subject_id, limited.rule_index],
        order_by=[limited.effective_on, limited.record_id],
    )
    granted: ir.IntegerValue = ibis.cases(
        *(
            (
                limited.rule_index == index,
                ibis.greatest(ibis.least(cap - rank * abs(rule.points), abs(rule.points)), 0)
                * (1 if rule.points > 0 else -1),
            )
            for index, rule in enumerate(rules)
            if (cap := rule.cap) is not None
        ),
        else_=_null_int(),
    )
    joined: ir.Table = ibis.union(free, limited.mutate(after_rule=granted.cast("int64")))
    return joined


def _category_capped(
    pack: Pack, scheme: PointsScheme, ruled: ir.Table, types: Sequence[str]
) -> ir.Table:
    """``points``: after the category caps (additions and deductions capped apart).

    Only records of a capped category need the running sum (a sort).
    """
    caps = {category.value: limit for category, limit in scheme.category_caps.items()}
    categories = {code: pack.record_type(code).category.value for code in types}
    limited_types = sorted(code for code, category in categories.items() if category in caps)
    if not limited_types:
        return ruled.mutate(points=ruled.after_rule)
    free = ruled.filter(~ruled.record_type.isin(limited_types)).mutate(points=ruled.after_rule)
    limited = ruled.filter(ruled.record_type.isin(limited_types))
    category: ir.StringValue = ibis.cases(
        *((limited.record_type == code, categories[code]) for code in limited_types),
        else_=ibis.null("string"),
    )
    cap: ir.IntegerValue = ibis.cases(
        *(
            (limited.record_type == code, ibis.literal(caps[categories[code]], type="int64"))
            for code in limited_types
        ),
        else_=_null_int(),
    )
    points: ir.IntegerValue = limited.after_rule
    size = points.abs()
    running = size.sum().over(
        ibis.window(
            group_by=[limited.subject_id, category, points > 0],
            order_by=[limited.effective_on, limited.record_id],
            rows=(None, 0),
        )
    )
    left = ibis.least(running, cap) - ibis.least(running - size, cap)
    granted = ibis.ifelse(points > 0, left, -left).cast("int64")
    joined: ir.Table = ibis.union(free, limited.mutate(points=granted))
    return joined


def _band_grade(bands: Sequence[Band], value: ir.IntegerValue) -> ir.StringValue:
    branches = []
    for band in bands:
        holds: ir.BooleanValue = ibis.literal(True)
        if band.min is not None:
            holds &= value >= band.min
        if band.max is not None:
            holds &= value <= band.max
        branches.append((holds, band.grade))
    grade: ir.StringValue = ibis.cases(*branches, else_=ibis.null("string"))
    return grade


def _tier_grade(tiers: Sequence[Tier], chosen: ir.IntegerValue) -> ir.StringValue:
    grade: ir.StringValue = ibis.cases(
        *((chosen == index, tier.grade) for index, tier in enumerate(tiers)),
        else_=ibis.null("string"),
    )
    return grade


@dataclass(frozen=True)
class _TierResult:
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


def _tiers(
    pack: Pack,
    scheme: SchemeBase,
    tiers: Sequence[Tier],
    key: str,
    inputs: Inputs,
    valued: ir.Table,
) -> _TierResult:
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
    chosen = table.select("subject_id", "value", chosen=ibis.cases(*branches, else_=_null_int()))
    if evidence is None or per is None:
        return _TierResult(chosen, _no_contributions(valued))
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
    return _TierResult(chosen, explained)


def _evidence(
    pack: Pack, scheme: SchemeBase, item: _Located, inputs: Inputs, valued: ir.Table
) -> ir.Table:
    """The facts that make one condition hold on the day, for every rated subject."""
    section = ibis.literal(1 + item.number, type="int64")
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
            points=ibis.literal(0, type="int64"),
            window_start=active.started_on,
            window_end=active.ended_on,
            section=section,
            sort_day=ibis.null("date"),
            ordinal=active.entry_id,
            condition=number,
        )
    condition = item.condition.records
    assert condition is not None
    records = inputs.records
    matching = records.filter(
        _counted(scheme, records) & _matches(records, inputs.spec, condition)
    ).join(valued.select("subject_id"), "subject_id")
    windows = matching.mutate(
        window_start=matching.effective_on,
        window_end=_window_end(
            pack, scheme, matching, item.condition.window_months, [condition.record_type]
        ),
    )
    held = windows.filter(_within(windows.window_start, windows.window_end, inputs.day))
    return held.select(
        "subject_id",
        "record_id",
        rule=ibis.literal(item.rule, type="string"),
        points=ibis.literal(0, type="int64"),
        window_start="window_start",
        window_end="window_end",
        section=section,
        sort_day=ibis.null("date"),
        ordinal=held.record_id,
        condition=number,
    )


def _no_contributions(valued: ir.Table) -> ir.Table:
    empty = valued.filter(ibis.literal(False))
    return empty.select(
        "subject_id",
        record_id=_null_int(),
        rule=ibis.null("string"),
        points=_null_int(),
        window_start=ibis.null("date"),
        window_end=ibis.null("date"),
        section=_null_int(),
        sort_day=ibis.null("date"),
        ordinal=_null_int(),
    )
