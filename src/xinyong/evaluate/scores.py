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

The points plan is shaped for a scan of many records: cheap tests on plain columns drop most
of them first; small tables of the rules' keys, days and caps (joins, not CASEs or month
arithmetic per record) give each remaining record its rule, points and window; only the
capped records of the few subjects whose capped records are worth more than a cap go through
the running totals (sorts by subject), the others stream straight into the contributions.
The scores are summed from the contributions as the caller kept them
(``ScorePlan.scores_of``), so the records are read once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from xinyong.evaluate.calendar import add_months, earliest
from xinyong.evaluate.casts import exact_int
from xinyong.evaluate.conditions import max_months, record_matches, value_matches
from xinyong.evaluate.engines import Engine
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
from xinyong.records.facts import REPAIRED, WITHDRAWN
from xinyong.records.facts import add_months as add_months_to

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
CONTRIBUTION_ORDER = ("subject_id", "section", "ordinal", "window_start", "record_id")
CONTRIBUTION_SCHEMA = ibis.schema(
    {
        "subject_id": "int64",
        "record_id": "int64",
        "rule": "string",
        "points": "int64",
        "window_start": "date",
        "window_end": "date",
        "section": "int64",
        "ordinal": "int64",
    }
)
"""The contributions' columns and types (whatever an engine makes of a materialised table's
literals). ``CONTRIBUTION_ORDER`` orders a subject's contributions as the reference lists
them: points (``section`` 0, no ``ordinal``) by effective date and record, then each
condition's evidence (``section`` 1 and on) by record or list entry (``ordinal``). The points,
by far the most rows, carry no copy of another column."""


@dataclass(frozen=True)
class Inputs:
    """The tables a scheme is scored from, the day it is scored on, and the engine that runs
    the plan: it takes the small tables the plan builds from policy (``Engine.table``), shares
    the records that count among the parts of the query that read them (``Engine.share``) and
    computes once the points of a scheme with overrides, whose evidence depends on them
    (``Engine.materialise``)."""

    records: ir.Table
    subjects: ir.Table
    entries: ir.Table
    spec: FactsSpec
    day: date
    engine: Engine


@dataclass(frozen=True)
class ScorePlan:
    """The contributions of every subject the scheme rates, and their scores from them.

    The caller keeps the contributions (as an engine's table, or written out and read back)
    and asks for the scores of what it kept: a points score is its base plus the sum of its
    contributions as kept, so it never disagrees with its explanation, and the records are
    read once for both.
    """

    contributions: ir.Table
    scores_of: Callable[[ir.Table], ir.Table]
    """The scores, from the kept rows of ``contributions``."""


def score_plan(pack: Pack, scheme: PointsScheme | TiersScheme, inputs: Inputs) -> ScorePlan:
    """The contributions and scores of every subject the scheme rates."""
    rated = inputs.subjects.filter(inputs.subjects.kind.isin(_kinds(scheme))).select("subject_id")
    if isinstance(scheme, PointsScheme):
        return _points(pack, scheme, inputs, rated)
    tiers = _tiers(pack, scheme, scheme.tiers, "tiers", inputs, rated.mutate(value=_null_int()))
    grade = _tier_grade(scheme.tiers, tiers.chosen.chosen)
    scores = tiers.chosen.select("subject_id", value=_null_int(), grade=grade)
    return ScorePlan(tiers.evidence, lambda kept: scores)


def _kinds(scheme: SchemeBase) -> list[str]:
    return [kind.value for kind in scheme.subject_kinds]


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
    counting = inputs.engine.share(_counting(pack, scheme, inputs))
    # Only records under a capped rule or of a capped category may need a running total (a
    # sort by subject); the others stream straight through with their rule's points. The caps
    # are joined to the capped ones alone.
    free = counting.filter(~counting.limited).mutate(points=counting.rule_points)
    caps = _caps_table(pack, scheme, inputs)
    limited = counting.filter(counting.limited).join(caps, "rule_index")
    # A subject's capped records can lose points only if together they are worth more than
    # the tightest cap any of them is under: few subjects' are, and only theirs are sorted
    # (only integers go through the sorts). The others keep their rule's points.
    by_subject = limited.group_by("subject_id").aggregate(
        worth=limited.rule_points.abs().sum(), tightest=limited.tightest_cap.min()
    )
    at_risk = by_subject.filter(by_subject.worth > by_subject.tightest).select("subject_id")
    # (An anti-join for the safe records and an IN for the others: two kinds of reference,
    # so the compiled query names the subjects at risk once and computes them once. The
    # capped records' filter is written where it is used: named, it would be one more shared
    # table for the query to hold.)
    safe = counting.filter(counting.limited).anti_join(at_risk, "subject_id")
    safe = safe.mutate(points=safe.rule_points)
    risky = counting.filter(counting.limited & counting.subject_id.isin(at_risk.subject_id))
    capped = _category_capped(_rule_capped(risky.join(caps, "rule_index")))
    granted = ibis.union(
        *(
            stream.filter(stream.points != 0).select(
                "subject_id",
                "record_id",
                "rule_index",
                "points",
                window_start="effective_on",
                window_end="window_end",
            )
            for stream in (free, safe, capped)
        )
    )
    codes = _policy_table(
        inputs,
        "rule_codes",
        pa.table(
            {
                "rule_index": pa.array(range(len(scheme.rules)), pa.int64()),
                "rule": pa.array([rule.code for rule in scheme.rules], pa.string()),
            }
        ),
    )
    named = granted.join(codes, "rule_index")
    contributions = named.select(
        "subject_id",
        "record_id",
        "rule",
        "points",
        "window_start",
        "window_end",
        section=exact_int(ibis.literal(0)),
        ordinal=_null_int(),
    ).cast(CONTRIBUTION_SCHEMA)

    def valued_of(kept: ir.Table) -> ir.Table:
        # The overrides' evidence has no points: the sum is that of the points alone.
        totals = kept.group_by("subject_id").aggregate(total=kept.points.sum())
        return rated.left_join(totals, "subject_id").select(
            "subject_id",
            value=exact_int(
                ibis.greatest(
                    ibis.least(scheme.base + totals.total.fill_null(0), scheme.max), scheme.min
                )
            ),
        )

    if not scheme.overrides:

        def banded(kept: ir.Table) -> ir.Table:
            valued = valued_of(kept)
            return valued.select(
                "subject_id", "value", grade=_band_grade(scheme.bands, valued.value)
            )

        return ScorePlan(contributions, banded)

    def overridden(valued: ir.Table) -> _TierResult:
        return _tiers(pack, scheme, scheme.overrides, "overrides", inputs, valued)

    # The overrides' evidence depends on the values: the points are computed once for both.
    contributions = inputs.engine.materialise(contributions)
    evidence = overridden(valued_of(contributions)).evidence

    def graded(kept: ir.Table) -> ir.Table:
        chosen = overridden(valued_of(kept)).chosen
        grade = ibis.ifelse(
            chosen.chosen.isnull(),
            _band_grade(scheme.bands, chosen.value),
            _tier_grade(scheme.overrides, chosen.chosen),
        )
        return chosen.select("subject_id", "value", grade=grade)

    return ScorePlan(ibis.union(contributions, evidence), graded)


def _counting(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ir.Table:
    """The records that count on the day, of rated subjects, with their rule and window.

    ``subject_id``, ``record_id``, ``effective_on``, ``rule_index``, ``rule_points`` and
    ``limited`` (of the rule, ``_rule_days``) and ``window_end`` (the window starts on
    ``effective_on``).
    """
    records = inputs.records
    rules = scheme.rules
    keys = _rule_keys(pack, scheme, inputs)
    # Cheap tests on plain columns first, implied by the exact ones below: many records are
    # too old, and need not reach the joins or the rule tests at all. (The join below drops
    # the records of other types: a test of the type here costs more than it saves.)
    possible = records.filter(
        _counted(scheme, records)
        & records.effective_on.between(
            min(first_counting_day(inputs.day, rule.window_months) for rule in rules), inputs.day
        )
        & (records.decided_on >= keys.earliest)
    )
    # A record's type and grade are matched by a join with a small table of the pairs the
    # rules read, as a bare join would; each rule then needs only an integer test of the
    # pair and its amount and field conditions.
    # Only the columns the rules read: the others would be read and copied for nothing.
    read = sorted({inputs.spec.text(name) for rule in rules for name in rule.fields})
    keyed = possible.select(*POINTS_COLUMNS, *read).join(keys.table, ["record_type", "severity"])
    # A record's rule is the first it matches. Mostly the pair alone decides it (the key table
    # says which); a CASE over the rules with amount or field conditions decides the rest.
    tested = [
        (index, keyed.pair.isin(pairs) & _value_matches(keyed, inputs.spec, rules[index]))
        for index, pairs in enumerate(keys.pairs)
        if not keys.fixed.issuperset(pairs)
    ]
    rule_index: ir.IntegerValue = keyed.fixed_rule
    if tested:
        rule_index = ibis.ifelse(
            keyed.fixed_rule.notnull(),
            keyed.fixed_rule,
            ibis.cases(*((match, index) for index, match in tested), else_=_null_int()),
        )
    # The rule's window is found by a join with a small table of its days: one row for each
    # day a record may take effect on and still count, with the end of its window from that
    # day. It also drops the records too old for their rule, and spares the month arithmetic
    # (a calendar conversion each) on every record.
    indexed = keyed.mutate(rule_index=rule_index).drop(*read)
    days = _rule_days(pack, scheme, inputs)
    ruled = indexed.join(
        days,
        [indexed.rule_index == days.rule_index, indexed.effective_on == days.effective_day],
    )
    # Within the maximum publicity period of its type and grade; its end is found the same
    # way, by the day of the decision (the arithmetic is left for a record decided after the
    # day, which no table of days before it can hold).
    held = ruled.filter(ruled.decided_on >= ruled.publicity_from)
    ends = _publicity_days(keys, inputs)
    published = held.left_join(ends, [held.pair == ends.pair, held.decided_on == ends.decided_day])
    # Every rule has a window, so its end is never NULL: no end of publicity leaves it alone.
    window_end = ibis.least(
        published.rule_end,
        ibis.coalesce(
            published.publicity_end,
            add_months(published.decided_on, published.max_months),
            published.rule_end,
        ),
    )
    # Every record's subject is a subject (a foreign key of the store): leaving out those of
    # the kinds the scheme does not rate keeps the rated ones, and hashes only the others,
    # where a join with the rated subjects would hash all of them.
    subjects = inputs.subjects
    others = subjects.filter(~subjects.kind.isin(_kinds(scheme))).select("subject_id")
    counted = published.mutate(window_end=window_end).anti_join(others, "subject_id")
    return counted.select(
        "subject_id",
        "record_id",
        "effective_on",
        "rule_index",
        "rule_points",
        "limited",
        "window_end",
    )


def _rule_days(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ir.Table:
    """``rule_index``, ``effective_day``, ``rule_end``, ``rule_points`` and ``limited``: for
    each rule, every day a record taking effect on it still counts on the day, the end of its
    window, its points, and whether its records need a running total (its rule or its type's
    category has a cap)."""
    rows = [
        (
            index,
            start,
            add_months_to(start, rule.window_months),
            rule.points,
            _limited(pack, scheme, rule),
        )
        for index, rule in enumerate(scheme.rules)
        for start in _days(first_counting_day(inputs.day, rule.window_months), inputs.day)
    ]
    return _rows_table(
        inputs,
        "rule_days",
        {
            "rule_index": pa.int64(),
            "effective_day": pa.date32(),
            "rule_end": pa.date32(),
            "rule_points": pa.int64(),
            "limited": pa.bool_(),
        },
        rows,
    )


def _limited(pack: Pack, scheme: PointsScheme, rule: PointsRule) -> bool:
    return rule.cap is not None or (
        pack.record_type(rule.record_type).category in scheme.category_caps
    )


def _publicity_days(keys: _RuleKeys, inputs: Inputs) -> ir.Table:
    """``pair``, ``decided_day``, ``publicity_end``: for each type and grade with a maximum
    publicity period, every day of a decision still within it on the day, and its end."""
    rows = [
        (pair, decided, add_months_to(decided, months))
        for pair, (start, months) in enumerate(zip(keys.starts, keys.months, strict=True))
        if months is not None
        for decided in _days(start, inputs.day)
    ]
    return _rows_table(
        inputs,
        "publicity_days",
        {"pair": pa.int64(), "decided_day": pa.date32(), "publicity_end": pa.date32()},
        rows,
    )


def _rows_table(
    inputs: Inputs, name: str, columns: dict[str, pa.DataType], rows: Sequence[tuple[object, ...]]
) -> ir.Table:
    """A small table the plan builds from policy, with these columns, from its rows."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return _policy_table(
        inputs,
        name,
        pa.table(
            {
                column: pa.array(list(items), kind)
                for (column, kind), items in zip(columns.items(), values, strict=True)
            }
        ),
    )


def _policy_table(inputs: Inputs, name: str, table: pa.Table) -> ir.Table:
    """A small table the plan builds from policy, under a name of its own in the engine."""
    return inputs.engine.table(f"{name}_{uuid.uuid4().hex}", table)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _caps_table(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ir.Table:
    """The caps of each rule, by ``rule_index``: ``rule_cap``, ``category_cap``, the
    ``category`` (a number) the latter applies to, and ``tightest_cap``, the lower of the two
    (NULL for a rule under neither)."""
    rules = scheme.rules
    categories = [pack.record_type(rule.record_type).category for rule in rules]
    numbers = {category: number for number, category in enumerate(sorted(set(categories)))}
    category_caps = [scheme.category_caps.get(category) for category in categories]
    return _policy_table(
        inputs,
        "caps",
        pa.table(
            {
                "rule_index": pa.array(range(len(rules)), pa.int64()),
                "rule_cap": pa.array([rule.cap for rule in rules], pa.int64()),
                "category": pa.array([numbers[category] for category in categories], pa.int64()),
                "category_cap": pa.array(category_caps, pa.int64()),
                "tightest_cap": pa.array(
                    [
                        min(
                            (cap for cap in (rule.cap, category_cap) if cap is not None),
                            default=None,
                        )
                        for rule, category_cap in zip(rules, category_caps, strict=True)
                    ],
                    pa.int64(),
                ),
            }
        ),
    )


@dataclass(frozen=True)
class _RuleKeys:
    table: ir.Table
    """``record_type``, ``severity``, ``pair``, ``publicity_from`` (the earliest decision
    day still within the maximum publicity period on the day) and ``max_months`` (that
    period, NULL for none)."""
    pairs: list[list[int]]
    """For each rule, the pairs (type and grade) it reads."""
    starts: list[date]
    """For each pair, its ``publicity_from``."""
    months: list[int | None]
    """For each pair, its ``max_months``."""
    fixed: set[int]
    """The pairs whose rule the pair alone decides (``fixed_rule``, NULL for the others)."""

    @property
    def earliest(self) -> date:
        """The earliest ``publicity_from`` of any pair."""
        return min(self.starts)


def _rule_keys(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> _RuleKeys:
    day = inputs.day
    rows: list[tuple[str, str, int | None]] = [
        (code, severity.value, period.max_months)
        for code in sorted({rule.record_type for rule in scheme.rules})
        for severity, period in pack.record_type(code).severities.items()
    ]
    # No scheme counts a record past its maximum publicity period.
    starts = [
        date.min if months is None else first_counting_day(day, months) for _, _, months in rows
    ]
    pairs = [
        [
            number
            for number, (code, severity, _) in enumerate(rows)
            if code == rule.record_type and (not rule.severities or severity in rule.severities)
        ]
        for rule in scheme.rules
    ]
    # A pair's rule is fixed when the first rule reading it has no amount or field condition.
    first = {
        number: next((index for index, read in enumerate(pairs) if number in read), None)
        for number in range(len(rows))
    }
    fixed = {
        number: index
        for number, index in first.items()
        if index is not None and not _has_value_conditions(scheme.rules[index])
    }
    table = _policy_table(
        inputs,
        "rule_keys",
        pa.table(
            {
                "record_type": pa.array([code for code, _, _ in rows], pa.string()),
                "severity": pa.array([severity for _, severity, _ in rows], pa.string()),
                "pair": pa.array(range(len(rows)), pa.int64()),
                "publicity_from": pa.array(starts, pa.date32()),
                "max_months": pa.array([months for _, _, months in rows], pa.int64()),
                "fixed_rule": pa.array(
                    [fixed.get(number) for number in range(len(rows))], pa.int64()
                ),
            }
        ),
    )
    return _RuleKeys(table, pairs, starts, [months for _, _, months in rows], set(fixed))


def _has_value_conditions(rule: PointsRule) -> bool:
    return rule.min_amount is not None or rule.max_amount is not None or bool(rule.fields)


def _value_matches(records: ir.Table, spec: FactsSpec, rule: PointsRule) -> ir.BooleanValue:
    return value_matches(
        records,
        spec,
        min_amount=rule.min_amount,
        max_amount=rule.max_amount,
        fields=rule.fields,
    )


def _rule_capped(limited: ir.Table) -> ir.Table:
    """``after_rule``: each record's points under its rule's cap (if any).

    Under a cap of ``C`` points the ``k``-th record (from 0) gets ``clamp(C - k·|p|, 0, |p|)``.
    """
    size = limited.rule_points.abs()
    rank = ibis.row_number().over(
        group_by=[limited.subject_id, limited.rule_index],
        order_by=[limited.effective_on, limited.record_id],
    )
    left = ibis.greatest(ibis.least(limited.rule_cap - rank * size, size), 0)
    granted = ibis.ifelse(limited.rule_points > 0, left, -left)
    return limited.mutate(
        after_rule=ibis.ifelse(limited.rule_cap.isnull(), limited.rule_points, granted).cast(
            "int64"
        )
    )


def _category_capped(ruled: ir.Table) -> ir.Table:
    """``points``: after the category caps (additions and deductions capped apart), if any.

    A record gets ``min(cum, C) - min(cum - |a|, C)`` where ``cum`` is the running sum of
    its category's additions (or deductions) including it.
    """
    points: ir.IntegerValue = ruled.after_rule
    size = points.abs()
    # DuckDB sums BIGINT as HUGEINT, and would carry it into the points.
    running = exact_int(
        size.sum().over(
            ibis.window(
                group_by=[ruled.subject_id, ruled.category, points > 0],
                order_by=[ruled.effective_on, ruled.record_id],
                rows=(None, 0),
            )
        )
    )
    cap = ruled.category_cap
    left = ibis.least(running, cap) - ibis.least(running - size, cap)
    granted = ibis.ifelse(points > 0, left, -left)
    return ruled.mutate(points=ibis.ifelse(cap.isnull(), points, granted).cast("int64")).drop(
        "after_rule"
    )


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
        _counted(scheme, records) & _matches(records, inputs.spec, condition)
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
        record_id=_null_int(),
        rule=ibis.null("string"),
        points=_null_int(),
        window_start=ibis.null("date"),
        window_end=ibis.null("date"),
        section=_null_int(),
        ordinal=_null_int(),
    )
